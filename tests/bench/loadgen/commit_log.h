// When the feeder committed each of its transactions, for measuring commit →
// client latency in the PostgreSQL benchmark (scenario 7). stockfeed_feeder
// --commit_log appends, just before it sends each COMMIT, the wall time in
// microseconds as a native int64. It inserts one transaction at a time, so a
// row whose inserted_at is t was committed by the first COMMIT sent at or
// after t; measured from that send, a latency is never less than the real
// commit → client time (the commit itself comes after the send).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "unique_fd.h"

namespace stockfeed::bench {

class CommitLog {
 public:
  // Throws std::system_error if `path` cannot be opened for reading.
  explicit CommitLog(const std::string& path);

  // The first COMMIT sent at or after `inserted_us`, reading what the feeder
  // appended since the last call when needed; nullopt if there is none yet.
  std::optional<int64_t> CommitAtOrAfter(int64_t inserted_us);

 private:
  void ReadAppended();

  UniqueFd fd_;
  std::vector<int64_t> sent_us_;  // in the order written: ascending
  std::string partial_;           // bytes of an entry still being written
  size_t last_found_ = 0;         // rows arrive in about commit order
};

}  // namespace stockfeed::bench

#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"

#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::ws_gateway {

// Follows the upstream stream's position so the gateway can resume it after a
// reconnect and tell its own log where continuity breaks. Pure logic.
class UpstreamTracker {
 public:
  struct Verdict {
    bool deliver = true;     // false: already seen (duplicate after a resume)
    bool new_epoch = false;  // the feed restarted its numbering
    bool gap = false;        // continuity broke just before this update
    bool snapshot = false;   // a latest-known value, not a live tick
  };

  Verdict Observe(const v1::PriceUpdate& update);

  // Where to resume: the last live or replayed sequence seen, in `epoch()`.
  uint64_t last_seq() const { return last_seq_; }
  const std::string& epoch() const { return epoch_; }

 private:
  std::string epoch_;
  uint64_t last_seq_ = 0;
  // Newest sequence passed on per symbol/source: a snapshot value is news
  // when it is newer than that, even if older than last_seq_ (after a gap).
  absl::flat_hash_map<std::pair<std::string, std::string>, uint64_t> key_seq_;
  bool in_snapshot_ = false;
};

}  // namespace stockfeed::ws_gateway

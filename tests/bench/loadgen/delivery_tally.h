// What a group of connections received: counts, sequence continuity and
// latency. Pure bookkeeping, owned by one io thread, merged for the report.
#pragma once

#include <cstdint>
#include <string_view>

#include "commit_log.h"
#include "latency_histogram.h"

namespace stockfeed::bench {

// Per-connection sequence check: a connection's `seq`s must strictly
// increase; a jump by more than one is a gap.
class SeqTracker {
 public:
  enum class Verdict { kFirst, kNext, kGap, kDuplicate, kBackwards };

  Verdict Observe(uint64_t seq, uint64_t* missing);

 private:
  bool seen_ = false;
  uint64_t last_ = 0;
};

// When a frame's bytes came in, both CLOCK_REALTIME: `arrived_us` when they
// reached the client's socket (the kernel's receive timestamp, taken on
// loopback in the sending server's context), `read_us` when the load
// generator read them, which adds its own scheduling delays.
struct ReceiveTime {
  int64_t arrived_us = 0;
  int64_t read_us = 0;
};

struct DeliveryTally {
  int64_t frames = 0;
  int64_t bytes = 0;
  int64_t price_updates = 0;
  int64_t other_messages = 0;  // connected, snapshot, status, ...
  int64_t parse_errors = 0;    // malformed frames or prices without seq/time
  int64_t seq_gaps = 0;        // gap events
  int64_t seq_missing = 0;     // updates skipped over by those gaps
  int64_t seq_duplicates = 0;
  int64_t seq_backwards = 0;
  LatencyHistogram latency;       // event time -> arrival at the client's socket
  LatencyHistogram read_latency;  // event time -> read by the load generator
  // The feeder's COMMIT of the row -> arrival; only with a CommitLog.
  LatencyHistogram commit_latency;
  int64_t without_commit = 0;  // prices the CommitLog had no COMMIT for

  // `commits` may be null (no --commit_log).
  void OnFrame(std::string_view frame, ReceiveTime received, SeqTracker& seq, CommitLog* commits);
  void Merge(const DeliveryTally& other);
};

}  // namespace stockfeed::bench

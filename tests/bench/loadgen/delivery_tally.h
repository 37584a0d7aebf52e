// What a group of connections received: counts, sequence continuity and
// latency. Pure bookkeeping, owned by one io thread, merged for the report.
#pragma once

#include <cstdint>
#include <string_view>

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
  LatencyHistogram latency;

  // Scans one text frame; `now_us` is the receive time (CLOCK_REALTIME).
  void OnFrame(std::string_view frame, int64_t now_us, SeqTracker& seq);
  void Merge(const DeliveryTally& other);
};

}  // namespace stockfeed::bench

// What one Subscribe stream delivered: counts, sequence continuity and
// latency. Pure bookkeeping with plain values (no gRPC types), so it is unit
// tested without a server; the reactor that owns it feeds it every update.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "delivery_tally.h"
#include "latency_histogram.h"

namespace stockfeed::bench {

// The fields of a stockfeed.v1.PriceUpdate the tally looks at.
struct ObservedUpdate {
  uint64_t sequence = 0;
  std::string_view epoch;
  bool live = true;             // kind == UPDATE_KIND_LIVE
  uint64_t dropped_before = 0;  // what the service says it skipped for us
  int64_t event_time_us = 0;
};

struct StreamTally {
  int64_t updates = 0;
  int64_t not_live = 0;        // snapshot / replay updates (none when starting live)
  int64_t seq_gaps = 0;        // gap events
  int64_t seq_missing = 0;     // updates skipped over by those gaps
  int64_t seq_duplicates = 0;
  int64_t seq_backwards = 0;
  int64_t dropped_before = 0;  // sum of dropped_before: gaps the service announced
  int64_t unexplained_gaps = 0;  // gaps whose size dropped_before does not account for
  int64_t epoch_changes = 0;   // the sequence space restarted (not a gap)
  LatencyHistogram latency;

  void Merge(const StreamTally& other);
};

// Checks one stream's sequence numbers across the whole run (warmup
// included, so the first measured update is not taken for a gap) and counts
// into whichever tally the caller passes: the measured one, or none.
class StreamChecker {
 public:
  // `tally` may be null (warmup): continuity is still tracked.
  void Observe(const ObservedUpdate& update, int64_t now_us, StreamTally* tally);

 private:
  std::string epoch_;
  SeqTracker seq_;
};

}  // namespace stockfeed::bench

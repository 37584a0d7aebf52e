#include "upstream_tracker.h"

namespace stockfeed::ws_gateway {

UpstreamTracker::Verdict UpstreamTracker::Observe(const v1::PriceUpdate& update) {
  Verdict verdict;
  if (update.epoch() != epoch_) {
    verdict.new_epoch = true;
    verdict.gap = true;
    epoch_ = update.epoch();
    last_seq_ = 0;
    in_snapshot_ = false;
  }
  if (update.kind() == v1::UPDATE_KIND_SNAPSHOT) {
    // Snapshot values arrive ordered by symbol, not sequence; they are news
    // only when newer than what this gateway has already passed on.
    if (update.sequence() <= last_seq_) return Verdict{.deliver = false};
    verdict.gap = verdict.gap || !in_snapshot_;
    verdict.snapshot = true;
    in_snapshot_ = true;
    return verdict;
  }
  if (update.sequence() <= last_seq_) return Verdict{.deliver = false};
  // Continuity restarts after a snapshot, and breaks on any jump.
  if (in_snapshot_ || (last_seq_ != 0 && update.sequence() != last_seq_ + 1) ||
      update.dropped_before() > 0) {
    verdict.gap = true;
  }
  in_snapshot_ = false;
  last_seq_ = update.sequence();
  return verdict;
}

}  // namespace stockfeed::ws_gateway

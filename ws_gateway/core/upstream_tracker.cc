#include "upstream_tracker.h"

#include <algorithm>

namespace stockfeed::ws_gateway {

UpstreamTracker::Verdict UpstreamTracker::Observe(const v1::PriceUpdate& update) {
  Verdict verdict;
  if (update.epoch() != epoch_) {
    verdict.new_epoch = true;
    verdict.gap = true;
    epoch_ = update.epoch();
    last_seq_ = 0;
    in_snapshot_ = false;
    key_seq_.clear();
  }
  uint64_t& key_seq = key_seq_[std::make_pair(update.symbol(), update.source())];
  if (update.kind() == v1::UPDATE_KIND_SNAPSHOT) {
    // Snapshot values arrive ordered by symbol, not sequence; each is news
    // when newer than what this gateway passed on for its symbol/source.
    if (update.sequence() <= key_seq) return Verdict{.deliver = false};
    key_seq = update.sequence();
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
  key_seq = std::max(key_seq, update.sequence());
  return verdict;
}

}  // namespace stockfeed::ws_gateway

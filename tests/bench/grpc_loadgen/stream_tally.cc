#include "stream_tally.h"

namespace stockfeed::bench {

void StreamTally::Merge(const StreamTally& other) {
  updates += other.updates;
  not_live += other.not_live;
  seq_gaps += other.seq_gaps;
  seq_missing += other.seq_missing;
  seq_duplicates += other.seq_duplicates;
  seq_backwards += other.seq_backwards;
  dropped_before += other.dropped_before;
  unexplained_gaps += other.unexplained_gaps;
  epoch_changes += other.epoch_changes;
  latency.Merge(other.latency);
}

void StreamChecker::Observe(const ObservedUpdate& update, int64_t now_us, StreamTally* tally) {
  bool new_epoch = false;
  if (update.epoch != epoch_) {
    // A new sequence space: the jump is not a gap (the first update lands here too).
    new_epoch = !epoch_.empty();
    epoch_ = std::string(update.epoch);
    seq_ = SeqTracker();
  }
  uint64_t skipped = 0;
  const SeqTracker::Verdict verdict = seq_.Observe(update.sequence, &skipped);
  if (tally == nullptr) return;

  ++tally->updates;
  if (!update.live) ++tally->not_live;
  if (new_epoch) ++tally->epoch_changes;
  tally->dropped_before += static_cast<int64_t>(update.dropped_before);
  tally->latency.Record(now_us - update.event_time_us);
  switch (verdict) {
    case SeqTracker::Verdict::kGap:
      ++tally->seq_gaps;
      tally->seq_missing += static_cast<int64_t>(skipped);
      if (skipped != update.dropped_before) ++tally->unexplained_gaps;
      break;
    case SeqTracker::Verdict::kDuplicate:
      ++tally->seq_duplicates;
      break;
    case SeqTracker::Verdict::kBackwards:
      ++tally->seq_backwards;
      break;
    case SeqTracker::Verdict::kFirst:
    case SeqTracker::Verdict::kNext:
      if (update.dropped_before != 0) ++tally->unexplained_gaps;  // announced but not seen
      break;
  }
}

}  // namespace stockfeed::bench

#include "delivery_tally.h"

#include "frame_scanner.h"

namespace stockfeed::bench {

SeqTracker::Verdict SeqTracker::Observe(uint64_t seq, uint64_t* missing) {
  *missing = 0;
  if (!seen_) {
    seen_ = true;
    last_ = seq;
    return Verdict::kFirst;
  }
  if (seq == last_) return Verdict::kDuplicate;
  if (seq < last_) return Verdict::kBackwards;  // last_ stays the high mark
  const uint64_t skipped = seq - last_ - 1;
  last_ = seq;
  if (skipped == 0) return Verdict::kNext;
  *missing = skipped;
  return Verdict::kGap;
}

void DeliveryTally::OnFrame(std::string_view frame, ReceiveTime received, SeqTracker& seq, CommitLog* commits) {
  ++frames;
  bytes += static_cast<int64_t>(frame.size());
  const bool ok = ScanFrame(frame, [&](const ScannedObject& obj) {
    if (!obj.is_price()) {
      ++other_messages;
      return;
    }
    if (!obj.has_seq || !obj.has_event_time) {
      ++parse_errors;
      return;
    }
    ++price_updates;
    latency.Record(received.arrived_us - obj.event_time_us);
    read_latency.Record(received.read_us - obj.event_time_us);
    if (commits != nullptr) {
      if (const std::optional<int64_t> committed = commits->CommitAtOrAfter(obj.event_time_us)) {
        commit_latency.Record(received.arrived_us - *committed);
      } else {
        ++without_commit;
      }
    }
    uint64_t skipped = 0;
    switch (seq.Observe(obj.seq, &skipped)) {
      case SeqTracker::Verdict::kGap:
        ++seq_gaps;
        seq_missing += static_cast<int64_t>(skipped);
        break;
      case SeqTracker::Verdict::kDuplicate:
        ++seq_duplicates;
        break;
      case SeqTracker::Verdict::kBackwards:
        ++seq_backwards;
        break;
      case SeqTracker::Verdict::kFirst:
      case SeqTracker::Verdict::kNext:
        break;
    }
  });
  if (!ok) ++parse_errors;
}

void DeliveryTally::Merge(const DeliveryTally& other) {
  frames += other.frames;
  bytes += other.bytes;
  price_updates += other.price_updates;
  other_messages += other.other_messages;
  parse_errors += other.parse_errors;
  seq_gaps += other.seq_gaps;
  seq_missing += other.seq_missing;
  seq_duplicates += other.seq_duplicates;
  seq_backwards += other.seq_backwards;
  latency.Merge(other.latency);
  read_latency.Merge(other.read_latency);
  commit_latency.Merge(other.commit_latency);
  without_commit += other.without_commit;
}

}  // namespace stockfeed::bench

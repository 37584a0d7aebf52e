#include "feed_log.h"

#include <algorithm>

namespace stockfeed::ws_gateway {

FeedLog::FeedLog(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)), frames_(capacity_) {}

uint64_t FeedLog::Append(FramePtr frame) {
  ++head_;
  LatestEntry& latest = latest_[std::make_pair(frame->symbol(), frame->source())];
  latest.index = head_;
  latest.frame = frame;
  frames_[head_ % capacity_] = std::move(frame);
  return head_;
}

void FeedLog::StartEpoch(std::string epoch) {
  if (epoch == epoch_) return;
  epoch_ = std::move(epoch);
  latest_.clear();
  MarkGap();
}

void FeedLog::MarkGap() { continuous_from_ = head_ + 1; }

std::optional<uint64_t> FeedLog::ResumeCursor(absl::string_view epoch, uint64_t after_seq) const {
  if (epoch != epoch_) return std::nullopt;
  const uint64_t first = std::max(tail(), continuous_from_);
  if (first > head_) return std::nullopt;  // nothing held since the gap
  // The client must have seen the frame just before the first one held.
  if (after_seq + 1 < at(first)->seq() || after_seq > last_seq()) return std::nullopt;
  // Binary search: the last index whose seq <= after_seq.
  uint64_t low = first, high = head_ + 1;  // answer in [first - 1, head_]
  while (low < high) {
    const uint64_t mid = low + (high - low) / 2;
    if (at(mid)->seq() <= after_seq) low = mid + 1; else high = mid;
  }
  return low - 1;
}

std::vector<FramePtr> FeedLog::Latest(uint64_t after, uint64_t up_to,
                                      absl::FunctionRef<bool(const Frame&)> wanted) const {
  std::vector<const LatestEntry*> picked;
  for (const auto& [key, latest] : latest_) {
    if (latest.index > after && latest.index <= up_to && wanted(*latest.frame)) picked.push_back(&latest);
  }
  std::sort(picked.begin(), picked.end(),
            [](const LatestEntry* a, const LatestEntry* b) { return a->index < b->index; });
  std::vector<FramePtr> frames;
  frames.reserve(picked.size());
  for (const LatestEntry* latest : picked) frames.push_back(latest->frame);
  return frames;
}

}  // namespace stockfeed::ws_gateway

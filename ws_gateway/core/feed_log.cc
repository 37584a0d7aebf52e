#include "feed_log.h"

#include <algorithm>

namespace stockfeed::ws_gateway {

FeedLog::FeedLog(size_t capacity, size_t history_depth)
    : capacity_(std::max<size_t>(capacity, 1)), frames_(capacity_), history_depth_(history_depth) {}

uint64_t FeedLog::Append(FramePtr frame) {
  ++head_;
  IndexedFrame& latest = latest_[std::make_pair(frame->symbol(), frame->source())];
  latest.index = head_;
  latest.frame = frame;
  if (history_depth_ > 0) {
    std::deque<IndexedFrame>& history = history_[frame->symbol()];
    if (history.size() == history_depth_) history.pop_front();
    history.push_back(IndexedFrame{frame, head_});
  }
  frames_[head_ % capacity_] = std::move(frame);
  while (epochs_.size() > 1 && epochs_[1].first_index <= tail()) epochs_.pop_front();
  return head_;
}

void FeedLog::StartEpoch(std::string epoch) {
  if (epoch == epoch_) return;
  epoch_ = std::move(epoch);
  epochs_.push_back(EpochStart{++epochs_started_, head_ + 1, epoch_});
  latest_.clear();
  history_.clear();
  MarkGap();
}

void FeedLog::MarkGap() { continuous_from_ = head_ + 1; }

const FeedLog::EpochStart* FeedLog::EpochReached(uint64_t known, uint64_t index) const {
  // Usually one entry, the current epoch, which the client knows.
  for (auto start = epochs_.rbegin(); start != epochs_.rend() && start->number > known; ++start) {
    if (start->first_index <= index) return &*start;
  }
  return nullptr;
}

uint64_t FeedLog::DeliverableUpTo(uint64_t known) const {
  for (const EpochStart& start : epochs_) {
    if (start.number > known) return std::min(start.first_index - 1, head_);
  }
  return head_;
}

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
  std::vector<const IndexedFrame*> picked;
  for (const auto& [key, latest] : latest_) {
    if (latest.index > after && latest.index <= up_to && wanted(*latest.frame)) picked.push_back(&latest);
  }
  std::sort(picked.begin(), picked.end(),
            [](const IndexedFrame* a, const IndexedFrame* b) { return a->index < b->index; });
  std::vector<FramePtr> frames;
  frames.reserve(picked.size());
  for (const IndexedFrame* latest : picked) frames.push_back(latest->frame);
  return frames;
}

FeedLog::HistoryFrames FeedLog::History(size_t count, uint64_t up_to,
                                        absl::FunctionRef<bool(const Frame&)> wanted, size_t max_bytes) const {
  // Taken level by level across symbols, newest first, so a byte cap
  // shortens every symbol's history alike and the walk stops where the cap
  // does (a client with little budget left costs little to answer).
  struct Walk {
    const std::deque<IndexedFrame>* history;
    size_t next = 0;  // entries looked at, from the newest
    std::vector<const FramePtr*> taken;  // newest first
  };
  std::vector<Walk> walks;
  walks.reserve(history_.size());
  for (const auto& [symbol, history] : history_) walks.push_back(Walk{&history});
  HistoryFrames result;
  size_t bytes = 0;
  for (size_t level = 0; level < count && !result.truncated; ++level) {
    bool any = false;
    for (Walk& walk : walks) {
      if (walk.taken.size() < level) continue;  // ran out earlier
      const std::deque<IndexedFrame>& history = *walk.history;
      const FramePtr* found = nullptr;
      while (found == nullptr && walk.next < history.size()) {
        const IndexedFrame& entry = history[history.size() - 1 - walk.next++];
        if (entry.index <= up_to && wanted(*entry.frame)) found = &entry.frame;
      }
      if (found == nullptr) continue;
      const size_t size = (*found)->payload_and_comma().size();
      if (bytes + size > max_bytes) {
        result.truncated = true;
        break;
      }
      bytes += size;
      walk.taken.push_back(found);
      any = true;
    }
    if (!any) break;
  }
  for (const Walk& walk : walks) {
    for (auto frame = walk.taken.rbegin(); frame != walk.taken.rend(); ++frame) result.frames.push_back(**frame);
  }
  return result;
}

}  // namespace stockfeed::ws_gateway

#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "frame.h"

namespace stockfeed::ws_gateway {

// The recent price frames of one shard, in arrival order, with the latest
// frame per symbol/source. Sessions keep only an index into it (a cursor), so
// a client costs no queue memory and a slow client never holds up others:
// when its backlog grows too long it is conflated to the latest values.
// The same log answers resume requests by (epoch, seq).
//
// Single-threaded: owned and used by one shard's io thread.
class FeedLog {
 public:
  // `history_depth`: prices kept per symbol for History().
  FeedLog(size_t capacity, size_t history_depth);

  // Appends a price frame; returns its index (1, 2, 3, …).
  uint64_t Append(FramePtr frame);
  // Upstream sequence restarted (new epoch) or had a gap: frames before now
  // can no longer serve an exact resume. A new epoch also forgets latest values.
  void StartEpoch(std::string epoch);
  void MarkGap();

  uint64_t head() const { return head_; }                         // newest index, 0 if none
  uint64_t tail() const { return head_ < capacity_ ? 1 : head_ + 1 - capacity_; }  // oldest held
  const FramePtr& at(uint64_t index) const { return frames_[index % capacity_]; }
  const std::string& epoch() const { return epoch_; }
  // Epochs are numbered 1, 2, 3, … as they start; 0 before any.
  uint64_t epoch_number() const { return epochs_.empty() ? 0 : epochs_.back().number; }

  // Where an epoch begins in the log. A client reaching `first_index` is told
  // the numbering restarted; several epochs may lie ahead of a slow client,
  // and each must be announced before its own first frame.
  struct EpochStart {
    uint64_t number = 0;
    uint64_t first_index = 0;
    std::string epoch;
  };
  // For a client told of epochs up to number `known`: the newest later epoch
  // whose first frame is at or before `index` (announce it before taking
  // that frame), or null.
  const EpochStart* EpochReached(uint64_t known, uint64_t index) const;
  // The last index such a client may take before it must be told of the
  // next epoch (head() when none lies ahead).
  uint64_t DeliverableUpTo(uint64_t known) const;
  uint64_t last_seq() const { return head_ == 0 ? 0 : at(head_)->seq(); }

  // The cursor from which a client that saw everything up to `after_seq` of
  // `epoch` continues without gap or duplicate; nullopt when not held.
  std::optional<uint64_t> ResumeCursor(absl::string_view epoch, uint64_t after_seq) const;

  // The latest frame of each symbol/source whose index is in (after, up_to]
  // and that `wanted` accepts, in log order (so their seqs increase). Serves
  // snapshots (0, head], conflation (cursor, head] and new subscriptions
  // (0, cursor].
  std::vector<FramePtr> Latest(uint64_t after, uint64_t up_to,
                               absl::FunctionRef<bool(const Frame&)> wanted) const;

  // For each symbol, up to `count` of its most recent prices (any source)
  // with index <= up_to that `wanted` accepts; oldest first within a symbol.
  // At most `max_bytes` of payload: past it, every symbol loses its oldest
  // prices alike (the newest of each symbol goes in first) and `truncated` is set.
  struct HistoryFrames {
    std::vector<FramePtr> frames;
    bool truncated = false;
  };
  HistoryFrames History(size_t count, uint64_t up_to, absl::FunctionRef<bool(const Frame&)> wanted,
                        size_t max_bytes = SIZE_MAX) const;

 private:
  struct IndexedFrame {
    FramePtr frame;
    uint64_t index = 0;
  };

  const size_t capacity_;
  std::vector<FramePtr> frames_;  // ring of capacity_ slots: index i lives at i % capacity_
  uint64_t head_ = 0;
  uint64_t continuous_from_ = 1;  // first index of the current gap-free run
  std::string epoch_;
  // Oldest first; epochs whose frames the ring no longer holds are dropped
  // (a client that far behind is conflated to the head).
  std::deque<EpochStart> epochs_;
  uint64_t epochs_started_ = 0;
  absl::flat_hash_map<std::pair<std::string, std::string>, IndexedFrame> latest_;
  const size_t history_depth_;
  absl::flat_hash_map<std::string, std::deque<IndexedFrame>> history_;  // per symbol, oldest first
};

}  // namespace stockfeed::ws_gateway

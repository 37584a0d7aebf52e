#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "stockfeed/common/symbol_filter.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::price_service {

// Where one subscriber is in the feed. Opaque to callers; PriceHub moves it.
struct FeedPosition {
  uint64_t generation = 0;      // PriceHub::StartEpoch count when last read
  uint64_t after_sequence = 0;  // last sequence read (delivered or filtered out)
  uint64_t replay_until = 0;    // updates up to here are marked REPLAY
  uint64_t pending_dropped = 0; // lost to lag, reported on the next delivered update
};

// The heart of price_service: sources publish sequenced updates into it and
// every subscriber reads from it at its own pace through a FeedPosition.
//
// Instead of a queue per subscriber the hub keeps one bounded replay buffer.
// A slow subscriber costs no memory; when it falls out of the buffer it skips
// ahead and the skipped count travels in `dropped_before`. The same buffer
// serves resumes (`after_sequence`).
class PriceHub {
 public:
  // The newest published update: what a reader may still have to read.
  struct Newest {
    uint64_t generation = 0;
    uint64_t sequence = 0;
  };
  // At most how many updates a reader at `position` has not read yet (those
  // its filter skips count too); after an epoch change, "all" (UINT64_MAX).
  static uint64_t UnreadAfter(const FeedPosition& position, Newest newest);
  // Whether `a` was published after `b` (epochs only ever advance).
  static bool IsNewer(Newest a, Newest b) {
    return a.generation != b.generation ? a.generation > b.generation : a.sequence > b.sequence;
  }

  // Woken after every Publish and epoch change with the newest update.
  // Called without the hub's data lock held, from the publishing thread;
  // must not block.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void OnPublished(Newest newest) = 0;
  };

  struct Stats {
    uint64_t published = 0;
    uint64_t duplicates_ignored = 0;
    size_t buffered = 0;
  };

  explicit PriceHub(size_t replay_capacity);

  // Begins a new sequence space: drops everything held. Subscribers continue
  // from the start of the new epoch.
  void StartEpoch(std::string epoch);

  // Appends updates whose `sequence` the source already set. Updates at or
  // below the last published sequence are ignored, which makes a source's
  // re-read after a reconnect harmless. Sets `epoch` and `kind` = LIVE.
  void Publish(std::vector<v1::PriceUpdate> updates);
  // Like Publish, for updates that happened before the source read them (a
  // PostgreSQL source loading its table): streams already open get them as
  // REPLAY, so none takes old rows for new prices.
  void PublishHistory(std::vector<v1::PriceUpdate> updates);

  // The initial updates of a new stream (snapshot, or nothing when replaying)
  // and the position to read live updates from.
  struct Subscription {
    std::vector<v1::PriceUpdate> initial;
    FeedPosition position;
  };
  Subscription Subscribe(const v1::SubscribeRequest& request, const SymbolFilter& filter) const;

  // Appends to `out` up to `max_updates` updates after `position` that match
  // `filter`, and advances `position`. Returns how many were appended.
  size_t ReadAfter(FeedPosition& position, const SymbolFilter& filter, size_t max_updates,
                   std::vector<v1::PriceUpdate>& out) const;
  // The same read, for writers of wire bytes: calls `emit` with each update's
  // PriceUpdate encoding as this stream must see it, and its dropped_before.
  // Every update was encoded once when published; only one whose kind or
  // dropped_before differs for this stream (a replay, a loss) is encoded
  // again. `emit` runs under the hub's read lock: copy the bytes, never block.
  size_t ReadEncodedAfter(FeedPosition& position, const SymbolFilter& filter, size_t max_updates,
                          absl::FunctionRef<void(std::string_view encoded, uint64_t dropped_before)> emit) const;

  // Latest update per symbol/source, ordered by symbol then source.
  std::vector<v1::PriceUpdate> Latest(const SymbolFilter& filter) const;
  std::vector<std::string> Symbols() const;
  std::vector<std::string> Sources() const;
  std::string epoch() const;
  uint64_t last_sequence() const;
  Newest newest() const;
  Stats stats() const;

  void AddListener(Listener* listener);
  // After it returns, `listener` is never called again.
  void RemoveListener(Listener* listener);

 private:
  void PublishAs(std::vector<v1::PriceUpdate> updates, v1::UpdateKind kind);
  void NotifyListeners(Newest newest);
  Newest NewestLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return {generation_, last_sequence_}; }
  using Key = std::pair<std::string, std::string>;  // symbol, source
  // A published update and its wire encoding, made once for every stream.
  struct Held {
    v1::PriceUpdate update;
    std::string encoded;
    uint64_t sequence() const { return update.sequence(); }
  };
  size_t HeldCount() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return ring_.size(); }
  // The i-th oldest update held.
  const Held& HeldAt(size_t i) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    const size_t slot = oldest_ + i;  // < 2 * size: a subtraction, not a division
    return ring_[slot < ring_.size() ? slot : slot - ring_.size()];
  }
  // The slot of the next update: a new one until the ring is full, then the oldest.
  Held& NextSlot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearHeld() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Calls `emit(held, kind, dropped_before)` for up to `max_updates` held
  // updates after `position` that match `filter`, with the kind and
  // dropped_before this stream sees, and advances `position`.
  template <typename Emit>
  size_t ForEachAfter(FeedPosition& position, const SymbolFilter& filter, size_t max_updates, Emit emit) const;

  std::vector<v1::PriceUpdate> LatestLocked(const SymbolFilter& filter, v1::UpdateKind kind) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::string epoch_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // First sequence published in this epoch (0 before any): a source may start
  // anywhere (PostgreSQL continues its numbering), which is not a loss.
  uint64_t first_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // The replay buffer, oldest first from `oldest_`: a ring, so a publish
  // overwrites the evicted update's fields in place, reusing their
  // allocations, instead of freeing one update and allocating the next.
  std::vector<Held> ring_ ABSL_GUARDED_BY(mu_);
  size_t oldest_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<Key, v1::PriceUpdate> latest_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);

  // Held while notifying, so RemoveListener waits for a running notification.
  absl::Mutex listeners_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::vector<Listener*> listeners_ ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace stockfeed::price_service

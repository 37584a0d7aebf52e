#include "price_hub.h"

#include <algorithm>
#include <set>

#include "core/tsan_visible_lock.h"

namespace stockfeed::price_service {

PriceHub::PriceHub(size_t replay_capacity) : capacity_(std::max<size_t>(replay_capacity, 1)) {}

uint64_t PriceHub::UnreadAfter(const FeedPosition& position, Newest newest) {
  if (position.generation != newest.generation) return UINT64_MAX;
  return newest.sequence > position.after_sequence ? newest.sequence - position.after_sequence : 0;
}

void PriceHub::NotifyListeners(Newest newest) {
  VisibleLock lock(listeners_mu_);
  for (Listener* listener : listeners_) listener->OnPublished(newest);
}

void PriceHub::StartEpoch(std::string epoch) {
  Newest newest;
  {
    VisibleLock lock(mu_);
    if (epoch == epoch_) return;
    epoch_ = std::move(epoch);
    ++generation_;
    last_sequence_ = 0;
    first_sequence_ = 0;
    ClearHeld();
    latest_.clear();
    newest = NewestLocked();
  }
  NotifyListeners(newest);
}

void PriceHub::Publish(std::vector<v1::PriceUpdate> updates) { PublishAs(std::move(updates), v1::UPDATE_KIND_LIVE); }

void PriceHub::PublishHistory(std::vector<v1::PriceUpdate> updates) {
  PublishAs(std::move(updates), v1::UPDATE_KIND_REPLAY);
}

void PriceHub::PublishAs(std::vector<v1::PriceUpdate> updates, v1::UpdateKind kind) {
  Newest newest;
  {
    VisibleLock lock(mu_);
    for (v1::PriceUpdate& update : updates) {
      if (update.sequence() <= last_sequence_) {
        ++stats_.duplicates_ignored;
        continue;
      }
      last_sequence_ = update.sequence();
      if (first_sequence_ == 0) first_sequence_ = update.sequence();
      Held& held = NextSlot();
      held.update = update;  // a copy into the slot's strings, not a move: see ring_
      held.update.set_epoch(epoch_);
      held.update.set_kind(kind);
      held.update.clear_dropped_before();
      held.update.SerializeToString(&held.encoded);
      latest_[Key(update.symbol(), update.source())] = held.update;
      ++stats_.published;
    }
    stats_.buffered = HeldCount();
    newest = NewestLocked();
  }
  NotifyListeners(newest);
}

PriceHub::Held& PriceHub::NextSlot() {
  if (ring_.size() < capacity_) return ring_.emplace_back();
  Held& slot = ring_[oldest_];
  oldest_ = (oldest_ + 1) % ring_.size();
  return slot;
}

void PriceHub::ClearHeld() {
  ring_.clear();
  oldest_ = 0;
}

PriceHub::Subscription PriceHub::Subscribe(const v1::SubscribeRequest& request,
                                           const SymbolFilter& filter) const {
  VisibleReaderLock lock(mu_);
  Subscription result;
  result.position.generation = generation_;
  result.position.after_sequence = last_sequence_;

  if (request.after_sequence() > 0) {
    const bool same_epoch = request.epoch().empty() || request.epoch() == epoch_;
    const uint64_t oldest_held = HeldCount() == 0 ? last_sequence_ + 1 : HeldAt(0).sequence();
    // Resumable when every update after the client's position is still held.
    const bool held = request.after_sequence() + 1 >= oldest_held &&
                      request.after_sequence() <= last_sequence_;
    if (same_epoch && held) {
      result.position.after_sequence = request.after_sequence();
      result.position.replay_until = last_sequence_;
      return result;
    }
  }
  if (request.snapshot() || request.after_sequence() > 0) {
    result.initial = LatestLocked(filter, v1::UPDATE_KIND_SNAPSHOT);
    // In the order they were published, not by symbol: a subscriber's
    // sequences then keep increasing through the snapshot into the live
    // updates (the gateway's log and its resume search rely on it).
    std::sort(result.initial.begin(), result.initial.end(),
              [](const v1::PriceUpdate& a, const v1::PriceUpdate& b) { return a.sequence() < b.sequence(); });
  }
  return result;
}

template <typename Emit>
size_t PriceHub::ForEachAfter(FeedPosition& position, const SymbolFilter& filter, size_t max_updates,
                              Emit emit) const {
  VisibleReaderLock lock(mu_);
  if (position.generation != generation_) {
    // A new epoch: everything held is new to this subscriber.
    position = FeedPosition{.generation = generation_};
  }
  const size_t held_count = HeldCount();
  if (held_count == 0 || position.after_sequence >= last_sequence_) return 0;

  // The first held update after the reader's position (sequences increase
  // from the oldest held to the newest).
  // (A hand-written binary search: clang's <ranges> with libstdc++ 12 cannot
  // build views::iota, and the fuzz build uses clang.)
  size_t first = 0;
  for (size_t count = held_count; count > 0;) {
    const size_t half = count / 2;
    if (HeldAt(first + half).sequence() <= position.after_sequence) {
      first += half + 1;
      count -= half + 1;
    } else {
      count = half;
    }
  }
  // Updates between the reader's position and the oldest one held were lost
  // to it, unless they were never published (before the epoch's first).
  const uint64_t expected_next = std::max(position.after_sequence + 1, first_sequence_);
  if (first == 0 && expected_next < HeldAt(0).sequence()) {
    position.pending_dropped += HeldAt(0).sequence() - expected_next;
  }

  size_t appended = 0;
  // Walks the ring by pointer: an index computation per update cost a stream
  // a fifth more per update read (tests/bench/hub).
  const Held* next = &HeldAt(first);
  const Held* const ring_end = ring_.data() + ring_.size();
  for (size_t i = first; i < held_count && appended < max_updates; ++i) {
    const Held& held = *next;
    if (++next == ring_end) next = ring_.data();
    position.after_sequence = held.sequence();
    if (!filter.Matches(held.update.symbol(), held.update.source())) continue;
    const v1::UpdateKind kind =
        held.sequence() <= position.replay_until ? v1::UPDATE_KIND_REPLAY : held.update.kind();
    emit(held, kind, position.pending_dropped);
    position.pending_dropped = 0;
    ++appended;
  }
  return appended;
}

size_t PriceHub::ReadAfter(FeedPosition& position, const SymbolFilter& filter, size_t max_updates,
                           std::vector<v1::PriceUpdate>& out) const {
  return ForEachAfter(position, filter, max_updates,
                      [&out](const Held& held, v1::UpdateKind kind, uint64_t dropped_before) {
                        v1::PriceUpdate& update = out.emplace_back(held.update);
                        update.set_kind(kind);
                        update.set_dropped_before(dropped_before);
                      });
}

size_t PriceHub::ReadEncodedAfter(
    FeedPosition& position, const SymbolFilter& filter, size_t max_updates,
    absl::FunctionRef<void(std::string_view encoded, uint64_t dropped_before)> emit) const {
  return ForEachAfter(position, filter, max_updates,
                      [emit](const Held& held, v1::UpdateKind kind, uint64_t dropped_before) {
                        if (kind == held.update.kind() && dropped_before == 0) {
                          emit(held.encoded, 0);
                          return;
                        }
                        v1::PriceUpdate update = held.update;
                        update.set_kind(kind);
                        update.set_dropped_before(dropped_before);
                        emit(update.SerializeAsString(), dropped_before);
                      });
}

std::vector<v1::PriceUpdate> PriceHub::LatestLocked(const SymbolFilter& filter,
                                                    v1::UpdateKind kind) const {
  std::vector<v1::PriceUpdate> result;
  for (const auto& [key, update] : latest_) {
    if (!filter.Matches(key.first, key.second)) continue;
    result.push_back(update);
    result.back().set_kind(kind);
  }
  return result;
}

std::vector<v1::PriceUpdate> PriceHub::Latest(const SymbolFilter& filter) const {
  VisibleReaderLock lock(mu_);
  return LatestLocked(filter, v1::UPDATE_KIND_SNAPSHOT);
}

std::vector<std::string> PriceHub::Symbols() const {
  VisibleReaderLock lock(mu_);
  std::vector<std::string> symbols;
  for (const auto& [key, update] : latest_) {
    if (symbols.empty() || symbols.back() != key.first) symbols.push_back(key.first);
  }
  return symbols;
}

std::vector<std::string> PriceHub::Sources() const {
  VisibleReaderLock lock(mu_);
  std::set<std::string> sources;
  for (const auto& [key, update] : latest_) sources.insert(key.second);
  return {sources.begin(), sources.end()};
}

std::string PriceHub::epoch() const {
  VisibleReaderLock lock(mu_);
  return epoch_;
}

uint64_t PriceHub::last_sequence() const {
  VisibleReaderLock lock(mu_);
  return last_sequence_;
}

PriceHub::Newest PriceHub::newest() const {
  VisibleReaderLock lock(mu_);
  return NewestLocked();
}

PriceHub::Stats PriceHub::stats() const {
  VisibleReaderLock lock(mu_);
  return stats_;
}

void PriceHub::AddListener(Listener* listener) {
  VisibleLock lock(listeners_mu_);
  listeners_.push_back(listener);
}

void PriceHub::RemoveListener(Listener* listener) {
  VisibleLock lock(listeners_mu_);
  std::erase(listeners_, listener);
}

}  // namespace stockfeed::price_service

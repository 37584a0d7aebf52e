#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "absl/types/span.h"

namespace stockfeed::ws_gateway {

// A shard's clients in one vector, which a fan-out pass walks front to back
// and the sweep walks a slice at a time: a price that arrives during the
// sweep then waits for one slice, not for a walk over thousands of clients.
// Add and Remove are O(1): each member keeps its index in `Slot`, and a
// removed one's place is filled by another. Which one keeps the list split
// into the members the current round has visited (the front) and those it
// has not, so a round visits every member that stays in the list for all of
// it exactly once, however many others come and go meanwhile.
template <typename T, size_t T::*Slot>
class SweepList {
 public:
  size_t size() const { return members_.size(); }
  T* operator[](size_t index) const { return members_[index]; }
  auto begin() const { return members_.begin(); }
  auto end() const { return members_.end(); }

  // Joins at the back: the current round still visits it.
  void Add(T* member) {
    member->*Slot = members_.size();
    members_.push_back(member);
  }

  void Remove(T* member) {
    size_t hole = member->*Slot;
    if (hole < visited_) {
      // The last visited member fills the hole, so its own place, now just
      // past the visited ones, is the hole the last member fills.
      --visited_;
      Place(members_[visited_], hole);
      hole = visited_;
    }
    T* last = members_.back();
    members_.pop_back();
    if (hole < members_.size()) Place(last, hole);
  }

  // The next (at most) `count` members the round has not visited, now
  // counted as visited. Valid until the list changes.
  absl::Span<T* const> NextSlice(size_t count) {
    const size_t begin = visited_;
    visited_ = std::min(members_.size(), visited_ + count);
    return absl::MakeConstSpan(members_.data() + begin, visited_ - begin);
  }
  // Every member has been visited; StartRound() begins the next round.
  bool round_done() const { return visited_ >= members_.size(); }
  void StartRound() { visited_ = 0; }

 private:
  void Place(T* member, size_t index) {
    members_[index] = member;
    member->*Slot = index;
  }

  std::vector<T*> members_;
  size_t visited_ = 0;  // members_[0, visited_) were visited this round
};

}  // namespace stockfeed::ws_gateway

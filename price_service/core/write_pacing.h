#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "core/price_hub.h"

namespace stockfeed::price_service {

// Write pacing for SubscribeBatched (--stream_pacing). A replica's cost is
// per message, not per update: a source publishing every millisecond would
// make every stream write a small message per publish. Paced, the streams
// write together on a service-wide tick, each sending what piled up since
// its last message in one message.

// When the pacer ticks. A tick is due at once after a quiet interval (a slow
// feed gains no latency) or when a full batch has been published since the
// last tick; otherwise one interval after the last tick.
class PacingClock {
 public:
  PacingClock(absl::Duration interval, size_t full_batch) : interval_(interval), full_batch_(full_batch) {}

  // Whether a full batch (or a new epoch) was published since the last tick.
  bool FullBatchSinceTick(PriceHub::Newest newest) const {
    return newest.generation != ticked_.generation || newest.sequence >= ticked_.sequence + full_batch_;
  }
  // When to tick, updates up to `newest` having been published by `now`.
  absl::Time NextTick(absl::Time now, PriceHub::Newest newest) const {
    if (FullBatchSinceTick(newest)) return now;
    return last_tick_ + interval_ > now ? last_tick_ + interval_ : now;
  }
  // Ticked at `now`; the streams saw updates up to `newest`.
  void Ticked(absl::Time now, PriceHub::Newest newest) {
    last_tick_ = now;
    ticked_ = newest;
  }

 private:
  const absl::Duration interval_;
  const size_t full_batch_;
  absl::Time last_tick_ = absl::InfinitePast();
  PriceHub::Newest ticked_;
};

// What a stream does with at most `unread` updates ready and no write in
// flight.
enum class StreamWrite {
  kNothing,    // nothing to read
  kNow,
  kAtTick,     // the next tick writes what has piled up by then
};

// On a tick, when the stream starts, or when unpaced: whatever is ready.
inline StreamWrite WhenReady(uint64_t unread) { return unread == 0 ? StreamWrite::kNothing : StreamWrite::kNow; }

// After a paced stream's write: another at once only while a full batch is
// ready (catching up is not held back), else what is left waits for a tick.
inline StreamWrite AfterPacedWrite(uint64_t unread, size_t full_batch) {
  if (unread == 0) return StreamWrite::kNothing;
  return unread >= full_batch ? StreamWrite::kNow : StreamWrite::kAtTick;
}

}  // namespace stockfeed::price_service

#pragma once

#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/price_hub.h"
#include "core/write_pacing.h"

namespace stockfeed::price_service {

// The clock of paced streams (--stream_pacing): the one hub listener for all
// of them. A publish wakes only the pacer, not every stream; its thread then
// ticks when the PacingClock says and lets each stream write what piled up.
// With nothing published it sleeps.
class StreamPacer final : private PriceHub::Listener {
 public:
  class Stream {
   public:
    virtual ~Stream() = default;
    // Called on every tick from the pacer's thread with the newest update
    // published; must not block.
    virtual void OnPacingTick(PriceHub::Newest newest) = 0;
  };

  StreamPacer(PriceHub& hub, absl::Duration interval, size_t full_batch);
  // Stops the thread; every stream must have been removed.
  ~StreamPacer() override;
  StreamPacer(const StreamPacer&) = delete;
  StreamPacer& operator=(const StreamPacer&) = delete;

  void Add(Stream* stream);
  // After it returns, `stream` is never called again.
  void Remove(Stream* stream);
  // A stream has updates left for the next tick. Cheap; any thread.
  void RequestTick();

 private:
  void OnPublished(PriceHub::Newest newest) override;
  void Run();

  PriceHub& hub_;
  absl::Mutex tick_mu_;
  PacingClock clock_ ABSL_GUARDED_BY(tick_mu_);
  PriceHub::Newest newest_ ABSL_GUARDED_BY(tick_mu_);
  bool tick_requested_ ABSL_GUARDED_BY(tick_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(tick_mu_) = false;
  // Held while ticking, so Remove waits for a running tick. Taken before
  // tick_mu_ when both are held (a stream may request a tick from its tick).
  absl::Mutex streams_mu_ ABSL_ACQUIRED_BEFORE(tick_mu_);
  std::vector<Stream*> streams_ ABSL_GUARDED_BY(streams_mu_);
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace stockfeed::price_service

#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "core/price_hub.h"
#include "core/write_pacing.h"

namespace stockfeed::price_service {

// The clock of paced streams (--stream_pacing): the one hub listener for all
// of them. A publish wakes only the pacer, not every stream; its thread then
// ticks when the PacingClock says and lets each stream write what piled up.
// With nothing published it sleeps.
//
// std::mutex rather than absl::Mutex: TSan sees a pthread mutex order the
// source's thread and the pacer's (Debian's abseil is not instrumented).
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
  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  PacingClock clock_;             // guarded by tick_mu_
  PriceHub::Newest newest_;       // guarded by tick_mu_
  bool tick_requested_ = false;   // guarded by tick_mu_
  bool stopping_ = false;         // guarded by tick_mu_
  // Held while ticking, so Remove waits for a running tick. Taken before
  // tick_mu_ when both are held (a stream may request a tick from its tick).
  std::mutex streams_mu_;
  std::vector<Stream*> streams_;  // guarded by streams_mu_
  std::thread thread_;            // last: started once everything above exists
};

}  // namespace stockfeed::price_service

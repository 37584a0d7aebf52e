#include "stream_pacer.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace stockfeed::price_service {

StreamPacer::StreamPacer(PriceHub& hub, absl::Duration interval, size_t full_batch)
    : hub_(hub), clock_(interval, full_batch), newest_(hub.newest()), thread_([this] { Run(); }) {
  hub_.AddListener(this);
}

StreamPacer::~StreamPacer() {
  hub_.RemoveListener(this);
  {
    absl::MutexLock lock(&tick_mu_);
    stopping_ = true;
  }
  thread_.join();
}

void StreamPacer::Add(Stream* stream) {
  absl::MutexLock lock(&streams_mu_);
  streams_.push_back(stream);
}

void StreamPacer::Remove(Stream* stream) {
  absl::MutexLock lock(&streams_mu_);
  std::erase(streams_, stream);
}

void StreamPacer::RequestTick() {
  absl::MutexLock lock(&tick_mu_);
  tick_requested_ = true;
}

void StreamPacer::OnPublished(PriceHub::Newest newest) {
  absl::MutexLock lock(&tick_mu_);
  newest_ = newest;
  tick_requested_ = true;
}

void StreamPacer::Run() {
  for (;;) {
    PriceHub::Newest newest;
    {
      absl::MutexLock lock(&tick_mu_);
      tick_mu_.Await(absl::Condition(
          +[](StreamPacer* pacer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pacer->tick_mu_) {
            return pacer->tick_requested_ || pacer->stopping_;
          },
          this));
      // Until the tick is due; a full batch published meanwhile brings it forward.
      tick_mu_.AwaitWithDeadline(absl::Condition(
                                     +[](StreamPacer* pacer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pacer->tick_mu_) {
                                       return pacer->stopping_ || pacer->clock_.FullBatchSinceTick(pacer->newest_);
                                     },
                                     this),
                                 clock_.NextTick(absl::Now(), newest_));
      if (stopping_) return;
      tick_requested_ = false;
      newest = newest_;
      clock_.Ticked(absl::Now(), newest);
    }
    absl::MutexLock lock(&streams_mu_);
    for (Stream* stream : streams_) stream->OnPacingTick(newest);
  }
}

}  // namespace stockfeed::price_service

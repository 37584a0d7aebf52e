#include "stream_pacer.h"

#include "absl/time/clock.h"

namespace stockfeed::price_service {

StreamPacer::StreamPacer(PriceHub& hub, absl::Duration interval, size_t full_batch)
    : hub_(hub), clock_(interval, full_batch), newest_(hub.newest()), thread_([this] { Run(); }) {
  hub_.AddListener(this);
}

StreamPacer::~StreamPacer() {
  hub_.RemoveListener(this);
  {
    std::lock_guard lock(tick_mu_);
    stopping_ = true;
  }
  tick_cv_.notify_one();
  thread_.join();
}

void StreamPacer::Add(Stream* stream) {
  std::lock_guard lock(streams_mu_);
  streams_.push_back(stream);
}

void StreamPacer::Remove(Stream* stream) {
  std::lock_guard lock(streams_mu_);
  std::erase(streams_, stream);
}

void StreamPacer::RequestTick() {
  {
    std::lock_guard lock(tick_mu_);
    tick_requested_ = true;
  }
  tick_cv_.notify_one();
}

void StreamPacer::OnPublished(PriceHub::Newest newest) {
  {
    std::lock_guard lock(tick_mu_);
    newest_ = newest;
    tick_requested_ = true;
  }
  tick_cv_.notify_one();
}

void StreamPacer::Run() {
  std::unique_lock lock(tick_mu_);
  for (;;) {
    tick_cv_.wait(lock, [this] { return tick_requested_ || stopping_; });
    // Until the tick is due; a full batch published meanwhile brings it forward.
    const absl::Time due = clock_.NextTick(absl::Now(), newest_);
    tick_cv_.wait_until(lock, absl::ToChronoTime(due),
                        [this] { return stopping_ || clock_.FullBatchSinceTick(newest_); });
    if (stopping_) return;
    tick_requested_ = false;
    const PriceHub::Newest newest = newest_;
    clock_.Ticked(absl::Now(), newest);
    lock.unlock();
    {
      std::lock_guard streams(streams_mu_);
      for (Stream* stream : streams_) stream->OnPacingTick(newest);
    }
    lock.lock();
  }
}

}  // namespace stockfeed::price_service

#include "grpc_subscriber.h"

#include <time.h>

namespace stockfeed::bench {

int64_t RealtimeMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

GrpcSubscriber::GrpcSubscriber(v1::PriceFeed::Stub& stub, const std::atomic<bool>& measuring)
    : stub_(stub), measuring_(measuring) {}

void GrpcSubscriber::Start() {
  // All symbols and sources, live from now: the sequence must be dense.
  stub_.async()->Subscribe(&context_, &request_, this);
  StartRead(&update_);
  StartCall();
}

void GrpcSubscriber::Cancel() {
  cancelled_ = true;
  context_.TryCancel();
}

void GrpcSubscriber::Wait() { done_future_.wait(); }

void GrpcSubscriber::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended; OnDone follows
  const int64_t now_us = RealtimeMicros();
  received_.fetch_add(1, std::memory_order_relaxed);
  const ObservedUpdate observed{.sequence = update_.sequence(),
                                .epoch = update_.epoch(),
                                .live = update_.kind() == v1::UPDATE_KIND_LIVE,
                                .dropped_before = update_.dropped_before(),
                                .event_time_us = update_.event_time_us()};
  checker_.Observe(observed, now_us, measuring_.load(std::memory_order_relaxed) ? &tally_ : nullptr);
  StartRead(&update_);
}

void GrpcSubscriber::OnDone(const grpc::Status& status) {
  if (!cancelled_) {
    failed_early_ = true;
    error_ = std::to_string(status.error_code()) + " " + status.error_message();
  }
  const std::shared_ptr<std::promise<void>> done = done_;
  done->set_value();  // `this` may be gone from here on
}

}  // namespace stockfeed::bench

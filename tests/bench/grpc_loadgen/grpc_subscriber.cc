#include "grpc_subscriber.h"

#include <time.h>

namespace stockfeed::bench {
namespace {

// The reactor for one message type: PriceUpdate (Subscribe) or
// PriceUpdateBatch (SubscribeBatched).
template <typename Message>
class Reactor final : public GrpcSubscriber, public grpc::ClientReadReactor<Message> {
 public:
  using GrpcSubscriber::GrpcSubscriber;

  void Start() override {
    if constexpr (std::is_same_v<Message, v1::PriceUpdateBatch>) {
      stub_.async()->SubscribeBatched(&context_, &request_, this);
    } else {
      stub_.async()->Subscribe(&context_, &request_, this);
    }
    this->StartRead(&message_);
    this->StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows
    const int64_t now_us = RealtimeMicros();
    if constexpr (std::is_same_v<Message, v1::PriceUpdateBatch>) {
      for (const v1::PriceUpdate& update : message_.updates()) Observe(update, now_us);
    } else {
      Observe(message_, now_us);
    }
    this->StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override { Finished(status); }

 private:
  Message message_;
};

}  // namespace

int64_t RealtimeMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

std::unique_ptr<GrpcSubscriber> GrpcSubscriber::Make(v1::PriceFeed::Stub& stub, const std::atomic<bool>& measuring,
                                                     bool batched) {
  if (batched) return std::unique_ptr<GrpcSubscriber>(new Reactor<v1::PriceUpdateBatch>(stub, measuring));
  return std::unique_ptr<GrpcSubscriber>(new Reactor<v1::PriceUpdate>(stub, measuring));
}

void GrpcSubscriber::Cancel() {
  cancelled_ = true;
  context_.TryCancel();
}

void GrpcSubscriber::Observe(const v1::PriceUpdate& update, int64_t now_us) {
  received_.fetch_add(1, std::memory_order_relaxed);
  const ObservedUpdate observed{.sequence = update.sequence(),
                                .epoch = update.epoch(),
                                .live = update.kind() == v1::UPDATE_KIND_LIVE,
                                .dropped_before = update.dropped_before(),
                                .event_time_us = update.event_time_us()};
  checker_.Observe(observed, now_us, measuring_.load(std::memory_order_relaxed) ? &tally_ : nullptr);
}

void GrpcSubscriber::Finished(const grpc::Status& status) {
  if (!cancelled_) {
    failed_early_ = true;
    error_ = std::to_string(status.error_code()) + " " + status.error_message();
  }
  const std::shared_ptr<std::promise<void>> done = done_;
  done->set_value();  // `this` may be gone from here on
}

}  // namespace stockfeed::bench

// One Subscribe (or SubscribeBatched) stream as a gRPC callback reactor: one
// read in flight, every update handed to its StreamChecker. Runs on gRPC's
// threads; the tally is read only after Wait() returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "stream_tally.h"

namespace stockfeed::bench {

class GrpcSubscriber {
 public:
  // `measuring` says whether updates count; it is read on every update.
  // `batched` reads SubscribeBatched (several updates per message) instead of Subscribe.
  static std::unique_ptr<GrpcSubscriber> Make(v1::PriceFeed::Stub& stub, const std::atomic<bool>& measuring,
                                              bool batched);
  virtual ~GrpcSubscriber() = default;

  virtual void Start() = 0;
  // Ends the stream (the run is over) and waits until gRPC is done with it.
  void Cancel();
  void Wait() { done_future_.wait(); }

  // Updates received so far, measured or not (for once-a-second lines).
  int64_t received() const { return received_.load(std::memory_order_relaxed); }
  // Only after Wait().
  const StreamTally& tally() const { return tally_; }
  bool opened() const { return received() > 0; }
  // Ended before Cancel(): the server closed it or it never started.
  bool failed() const { return failed_early_; }
  const std::string& error() const { return error_; }

 protected:
  GrpcSubscriber(v1::PriceFeed::Stub& stub, const std::atomic<bool>& measuring)
      : stub_(stub), measuring_(measuring) {}
  void Observe(const v1::PriceUpdate& update, int64_t now_us);
  // From OnDone: `this` may be gone once it returns.
  void Finished(const grpc::Status& status);

  v1::PriceFeed::Stub& stub_;
  grpc::ClientContext context_;
  v1::SubscribeRequest request_;  // all symbols and sources, live from now: dense sequences

 private:
  const std::atomic<bool>& measuring_;
  StreamChecker checker_;
  StreamTally tally_;
  std::atomic<int64_t> received_{0};
  std::atomic<bool> cancelled_{false};
  bool failed_early_ = false;
  std::string error_;
  // Set at the very end of OnDone, which holds its own reference so the
  // promise outlives a destructor racing with set_value.
  std::shared_ptr<std::promise<void>> done_ = std::make_shared<std::promise<void>>();
  std::future<void> done_future_ = done_->get_future();
};

// The realtime clock in microseconds, as the service stamps event_time_us.
int64_t RealtimeMicros();

}  // namespace stockfeed::bench

#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace stockfeed::testing {

std::shared_ptr<grpc::Channel> ChannelTo(int port);

// grpc.health.v1.Health/Check for `service`, through a generic stub (Debian
// ships no health.proto). Returns SERVING=1, NOT_SERVING=2, or -1 on error.
int HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);
// Polls HealthStatus until it equals `want` or `timeout` passes.
bool WaitForHealth(const std::shared_ptr<grpc::Channel>& channel, int want, absl::Duration timeout);

// Polls GetLatest until last_sequence >= `sequence`; returns the response.
v1::GetLatestResponse WaitForLastSequence(v1::PriceFeed::Stub& stub, uint64_t sequence,
                                          absl::Duration timeout);

// A Subscribe stream read on its own thread into a vector.
class FeedCollector {
 public:
  FeedCollector(const std::shared_ptr<grpc::Channel>& channel, const v1::SubscribeRequest& request);
  ~FeedCollector();  // cancels the stream and joins

  // Waits until at least `count` updates arrived (or timeout) and returns all so far.
  std::vector<v1::PriceUpdate> WaitFor(size_t count, absl::Duration timeout);
  std::vector<v1::PriceUpdate> updates();

 private:
  std::unique_ptr<v1::PriceFeed::Stub> stub_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  std::vector<v1::PriceUpdate> updates_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace stockfeed::testing

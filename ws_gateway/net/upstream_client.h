#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/messages.h"
#include "stockfeed/common/backoff.h"
#include "stockfeed/common/host_port.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace grpc {
class ClientContext;
}

namespace stockfeed::ws_gateway {

// Keeps exactly one Subscribe stream open to price_service, on its own
// thread. When the stream breaks it reports the state, waits a capped,
// jittered, growing delay and subscribes again from where it left off
// (`resume_from()`), so nothing is missed while the service still holds it.
class UpstreamClient {
 public:
  struct Handlers {
    std::function<void(const v1::PriceUpdate&)> on_update;
    std::function<void(UpstreamState, const std::string& message)> on_state;
    // The position to resume from: (epoch, last sequence), empty/0 for none.
    std::function<std::pair<std::string, uint64_t>()> resume_from;
  };

  UpstreamClient(HostPort target, Backoff::Options backoff, Handlers handlers);
  ~UpstreamClient();

  void Start();
  void Stop();

 private:
  void Run();
  bool SleepUnlessStopped(absl::Duration delay);

  const HostPort target_;
  const Backoff::Options backoff_options_;
  Handlers handlers_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;                 // guarded by mu_
  grpc::ClientContext* context_ = nullptr;  // guarded by mu_: the live call
  std::thread thread_;
};

}  // namespace stockfeed::ws_gateway

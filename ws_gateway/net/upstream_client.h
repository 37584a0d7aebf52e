#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/messages.h"
#include "core/upstream_selector.h"
#include "stockfeed/common/backoff.h"
#include "stockfeed/common/host_port.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace grpc {
class Channel;
class Status;
template <class R>
class ClientReader;
}  // namespace grpc

namespace stockfeed {
class ChannelSecurity;
}

namespace stockfeed::ws_gateway {

// Keeps exactly one price stream open to one price_service replica, as
// the UpstreamSelector decides: which replica, when to give it up (stream
// error, grpc.health.v1 NOT_SERVING seen through Health/Watch, a stall) and
// when to try again. Every new stream resumes from `resume_from()`, so a
// failover to a replica of the same PostgreSQL feed is gap- and
// duplicate-free. The stream is SubscribeBatched (several updates per
// message); a replica without it (UNIMPLEMENTED) gets the same request on
// Subscribe within the same attempt. Runs on its own thread; each attempt
// adds a stream reader and a health watcher thread.
class UpstreamClient {
 public:
  struct Handlers {
    std::function<void(const v1::PriceUpdate&)> on_update;
    std::function<void(UpstreamState, const std::string& message)> on_state;
    // The position to resume from: (epoch, last sequence), empty/0 for none.
    std::function<std::pair<std::string, uint64_t>()> resume_from;
  };
  struct Options {
    // Each HOST:PORT is resolved before every attempt; a name may give several replicas.
    std::vector<HostPort> targets;
    Backoff::Options backoff;
    absl::Duration stall_timeout = absl::Seconds(10);
    // Plain, TLS or mutual TLS, and the bearer token: for every call.
    std::shared_ptr<ChannelSecurity> security;
  };
  // What /readyz, /stats and the logs report.
  struct Status {
    UpstreamState state = UpstreamState::kConnecting;
    std::string replica;  // in use or being tried
    UpstreamSelector::Health health = UpstreamSelector::Health::kUnknown;
    uint64_t failovers = 0;
    size_t replicas = 0;
  };

  UpstreamClient(Options options, Handlers handlers);
  ~UpstreamClient();

  void Start();
  void Stop();
  Status status() const;  // thread-safe

 private:
  struct Attempt;
  void Run();
  // Streams from `address` until the selector gives it up or Stop().
  void RunAttempt(const std::string& address);
  void ReadStream(Attempt& attempt);
  template <typename Message, typename Deliver>
  grpc::Status Consume(Attempt& attempt, grpc::ClientReader<Message>& reader, Deliver deliver);
  void WatchHealth(Attempt& attempt);
  void StartProbe(Attempt& attempt);
  // Tells clients about a change of state; call without mu_ held. Called by
  // the Run thread and by the stream reader (before an attempt's first price,
  // so no client sees prices while its status still says "connecting").
  void PublishState(const std::string& message);
  UpstreamState StateLocked() const;
  bool SleepUntil(absl::Time when);
  std::vector<std::string> Resolve() const;

  const Options options_;
  Handlers handlers_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  UpstreamSelector selector_;         // guarded by mu_
  bool ever_connected_ = false;       // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  std::mutex publish_mu_;  // held while a state is compared and handed on, so states go out in order
  UpstreamState published_ = UpstreamState::kConnecting;  // guarded by publish_mu_
  std::string published_replica_;                          // guarded by publish_mu_
  std::thread thread_;
};

// The one place a channel to price_service is made (credentials go here).
// Each attempt gets a fresh channel with its own subchannel, so gRPC keeps
// no reconnect backoff of its own across attempts.
std::shared_ptr<grpc::Channel> MakeUpstreamChannel(const std::string& address,
                                                   const UpstreamClient::Options& options);

}  // namespace stockfeed::ws_gateway

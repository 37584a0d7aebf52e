#include "upstream_client.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace stockfeed::ws_gateway {

UpstreamClient::UpstreamClient(HostPort target, Backoff::Options backoff, Handlers handlers)
    : target_(std::move(target)), backoff_options_(backoff), handlers_(std::move(handlers)) {}

UpstreamClient::~UpstreamClient() { Stop(); }

void UpstreamClient::Start() {
  thread_ = std::thread([this] { Run(); });
}

void UpstreamClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool UpstreamClient::SleepUnlessStopped(absl::Duration delay) {
  std::unique_lock lock(mu_);
  return !wake_.wait_for(lock, absl::ToChronoNanoseconds(delay), [this] { return stopping_; });
}

void UpstreamClient::Run() {
  grpc::ChannelArguments args;
  // Notice a dead service within seconds even when no prices flow, and let
  // our own backoff, not gRPC's (up to 2 minutes), pace reconnects.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(backoff_options_.max)));
  const std::string target = target_.ToString();
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  std::unique_ptr<v1::PriceFeed::Stub> stub = v1::PriceFeed::NewStub(channel);

  std::mt19937_64 rng(std::random_device{}());
  Backoff backoff(backoff_options_, [&rng] { return std::uniform_real_distribution<double>(0, 1)(rng); });

  while (true) {
    grpc::ClientContext context;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      context_ = &context;
    }
    const auto [epoch, last_seq] = handlers_.resume_from();
    v1::SubscribeRequest request;
    request.set_snapshot(true);
    request.set_after_sequence(last_seq);
    request.set_epoch(epoch);
    spdlog::info("upstream: subscribing to {} (resume after seq {} of epoch '{}')", target, last_seq, epoch);

    std::unique_ptr<grpc::ClientReader<v1::PriceUpdate>> reader = stub->Subscribe(&context, request);
    reader->WaitForInitialMetadata();
    const bool connected = channel->GetState(false) == GRPC_CHANNEL_READY;
    if (connected) {
      backoff.Reset();
      spdlog::info("upstream: connected to {}", target);
      handlers_.on_state(UpstreamState::kConnected, absl::StrCat("receiving prices from ", target));
    }
    v1::PriceUpdate update;
    uint64_t received = 0;
    while (reader->Read(&update)) {
      ++received;
      handlers_.on_update(update);
    }
    const grpc::Status status = reader->Finish();
    {
      std::lock_guard lock(mu_);
      context_ = nullptr;
      if (stopping_) return;
    }
    const absl::Duration delay = backoff.NextDelay();
    const std::string why = absl::StrCat(status.ok() ? "stream ended" : status.error_message(),
                                         " (code ", static_cast<int>(status.error_code()), ")");
    spdlog::warn("upstream: {} after {} updates: {}; reconnecting in {} (attempt {})",
                 connected ? "lost" : "cannot reach", received, why, absl::FormatDuration(delay),
                 backoff.attempt());
    handlers_.on_state(UpstreamState::kReconnecting,
                       absl::StrCat("price service unavailable: ", why, "; retrying in ",
                                    absl::FormatDuration(delay)));
    if (!SleepUnlessStopped(delay)) return;
  }
}

}  // namespace stockfeed::ws_gateway

#include "upstream_client.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/grpc_security.h"
#include "stockfeed/common/logging.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace stockfeed::ws_gateway {
namespace {

using HealthResponse = grpc::health::v1::HealthCheckResponse;
using Health = UpstreamSelector::Health;

// price_service reports its source's state under its service name.
constexpr char kHealthService[] = "stockfeed.v1.PriceFeed";
// How often the attempt loop looks at the clock when nothing happens.
constexpr absl::Duration kTick = absl::Milliseconds(50);

Health HealthOf(HealthResponse::ServingStatus status) {
  switch (status) {
    case HealthResponse::SERVING:
      return Health::kServing;
    case HealthResponse::NOT_SERVING:
      return Health::kNotServing;
    default:
      return Health::kUnknown;
  }
}

// Every address `target` stands for, as HOST:PORT strings, in resolver order.
std::vector<std::string> ResolveTarget(const HostPort& target) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(target.host.c_str(), nullptr, &hints, &found); rc != 0) {
    spdlog::warn("upstream: cannot resolve {}: {}", target.host, gai_strerror(rc));
    return {};
  }
  std::vector<std::string> addresses;
  for (const addrinfo* info = found; info != nullptr; info = info->ai_next) {
    char host[NI_MAXHOST];
    if (getnameinfo(info->ai_addr, info->ai_addrlen, host, sizeof(host), nullptr, 0, NI_NUMERICHOST) != 0) continue;
    std::string address = HostPort{host, target.port}.ToString();
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(std::move(address));
    }
  }
  freeaddrinfo(found);
  return addresses;
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeUpstreamChannel(const std::string& address,
                                                   const UpstreamClient::Options& options) {
  grpc::ChannelArguments args;
  // A subchannel of its own: no reconnect state shared with earlier attempts.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Within one attempt gRPC's reconnect pacing matches ours, and a connect
  // attempt is given up when the selector would give it up.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.backoff.initial)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(absl::ToInt64Milliseconds(options.backoff.max)));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(absl::ToInt64Milliseconds(options.stall_timeout)));
  // Transport-level liveness even when no prices flow.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Replicas are dialled by address; the certificate is checked for the name.
  if (options.security->tls() && !options.security->server_name().empty()) {
    args.SetSslTargetNameOverride(options.security->server_name());
  }
  return grpc::CreateCustomChannel(address, options.security->credentials(), args);
}

// One connection to one replica: the price stream, the health watch and at
// most one probe. Its threads and calls end before the next attempt starts.
struct UpstreamClient::Attempt {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::PriceFeed::Stub> feed;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
  grpc::ClientContext watch_context;
  std::thread reader;
  std::thread watcher;
  std::thread prober;  // the last probe's; joined before the next probe and at the end
  std::atomic<uint64_t> received{0};
  // Guarded by the client's mu_:
  // The price stream's call; a new one for the fallback from SubscribeBatched to Subscribe.
  std::unique_ptr<grpc::ClientContext> stream_context = std::make_unique<grpc::ClientContext>();
  bool cancelled = false;  // the attempt is ending: start no new call
  bool stream_done = false;
  bool connected = false;
  grpc::Status stream_status;
  bool probing = false;  // a probe is in flight
  grpc::ClientContext* probe_context = nullptr;  // the probe's call while it can be cancelled
};

UpstreamClient::UpstreamClient(Options options, Handlers handlers)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      selector_({.backoff = options_.backoff, .stall_timeout = options_.stall_timeout},
                [rng = std::make_shared<std::mt19937_64>(std::random_device{}())] {
                  return std::uniform_real_distribution<double>(0, 1)(*rng);
                }) {}

UpstreamClient::~UpstreamClient() { Stop(); }

void UpstreamClient::Start() {
  thread_ = std::thread([this] { Run(); });
}

void UpstreamClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

UpstreamState UpstreamClient::StateLocked() const {
  if (selector_.ready()) return UpstreamState::kConnected;
  return ever_connected_ ? UpstreamState::kReconnecting : UpstreamState::kConnecting;
}

UpstreamClient::Status UpstreamClient::status() const {
  std::lock_guard lock(mu_);
  return Status{.state = StateLocked(),
                .replica = selector_.current(),
                .health = selector_.health(),
                .failovers = selector_.failovers(),
                .replicas = selector_.replicas().size()};
}

bool UpstreamClient::SleepUntil(absl::Time when) {
  std::unique_lock lock(mu_);
  return !wake_.wait_for(lock, absl::ToChronoNanoseconds(std::max(when - absl::Now(), absl::ZeroDuration())),
                         [this] { return stopping_; });
}

std::vector<std::string> UpstreamClient::Resolve() const {
  std::vector<std::string> replicas;
  for (const HostPort& target : options_.targets) {
    for (std::string& address : ResolveTarget(target)) {
      if (std::find(replicas.begin(), replicas.end(), address) == replicas.end()) {
        replicas.push_back(std::move(address));
      }
    }
  }
  return replicas;
}

void UpstreamClient::PublishState(const std::string& message) {
  std::lock_guard publishing(publish_mu_);
  UpstreamState state;
  std::string replica;
  {
    std::lock_guard lock(mu_);
    state = StateLocked();
    replica = selector_.current();
  }
  if (state == published_ && replica == published_replica_) return;
  published_ = state;
  published_replica_ = replica;
  handlers_.on_state(state, message);
}

void UpstreamClient::Run() {
  while (true) {
    std::vector<std::string> replicas = Resolve();
    UpstreamSelector::Attempt next;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      selector_.SetReplicas(std::move(replicas));
      next = selector_.NextAttempt(absl::Now());
    }
    const absl::Duration wait = next.not_before - absl::Now();
    if (next.address.empty()) {
      spdlog::warn("upstream: no price_service address resolved; resolving again in {}", absl::FormatDuration(wait));
    } else if (wait > absl::ZeroDuration()) {
      spdlog::info("upstream: every replica failed; trying {} in {}", next.address, absl::FormatDuration(wait));
    }
    if (!SleepUntil(next.not_before)) return;
    if (next.address.empty()) continue;
    RunAttempt(next.address);
  }
}

void UpstreamClient::RunAttempt(const std::string& address) {
  Attempt attempt;
  attempt.address = address;
  attempt.channel = MakeUpstreamChannel(address, options_);
  attempt.feed = v1::PriceFeed::NewStub(attempt.channel);
  attempt.health = grpc::health::v1::Health::NewStub(attempt.channel);
  attempt.watcher = std::thread([this, &attempt] { WatchHealth(attempt); });
  attempt.reader = std::thread([this, &attempt] { ReadStream(attempt); });

  // Watch the attempt until the stream ends or the selector gives it up.
  UpstreamSelector::Failure failure = UpstreamSelector::Failure::kStreamEnded;
  uint64_t seen = 0;
  std::string state_message = absl::StrCat("receiving prices from ", address);
  while (true) {
    bool probe = false;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, absl::ToChronoNanoseconds(kTick));
      if (stopping_) break;
      const absl::Time now = absl::Now();
      if (const uint64_t received = attempt.received.load(std::memory_order_relaxed); received != seen) {
        seen = received;
        selector_.OnUpdate(now);
      }
      const UpstreamSelector::Decision decision = selector_.Poll(now);
      if (attempt.stream_done) {
        failure = attempt.connected ? UpstreamSelector::Failure::kStreamEnded
                                    : UpstreamSelector::Failure::kUnreachable;
        break;
      }
      if (decision.action == UpstreamSelector::Decision::Action::kAbandon) {
        failure = decision.reason;
        break;
      }
      probe = decision.action == UpstreamSelector::Decision::Action::kProbe && !attempt.probing;
      if (selector_.ready()) ever_connected_ = true;
      if (selector_.health() == Health::kNotServing) {
        state_message = absl::StrCat("price service at ", address, " is not serving (its source is down)");
      } else {
        state_message = absl::StrCat("receiving prices from ", address);
      }
    }
    if (probe) StartProbe(attempt);
    PublishState(state_message);
  }

  // Tear down: end every call, then wait for the threads and the probe.
  bool stopping = false;
  {
    std::unique_lock lock(mu_);
    stopping = stopping_;
    attempt.cancelled = true;
    attempt.stream_context->TryCancel();
    attempt.watch_context.TryCancel();
    if (attempt.probe_context) attempt.probe_context->TryCancel();
  }
  attempt.reader.join();
  attempt.watcher.join();
  if (attempt.prober.joinable()) attempt.prober.join();
  std::string why;
  {
    std::unique_lock lock(mu_);
    if (stopping) return;
    why = std::string(UpstreamFailureName(failure));
    if (failure == UpstreamSelector::Failure::kStreamEnded || failure == UpstreamSelector::Failure::kUnreachable) {
      absl::StrAppend(&why, ": ", attempt.stream_status.error_message(), " (code ",
                      static_cast<int>(attempt.stream_status.error_code()), ")");
    }
    selector_.OnFailure(failure, absl::Now());
    // A stream that ended before the watch loop saw it ready still counts as
    // a connection: clients must hear "reconnecting", not a repeated "connecting".
    if (attempt.connected) ever_connected_ = true;
  }
  spdlog::warn("upstream: {} {} after {} updates: {}", attempt.connected ? "lost" : "cannot reach", address,
               attempt.received.load(), why);
  PublishState(absl::StrCat("price service at ", address, " unavailable (", why, "); trying again"));
}

// Reads one price stream to its end, handing each message to `deliver`.
template <typename Message, typename Deliver>
grpc::Status UpstreamClient::Consume(Attempt& attempt, grpc::ClientReader<Message>& reader, Deliver deliver) {
  reader.WaitForInitialMetadata();
  bool connected_now = false;
  if (attempt.channel->GetState(false) == GRPC_CHANNEL_READY) {
    std::lock_guard lock(mu_);
    connected_now = !attempt.connected;
    if (connected_now) {
      attempt.connected = true;
      selector_.OnConnected(absl::Now());
    }
  }
  if (connected_now) {
    spdlog::info("upstream: connected to {}", attempt.address);
    wake_.notify_all();
  }
  Message message;
  while (reader.Read(&message)) deliver(message);
  return reader.Finish();
}

void UpstreamClient::ReadStream(Attempt& attempt) {
  const auto [epoch, last_seq] = handlers_.resume_from();
  v1::SubscribeRequest request;
  request.set_snapshot(true);
  request.set_after_sequence(last_seq);
  request.set_epoch(epoch);
  spdlog::info("upstream: subscribing to {} (resume after seq {} of epoch '{}')", attempt.address, last_seq, epoch);
  bool first = true;
  const auto deliver = [&](const v1::PriceUpdate& update) {
    if (first) {
      // The attempt's first price confirms the replica: clients hear
      // "connected" before it, not up to a watch tick after.
      first = false;
      {
        std::lock_guard lock(mu_);
        selector_.OnUpdate(absl::Now());
        if (selector_.ready()) ever_connected_ = true;
      }
      PublishState(absl::StrCat("receiving prices from ", attempt.address));
    }
    handlers_.on_update(update);
    attempt.received.fetch_add(1, std::memory_order_relaxed);
  };
  grpc::ClientContext* context = nullptr;
  {
    std::lock_guard lock(mu_);
    context = attempt.stream_context.get();
  }
  // SubscribeBatched: several updates per message, the cheapest stream for both sides.
  grpc::Status status = Consume(attempt, *attempt.feed->SubscribeBatched(context, request),
                                [&](const v1::PriceUpdateBatch& batch) {
                                  for (const v1::PriceUpdate& update : batch.updates()) deliver(update);
                                });
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED && attempt.received.load() == 0) {
    // A price_service from before SubscribeBatched: the same request on Subscribe.
    {
      std::lock_guard lock(mu_);
      context = nullptr;
      if (!attempt.cancelled) {
        attempt.stream_context = std::make_unique<grpc::ClientContext>();
        context = attempt.stream_context.get();
      }
    }
    if (context != nullptr) {
      spdlog::info("upstream: {} has no SubscribeBatched (an older price_service); using Subscribe", attempt.address);
      status = Consume(attempt, *attempt.feed->Subscribe(context, request), deliver);
    }
  }
  {
    std::lock_guard lock(mu_);
    attempt.stream_done = true;
    attempt.stream_status = status;
  }
  wake_.notify_all();
}

void UpstreamClient::WatchHealth(Attempt& attempt) {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(kHealthService);
  std::unique_ptr<grpc::ClientReader<HealthResponse>> reader =
      attempt.health->Watch(&attempt.watch_context, request);
  HealthResponse response;
  while (reader->Read(&response)) {
    const Health health = HealthOf(response.status());
    {
      std::lock_guard lock(mu_);
      if (health != selector_.health()) {
        spdlog::info("upstream: {} health is {}", attempt.address, UpstreamHealthName(health));
      }
      selector_.OnHealth(health, absl::Now());
    }
    wake_.notify_all();
  }
  // A service without the health service (UNIMPLEMENTED) is judged by its stream alone.
  if (const grpc::Status status = reader->Finish(); status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    spdlog::info("upstream: {} has no health service; following its stream only", attempt.address);
  }
}

// Asks a quiet replica whether it is still there: an answer counts as a
// keepalive, silence until the stall timeout gives it up. A blocking call on
// a thread of its own, joined before the attempt ends, so the call and its
// context are gone before the channel is (with the callback API, gRPC still
// held the call when its callback had signalled the teardown to go on).
void UpstreamClient::StartProbe(Attempt& attempt) {
  if (attempt.prober.joinable()) attempt.prober.join();  // it finished: probing was false
  {
    std::lock_guard lock(mu_);
    if (attempt.cancelled) return;
    attempt.probing = true;
  }
  attempt.prober = std::thread([this, &attempt] {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.stall_timeout / 2));
    {
      std::lock_guard lock(mu_);
      if (attempt.cancelled) {
        attempt.probing = false;
        return;
      }
      attempt.probe_context = &context;
    }
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(kHealthService);
    HealthResponse response;
    const grpc::Status status = attempt.health->Check(&context, request, &response);
    {
      std::lock_guard lock(mu_);
      attempt.probe_context = nullptr;
      attempt.probing = false;
      if (status.ok()) selector_.OnHealth(HealthOf(response.status()), absl::Now());
    }
    wake_.notify_all();
  });
}

}  // namespace stockfeed::ws_gateway

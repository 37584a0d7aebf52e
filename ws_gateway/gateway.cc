#include "gateway.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/messages.h"
#include "core/upstream_tracker.h"
#include "net/bars_route.h"
#include "net/listener.h"
#include "net/shard.h"
#include "net/tls_front.h"
#include "net/upstream_client.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/grpc_security.h"
#include "stockfeed/common/logging.h"
#include "stockfeed/common/stop_signals.h"

namespace stockfeed::ws_gateway {

namespace {

// How long GET /api/v1/bars waits for price_service before answering 503.
constexpr absl::Duration kBarsDeadline = absl::Seconds(10);

// What clients are told about the upstream: no addresses, no library text.
absl::string_view ClientStatusText(UpstreamState state) {
  switch (state) {
    case UpstreamState::kConnected:
      return "receiving prices";
    case UpstreamState::kReconnecting:
      return "upstream unavailable, retrying";
    case UpstreamState::kConnecting:
      break;
  }
  return "connecting to the price service";
}

}  // namespace

struct Gateway::Parts {
  GatewayConfig config;
  absl::Time started = absl::Now();
  GatewayCounters counters;
  std::unique_ptr<FrontDoor> front_door;
  GatewayMetrics metrics;
  // The published state, for the metrics gauge (UpstreamClient::status() is the source).
  std::atomic<UpstreamState> upstream_state{UpstreamState::kConnecting};
  std::vector<std::unique_ptr<Shard>> shards;
  std::unique_ptr<TlsFront> tls;  // null: plain HTTP
  std::unique_ptr<Listener> listener;
  UpstreamTracker tracker;  // upstream thread only
  std::shared_ptr<ChannelSecurity> upstream_security;
  std::unique_ptr<UpstreamClient> upstream;
  // GET /api/v1/bars; destroyed (calls cancelled) before the shards it answers on.
  std::unique_ptr<BarsClient> bars;
  bool drained = false;

  GatewayStats Stats() const {
    GatewayStats stats;
    stats.active_connections = counters.active_connections.load();
    stats.total_connections = counters.total_connections.load();
    for (const auto& shard : shards) stats.messages_sent += shard->messages_sent();
    stats.uptime_seconds = static_cast<uint64_t>(absl::ToInt64Seconds(absl::Now() - started));
    const UpstreamClient::Status upstream_status = upstream->status();
    stats.upstream = upstream_status.state;
    stats.upstream_replica = upstream_status.replica;
    stats.upstream_health = std::string(UpstreamHealthName(upstream_status.health));
    stats.upstream_failovers = upstream_status.failovers;
    stats.last_seq = last_seq.load(std::memory_order_relaxed);
    stats.sse_clients = counters.sse_clients.load();
    return stats;
  }

  // Upstream thread: one JSON encode per update, then the same bytes for every
  // shard (each gets its own copy so reference counts stay thread-local).
  void OnUpdate(const v1::PriceUpdate& update) {
    metrics.upstream_updates.Add();
    const UpstreamTracker::Verdict verdict = tracker.Observe(update);
    if (!verdict.deliver) return;
    if (verdict.new_epoch) {
      metrics.upstream_epoch_changes.Add();
      spdlog::info("upstream: feed epoch is now '{}'", update.epoch());
      Broadcast(FeedEvent::Epoch(update.epoch()));
    }
    if (verdict.gap) {
      metrics.upstream_gaps.Add();
      Broadcast(FeedEvent::Gap());
    }
    const FramePtr frame = Frame::Price(EncodePrice(update, verdict.snapshot), update.sequence(),
                                        update.symbol(), update.source(), config.permessage_deflate,
                                        update.event_time_us());
    for (size_t i = 0; i < shards.size(); ++i) {
      FramePtr copy = i + 1 == shards.size() ? frame : std::make_shared<const Frame>(*frame);
      shards[i]->Deliver(FeedEvent::Price(std::move(copy)));
    }
    last_seq.store(update.sequence(), std::memory_order_relaxed);
  }

  void OnState(UpstreamState state, const std::string& message) {
    if (state == UpstreamState::kReconnecting) metrics.upstream_reconnects.Add();
    upstream_state.store(state);
    // Clients get a short status; the detail (addresses, gRPC's words) is in
    // the upstream client's log line only.
    spdlog::debug("upstream status for clients: {} ({})", UpstreamStateName(state), message);
    Broadcast(FeedEvent::Status(state, Frame::Message(EncodeStatus(state, ClientStatusText(state)))));
  }

  void Broadcast(const FeedEvent& event) {
    for (const auto& shard : shards) shard->Deliver(event);
  }

  std::atomic<uint64_t> last_seq{0};
};

namespace {

TokenAuthSettings TokenSettings(const GatewayConfig& config) {
  return {.hs256_secret_files = config.jwt_hs256_secret_files,
          .public_key_files = config.jwt_public_key_files,
          .rules = {.audience = config.jwt_audience, .issuer = config.jwt_issuer}};
}
bool TokenAuthOn(const GatewayConfig& config) { return TokenSettings(config).enabled(); }
absl::StatusOr<std::shared_ptr<const TokenVerifier>> LoadVerifier(const GatewayConfig& config) {
  return LoadTokenVerifier(TokenSettings(config));
}
bool TlsOn(const GatewayConfig& config) { return !config.tls_cert_file.empty() || !config.tls_key_file.empty(); }
// What SIGHUP re-reads: token keys, the upstream token.
bool Reloadable(const GatewayConfig& config) {
  return TokenAuthOn(config) || !config.upstream_transport.token_file.empty() || TlsOn(config);
}

// Replicas are dialled by address, so the name price_service's certificate
// must carry defaults to the one host all of --upstream names.
ClientTransportSettings UpstreamTransport(const GatewayConfig& config) {
  ClientTransportSettings settings = config.upstream_transport;
  if (settings.server_name.empty() && !config.upstreams.empty() &&
      std::all_of(config.upstreams.begin(), config.upstreams.end(),
                  [&](const HostPort& target) { return target.host == config.upstreams.front().host; })) {
    settings.server_name = config.upstreams.front().host;
  }
  return settings;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(const GatewayConfig& config) {
  if (absl::Status status = Validate(config); !status.ok()) return status;
  // A dashboard directory without its page is a mistake to catch at start, not at the first browser.
  if (std::error_code ec; !std::filesystem::is_regular_file(std::filesystem::path(config.web_root) / "index.html", ec)) {
    return absl::InvalidArgumentError(absl::StrCat("--web_root: ", config.web_root, " has no index.html"));
  }
  absl::StatusOr<OriginPolicy> origins = OriginPolicy::Create(config.allowed_origins);
  if (!origins.ok()) return origins.status();
  auto parts = std::make_unique<Parts>();
  parts->config = config;
  parts->front_door.reset(new FrontDoor{
      .gate = ConnectionGate({.max_connections = config.max_connections,
                              .max_per_address = config.max_connections_per_ip,
                              .new_connections_per_second = config.max_new_connections_per_second}),
      .chain = AdmissionChain(
          {.max_request_line_bytes = config.max_request_line_bytes, .max_header_count = config.max_header_count},
          *std::move(origins)),
  });
  if (TokenAuthOn(config)) {
    absl::StatusOr<std::shared_ptr<const TokenVerifier>> verifier = LoadVerifier(config);
    if (!verifier.ok()) return absl::InvalidArgumentError(absl::StrCat("token keys: ", verifier.status().message()));
    spdlog::info("token auth on: {} key(s); WebSocket, /stats and /api/ need a token", (*verifier)->key_count());
    parts->front_door->chain.tokens().SetVerifier(*std::move(verifier));
  }
  absl::StatusOr<std::shared_ptr<ChannelSecurity>> upstream_security =
      ChannelSecurity::Load(UpstreamTransport(config), "--upstream_");
  if (!upstream_security.ok()) return upstream_security.status();
  parts->upstream_security = *std::move(upstream_security);
  if (parts->upstream_security->tls()) {
    spdlog::info("upstream: TLS{}{}, certificate name '{}'", config.upstream_transport.cert_file.empty() ? "" : " with a client certificate",
                 parts->upstream_security->has_token() ? ", bearer token" : "", parts->upstream_security->server_name());
  }
  Parts* p = parts.get();
  for (int i = 0; i < config.threads; ++i) {
    parts->shards.push_back(std::make_unique<Shard>(i, parts->config, parts->counters, *parts->front_door,
                                                    parts->metrics, [p] { return p->Stats(); }));
  }
  parts->metrics.RegisterShards(parts->shards, parts->counters, parts->upstream_state, parts->last_seq);
  std::vector<Shard*> shards;
  for (const auto& shard : parts->shards) shards.push_back(shard.get());
  if (TlsOn(config)) {
    if (config.tls_cert_file.empty() || config.tls_key_file.empty()) {
      return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
    }
    absl::StatusOr<std::unique_ptr<TlsFront>> tls = TlsFront::Load(config.tls_cert_file, config.tls_key_file);
    if (!tls.ok()) return tls.status();
    parts->tls = *std::move(tls);
  }
  parts->listener = std::make_unique<Listener>(shards, parts->tls.get());
  if (absl::Status status = parts->listener->Listen(config.listen); !status.ok()) return status;

  const UpstreamClient::Options upstream_options{.targets = config.upstreams,
                                                 .backoff = config.upstream_backoff,
                                                 .stall_timeout = config.upstream_stall_timeout,
                                                 .security = parts->upstream_security};
  parts->upstream = std::make_unique<UpstreamClient>(
      upstream_options,
      UpstreamClient::Handlers{
          .on_update = [p](const v1::PriceUpdate& update) { p->OnUpdate(update); },
          .on_state = [p](UpstreamState state, const std::string& message) { p->OnState(state, message); },
          .resume_from = [p] { return std::pair(p->tracker.epoch(), p->tracker.last_seq()); },
      });
  parts->bars = std::make_unique<BarsClient>(
      [p] {
        const UpstreamClient::Status status = p->upstream->status();
        return status.state == UpstreamState::kConnected ? status.replica : std::string();
      },
      [upstream_options](const std::string& address) { return MakeUpstreamChannel(address, upstream_options); },
      kBarsDeadline);
  for (const auto& shard : parts->shards) {
    shard->set_bars_client(parts->bars.get());
    shard->Start();
  }
  parts->listener->Start();
  parts->upstream->Start();
  spdlog::info("ws_gateway listening on {}://{}:{} (dashboard, WebSocket on / and /ws)", parts->tls ? "https" : "http",
               config.listen.host, parts->listener->port());
  return std::unique_ptr<Gateway>(new Gateway(std::move(parts)));
}

Gateway::Gateway(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Gateway::~Gateway() {
  Drain();
  for (const auto& shard : parts_->shards) shard->Stop();
}

int Gateway::port() const { return parts_->listener->port(); }

absl::Status Gateway::Reload() {
  if (parts_->tls) {
    if (absl::Status status = parts_->tls->Reload(); !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("TLS certificate not reloaded, the previous one stays in use: ", status.message()));
    }
    spdlog::info("TLS certificate reloaded: new connections use {}", parts_->config.tls_cert_file);
  }
  if (absl::Status status = parts_->upstream_security->ReloadToken(); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("upstream token not reloaded, the previous one stays in use: ", status.message()));
  }
  if (parts_->upstream_security->has_token()) spdlog::info("upstream token reloaded");
  if (!TokenAuthOn(parts_->config)) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const TokenVerifier>> verifier = LoadVerifier(parts_->config);
  if (!verifier.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token keys not reloaded, the previous ones stay in use: ", verifier.status().message()));
  }
  spdlog::info("token keys reloaded: {} key(s)", (*verifier)->key_count());
  parts_->front_door->chain.tokens().SetVerifier(*std::move(verifier));
  return absl::OkStatus();
}

void Gateway::Drain() {
  if (parts_->drained) return;
  parts_->drained = true;
  parts_->listener->Stop();
  parts_->bars->Shutdown();
  parts_->upstream->Stop();
  const uint64_t clients = parts_->counters.active_connections.load();
  spdlog::info("draining: closing {} client(s) with 1001, waiting up to {}", clients,
               absl::FormatDuration(parts_->config.drain_timeout));
  for (const auto& shard : parts_->shards) shard->CloseAll("server shutting down");
  const absl::Time deadline = absl::Now() + parts_->config.drain_timeout;
  while (parts_->counters.active_connections.load() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const uint64_t left = parts_->counters.active_connections.load();
  if (left > 0) spdlog::warn("drain timeout: {} client(s) did not complete the close handshake", left);
  const GatewayStats stats = parts_->Stats();
  spdlog::info(
      "ws_gateway stopped: total_connections={} messages_sent={} conflations={} slow_disconnects={} "
      "budget_disconnects={}",
      stats.total_connections, stats.messages_sent, parts_->counters.conflations.load(),
      parts_->counters.slow_disconnects.load(), parts_->counters.budget_disconnects.load());
}

absl::Status RunGateway(const GatewayConfig& config) {
  StopSignals stop_signals;  // before any thread starts
  spdlog::info("ws_gateway starting: listen={} upstream={} web_root={} threads={} max_connections={}",
               config.listen.ToString(), absl::StrJoin(config.upstreams, ",", [](std::string* out, const HostPort& address) {
                 out->append(address.ToString());
               }), config.web_root, config.threads,
               config.max_connections);
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Start(config);
  if (!gateway.ok()) return gateway.status();
  std::function<void()> reload;
  if (Reloadable(config)) {
    reload = [&gateway] {
      if (absl::Status status = (*gateway)->Reload(); !status.ok()) spdlog::error("reload failed: {}", status.message());
    };
  }
  const char* signal_name = stop_signals.Wait(reload);
  spdlog::info("received {}, shutting down", signal_name);
  (*gateway)->Drain();
  return absl::OkStatus();
}

}  // namespace stockfeed::ws_gateway

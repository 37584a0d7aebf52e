#include "server.h"

#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "admin/admin_server.h"
#include "core/price_hub.h"
#include "grpc/price_feed_service.h"
#include "grpc/rpc_token_check.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "heap_releaser.h"
#include "pqxx/pqxx"
#include "sources/bar_source.h"
#include "sources/postgres_bars.h"
#include "sources/postgres_connection.h"
#include "sources/postgres_migrations.h"
#include "sources/postgres_source.h"
#include "sources/simulator_source.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/grpc_security.h"
#include "stockfeed/common/logging.h"
#include "stockfeed/common/process_metrics.h"
#include "stockfeed/common/stop_signals.h"

namespace stockfeed::price_service {
namespace {

constexpr char kServiceName[] = "stockfeed.v1.PriceFeed";
// PostgreSQL: bar requests waiting for the database beyond this fail at once.
constexpr size_t kMaxPendingBarQueries = 64;
// Freed heap goes back to the system within this period once this much is free.
constexpr absl::Duration kHeapReleasePeriod = absl::Seconds(2);
constexpr size_t kHeapReleaseMinFree = 4 << 20;

// `on_health` reports whether the source can currently deliver (the
// simulator always can).
absl::StatusOr<std::unique_ptr<PriceSource>> MakeSource(const ServiceConfig& config, PriceHub& hub,
                                                        BarBook& bars, std::function<void(bool)> on_health,
                                                        metrics::Registry& registry) {
  switch (config.source) {
    case SourceKind::kSimulator:
      return std::make_unique<SimulatorSource>(hub, bars, config.simulator, config.rate, config.tick,
                                               config.backfill);
    case SourceKind::kPostgres:
      return std::make_unique<PostgresSource>(
          hub,
          PostgresSourceOptions{.database_url = config.database_url,
                                .poll_interval = config.poll_interval,
                                .replay_capacity = config.replay_capacity,
                                .batch = config.postgres_batch},
          std::move(on_health), registry);
  }
  return absl::InternalError("unknown source kind");
}

std::unique_ptr<BarSource> MakeBarSource(const ServiceConfig& config, const BarBook& book) {
  if (config.source == SourceKind::kPostgres) {
    return std::make_unique<PostgresBarSource>(config.database_url, kMaxPendingBarQueries);
  }
  return std::make_unique<MemoryBarSource>(book);
}

// --migrate_only: one attempt, no retries, so scripts see a clear exit status.
absl::Status MigrateOnly(const ServiceConfig& config) {
  const std::string target = DescribeDatabase(config.database_url);
  try {
    std::unique_ptr<pqxx::connection> conn = Connect(config.database_url, "stockfeed migrate");
    absl::StatusOr<int> applied = ApplyMigrations(*conn);
    if (!applied.ok()) return applied.status();
    spdlog::info("database {} schema is up to date ({} migrations applied now, {} known)", target,
                 *applied, EmbeddedMigrations().size());
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot migrate database ", target, ": ", e.what()));
  }
}

void LogConfig(const ServiceConfig& config) {
  spdlog::info("price_service starting: listen={} source={} replay_capacity={} session_start={} {:02}:{:02}",
               config.listen.ToString(), SourceKindName(config.source), config.replay_capacity,
               config.session_start.zone_name, config.session_start.minute_of_day / 60,
               config.session_start.minute_of_day % 60);
  if (config.source == SourceKind::kPostgres) {
    spdlog::info("postgres: database={} poll_interval={} batch={}",
                 DescribeDatabase(config.database_url), absl::FormatDuration(config.poll_interval),
                 config.postgres_batch);
  }
  if (config.source == SourceKind::kSimulator) {
    spdlog::info("simulator: rate={}/s symbols={} sources={} volatility={} seed={}", config.rate,
                 absl::StrJoin(config.simulator.symbols, ","),
                 absl::StrJoin(config.simulator.sources, ","), config.simulator.volatility,
                 config.simulator.seed);
  }
}

}  // namespace

struct PriceServer::Parts {
  metrics::Registry registry;  // first: everything below registers in it
  ServiceConfig config;
  HeapReleaser heap_releaser{kHeapReleasePeriod, kHeapReleaseMinFree};
  PriceHub hub;
  BarBook bar_book;  // simulator mode: filled by the source
  std::unique_ptr<BarSource> bar_source;
  PriceFeedService service;
  std::unique_ptr<PriceSource> source;
  std::shared_ptr<RpcTokenCheck> token_check;  // null: token auth off
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  // What the gRPC health service says; /readyz mirrors it.
  std::atomic<bool> serving{false};
  std::unique_ptr<AdminServer> admin;  // last: gone before what it reads

  explicit Parts(const ServiceConfig& c)
      : config(c),
        hub(c.replay_capacity),
        bar_source(MakeBarSource(c, bar_book)),
        service(hub, c.stream_batch, c.stream_pacing, c.max_filter_names, registry, *bar_source, c.session_start) {
    metrics::RegisterProcessMetrics(registry);
    registry.AddCounterFunction("price_service_updates_published_total", "Updates published into the hub.",
                                [this] { return static_cast<double>(hub.stats().published); });
    registry.AddCounterFunction("price_service_duplicates_ignored_total",
                                "Updates at or below the last sequence, ignored (re-reads after a reconnect).",
                                [this] { return static_cast<double>(hub.stats().duplicates_ignored); });
    registry.AddGaugeFunction("price_service_replay_buffer_updates", "Updates held in the replay buffer.",
                              [this] { return static_cast<double>(hub.stats().buffered); });
    registry.AddGaugeFunction("price_service_replay_buffer_capacity_updates", "Replay buffer capacity (--replay_capacity).",
                              [this] { return static_cast<double>(config.replay_capacity); });
    registry.AddGaugeFunction("price_service_serving", "1 while the gRPC health status is SERVING, else 0.",
                              [this] { return serving.load() ? 1.0 : 0.0; });
  }

  void SetServing(bool now_serving) {
    serving.store(now_serving);
    service.SetServing(now_serving);
    server->GetHealthCheckService()->SetServingStatus(kServiceName, now_serving);
    server->GetHealthCheckService()->SetServingStatus(now_serving);
  }
};

absl::StatusOr<std::unique_ptr<PriceServer>> PriceServer::Start(const ServiceConfig& config) {
  if (absl::Status status = Validate(config); !status.ok()) return status;
  auto parts = std::make_unique<Parts>(config);
  Parts* raw_parts = parts.get();
  // Called from the source's thread, only between source->Start() and
  // source->Stop(), while the server exists.
  auto on_health = [raw_parts](bool serving) { raw_parts->SetServing(serving); };
  absl::StatusOr<std::unique_ptr<PriceSource>> source =
      MakeSource(config, parts->hub, parts->bar_book, on_health, parts->registry);
  if (!source.ok()) return source.status();
  parts->source = *std::move(source);

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = MakeServerCredentials(config.transport);
  if (!credentials.ok()) return credentials.status();
  if (config.token_auth.enabled()) {
    absl::StatusOr<std::shared_ptr<const TokenVerifier>> verifier = LoadTokenVerifier(config.token_auth);
    if (!verifier.ok()) return absl::InvalidArgumentError(absl::StrCat("token keys: ", verifier.status().message()));
    spdlog::info("token auth on: {} key(s); every RPC but health and reflection needs a token",
                 (*verifier)->key_count());
    parts->token_check = std::make_shared<RpcTokenCheck>(*std::move(verifier));
    (*credentials)->SetAuthMetadataProcessor(parts->token_check);
    RpcTokenCheck* check = parts->token_check.get();
    parts->registry.AddCounterFunction("price_service_rpc_unauthenticated_total",
                                       "Calls refused for a missing or bad token.",
                                       [check] { return static_cast<double>(check->rejected()); });
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen.ToString(), *credentials, &parts->port);
  builder.RegisterService(&parts->service);
  // Let clients keep idle streams alive with pings every few seconds, and
  // ping them ourselves so a vanished client is noticed.
  // Without this gRPC sets SO_REUSEPORT, and a second service started on a
  // busy port would start anyway and take part of the traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 4'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_receive_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  parts->server = builder.BuildAndStart();
  if (parts->server == nullptr || parts->port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen.ToString(),
                     " (address in use or not local?)"));
  }
  // A PostgreSQL source reports serving once connected, through on_health.
  parts->SetServing(config.source == SourceKind::kSimulator);
  absl::StatusOr<std::unique_ptr<AdminServer>> admin =
      AdminServer::Start(config.admin_listen, parts->registry, [raw_parts] { return raw_parts->serving.load(); });
  if (!admin.ok()) {
    parts->server->Shutdown();
    return admin.status();
  }
  parts->admin = *std::move(admin);
  parts->source->Start();
  spdlog::info("price_service listening on {}:{} ({})", config.listen.host, parts->port,
               !config.transport.tls()                 ? "plain gRPC"
               : config.transport.client_ca_file.empty() ? "TLS"
                                                          : "mutual TLS");
  return std::unique_ptr<PriceServer>(new PriceServer(std::move(parts)));
}

PriceServer::PriceServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

PriceServer::~PriceServer() { Shutdown(); }

int PriceServer::port() const { return parts_->port; }

absl::Status PriceServer::Reload() {
  if (parts_->token_check == nullptr) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<const TokenVerifier>> verifier = LoadTokenVerifier(parts_->config.token_auth);
  if (!verifier.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token keys not reloaded, the previous ones stay in use: ", verifier.status().message()));
  }
  spdlog::info("token keys reloaded: {} key(s)", (*verifier)->key_count());
  parts_->token_check->SetVerifier(*std::move(verifier));
  return absl::OkStatus();
}

void PriceServer::Shutdown() {
  if (parts_->server == nullptr) return;
  parts_->source->Stop();
  parts_->serving.store(false);
  // Pending bar queries finish now (UNAVAILABLE) instead of holding up the shutdown.
  parts_->bar_source->Stop();
  parts_->server->GetHealthCheckService()->Shutdown();
  parts_->server->Shutdown(absl::ToChronoTime(absl::Now() + parts_->config.shutdown_grace));
  parts_->server->Wait();
  parts_->service.StopPacing();
  parts_->server.reset();
  const PriceHub::Stats stats = parts_->hub.stats();
  spdlog::info("price_service stopped: published={} duplicates_ignored={}", stats.published,
               stats.duplicates_ignored);
}

absl::Status RunPriceService(const ServiceConfig& config) {
  // A URL libpq cannot even parse will never connect: say so now rather than retry for ever.
  if (config.source == SourceKind::kPostgres || config.migrate_only) {
    if (absl::StatusOr<std::string> parsed = ConnectionString(config.database_url, "stockfeed"); !parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--database_url: ", parsed.status().message()));
    }
  }
  if (config.migrate_only) {
    if (absl::Status s = Validate(config); !s.ok()) return s;
    return MigrateOnly(config);
  }
  StopSignals stop_signals;  // before any thread starts
  LogConfig(config);
  absl::StatusOr<std::unique_ptr<PriceServer>> server = PriceServer::Start(config);
  if (!server.ok()) return server.status();

  std::function<void()> reload;
  if (config.token_auth.enabled()) {
    reload = [&server] {
      if (absl::Status status = (*server)->Reload(); !status.ok()) spdlog::error("reload failed: {}", status.message());
    };
  }
  spdlog::info("received {}, shutting down", stop_signals.Wait(reload));
  (*server)->Shutdown();
  return absl::OkStatus();
}

}  // namespace stockfeed::price_service

#include "server.h"

#include <signal.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/price_hub.h"
#include "grpc/price_feed_service.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "sources/simulator_source.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::price_service {
namespace {

constexpr char kServiceName[] = "stockfeed.v1.PriceFeed";

absl::StatusOr<std::unique_ptr<PriceSource>> MakeSource(const ServiceConfig& config, PriceHub& hub) {
  switch (config.source) {
    case SourceKind::kSimulator:
      return std::make_unique<SimulatorSource>(hub, config.simulator, config.rate);
    case SourceKind::kPostgres:
      break;
  }
  return absl::UnavailableError(
      "--source=postgres is not part of this build yet; use --source=simulator");
}

void LogConfig(const ServiceConfig& config) {
  spdlog::info("price_service starting: listen={} source={} replay_capacity={}",
               config.listen.ToString(), SourceKindName(config.source), config.replay_capacity);
  if (config.source == SourceKind::kSimulator) {
    spdlog::info("simulator: rate={}/s symbols={} sources={} volatility={} seed={}", config.rate,
                 absl::StrJoin(config.simulator.symbols, ","),
                 absl::StrJoin(config.simulator.sources, ","), config.simulator.volatility,
                 config.simulator.seed);
  }
}

}  // namespace

struct PriceServer::Parts {
  ServiceConfig config;
  PriceHub hub;
  PriceFeedService service;
  std::unique_ptr<PriceSource> source;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  explicit Parts(const ServiceConfig& c)
      : config(c), hub(c.replay_capacity), service(hub, c.stream_batch) {}
};

absl::StatusOr<std::unique_ptr<PriceServer>> PriceServer::Start(const ServiceConfig& config) {
  if (absl::Status status = Validate(config); !status.ok()) return status;
  auto parts = std::make_unique<Parts>(config);
  absl::StatusOr<std::unique_ptr<PriceSource>> source = MakeSource(config, parts->hub);
  if (!source.ok()) return source.status();
  parts->source = *std::move(source);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen.ToString(), grpc::InsecureServerCredentials(), &parts->port);
  builder.RegisterService(&parts->service);
  // Let clients keep idle streams alive with pings every few seconds, and
  // ping them ourselves so a vanished client is noticed.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 4'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  parts->server = builder.BuildAndStart();
  if (parts->server == nullptr || parts->port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen.ToString(),
                     " (address in use or not local?)"));
  }
  parts->server->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  parts->source->Start();
  spdlog::info("price_service listening on {}:{}", config.listen.host, parts->port);
  return std::unique_ptr<PriceServer>(new PriceServer(std::move(parts)));
}

PriceServer::PriceServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

PriceServer::~PriceServer() { Shutdown(); }

int PriceServer::port() const { return parts_->port; }

void PriceServer::Shutdown() {
  if (parts_->server == nullptr) return;
  parts_->source->Stop();
  parts_->server->GetHealthCheckService()->Shutdown();
  parts_->server->Shutdown(absl::ToChronoTime(absl::Now() + parts_->config.shutdown_grace));
  parts_->server->Wait();
  parts_->server.reset();
  const PriceHub::Stats stats = parts_->hub.stats();
  spdlog::info("price_service stopped: published={} duplicates_ignored={}", stats.published,
               stats.duplicates_ignored);
}

absl::Status RunPriceService(const ServiceConfig& config) {
  // Block the stop signals before any thread starts so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  LogConfig(config);
  absl::StatusOr<std::unique_ptr<PriceServer>> server = PriceServer::Start(config);
  if (!server.ok()) return server.status();

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received {}, shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->Shutdown();
  return absl::OkStatus();
}

}  // namespace stockfeed::price_service

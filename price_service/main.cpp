// price_service: streams stock prices from PostgreSQL or a simulator over gRPC.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/marshalling.h"

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "stockfeed/common/cli.h"
#include "server.h"
#include "stockfeed/common/grpc_logging.h"
#include "stockfeed/common/logging.h"
#include "stockfeed/common/symbols.h"

namespace sf = stockfeed::price_service;

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address HOST:PORT (port 0 = any)");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:9464",
          "HTTP address for /metrics, /healthz and /readyz HOST:PORT (port 0 = any)");
ABSL_FLAG(std::string, source, "simulator", "where prices come from: simulator or postgres");
ABSL_FLAG(std::string, symbols, "AAPL,GOOGL,MSFT,AMZN,NVDA,TSLA", "simulator: symbols, comma separated");
ABSL_FLAG(std::string, sources, "alpha_vantage,finnhub", "simulator: source names, comma separated");
ABSL_FLAG(double, rate, 5.0, "simulator: total updates per second");
ABSL_FLAG(absl::Duration, tick, absl::ZeroDuration(),
          "simulator: publish every TICK, rate x TICK updates back to back (0 = smooth); "
          "e.g. --rate=200 --tick=1s for bursts");
ABSL_FLAG(absl::Duration, backfill, absl::ZeroDuration(),
          "simulator: at start, bars for this much of the past as if it had been running (at most 24h; "
          "those prices are not streamed)");
ABSL_FLAG(uint64_t, seed, 1, "simulator: random seed (same seed, same prices)");
ABSL_FLAG(double, volatility, 0.4, "simulator: annualised volatility of each symbol");
ABSL_FLAG(uint64_t, replay_capacity, 65536, "updates held for resume and slow subscribers");
ABSL_FLAG(uint64_t, stream_batch, 256, "updates a stream takes from the hub per lock");
ABSL_FLAG(absl::Duration, stream_pacing, absl::Milliseconds(5),
          "a SubscribeBatched stream writes what piled up in one message at most this often (0 = whenever ready)");
ABSL_FLAG(std::string, database_url, "",
          "postgres: connection string (default: $DATABASE_URL, else "
          "postgresql://user:password@localhost/stockdb)");
ABSL_FLAG(absl::Duration, poll_interval, absl::Seconds(1), "postgres: safety poll interval");
ABSL_FLAG(uint64_t, postgres_batch, 1000, "postgres: rows sequenced and read per statement");
ABSL_FLAG(bool, migrate_only, false,
          "apply the database migrations to --database_url and exit (0 on success)");
ABSL_FLAG(uint64_t, max_filter_names, 1024, "symbols plus sources one Subscribe/GetLatest filter may name");
ABSL_FLAG(uint64_t, max_receive_message_bytes, 64 << 10, "largest gRPC request message (RESOURCE_EXHAUSTED beyond)");
ABSL_FLAG(int, max_concurrent_streams, 100, "concurrent gRPC calls per client connection");
ABSL_FLAG(std::string, session_start, "00:00 UTC",
          "GetBars: when the trading day starts, 'HH:MM ZONE' (e.g. '09:30 America/New_York'); "
          "the day change is measured from the first price at or after it");
ABSL_FLAG(std::string, tls_cert_file, "", "TLS: the server's certificate chain (PEM); empty = plain gRPC");
ABSL_FLAG(std::string, tls_key_file, "", "TLS: the certificate's private key (PEM)");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "mutual TLS: clients must present a certificate signed by this CA (PEM); empty = not asked");
ABSL_FLAG(std::vector<std::string>, jwt_hs256_secret_file, {},
          "token auth on every RPC but health/reflection (needs TLS): HS256 secret files, [kid=]path, comma separated");
ABSL_FLAG(std::vector<std::string>, jwt_public_key_file, {},
          "token auth: RS256/ES256 public key files (PEM), [kid=]path, comma separated");
ABSL_FLAG(std::string, jwt_audience, "", "token auth: required \"aud\" (empty = not checked)");
ABSL_FLAG(std::string, jwt_issuer, "", "token auth: required \"iss\" (empty = not checked)");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error or off");
ABSL_FLAG(std::string, log_format, "text", "text or json (one JSON object per line)");
ABSL_FLAG(bool, access_log, true, "log one line per HTTP request (method, path, status, bytes, duration)");

int main(int argc, char** argv) {
  constexpr absl::string_view kUsage =
      "Streams stock prices over gRPC (stockfeed.v1.PriceFeed).";
  absl::SetProgramUsageMessage(kUsage);
  if (absl::Status s = stockfeed::PrepareCommandLine(argc, argv, "price_service", kUsage); !s.ok()) {
    std::cerr << "price_service: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::cerr << "price_service: unexpected argument '" << positional[1] << "' (see --help)\n";
    return EXIT_FAILURE;
  }
  if (absl::Status s = stockfeed::InitLogging("price_service", absl::GetFlag(FLAGS_log_level),
                                               absl::GetFlag(FLAGS_log_format), absl::GetFlag(FLAGS_access_log)); !s.ok()) {
    std::cerr << "price_service: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  stockfeed::RouteGrpcLogging();

  sf::ServiceConfig config;
  absl::StatusOr<stockfeed::HostPort> listen = stockfeed::ParseHostPort(absl::GetFlag(FLAGS_listen));
  absl::StatusOr<stockfeed::HostPort> admin_listen = stockfeed::ParseHostPort(absl::GetFlag(FLAGS_admin_listen));
  absl::StatusOr<sf::SourceKind> source = sf::ParseSourceKind(absl::GetFlag(FLAGS_source));
  absl::StatusOr<sf::SessionStart> session_start = sf::ParseSessionStart(absl::GetFlag(FLAGS_session_start));
  for (const absl::Status& s : {listen.status(), admin_listen.status(), source.status(), session_start.status()}) {
    if (!s.ok()) {
      std::cerr << "price_service: " << s.message() << "\n";
      return EXIT_FAILURE;
    }
  }
  config.listen = *listen;
  config.admin_listen = *admin_listen;
  config.source = *source;
  config.session_start = *session_start;
  config.simulator.symbols = stockfeed::SplitNameList(absl::GetFlag(FLAGS_symbols));
  config.simulator.sources = stockfeed::SplitNameList(absl::GetFlag(FLAGS_sources));
  config.simulator.seed = absl::GetFlag(FLAGS_seed);
  config.simulator.volatility = absl::GetFlag(FLAGS_volatility);
  config.rate = absl::GetFlag(FLAGS_rate);
  config.tick = absl::GetFlag(FLAGS_tick);
  config.backfill = absl::GetFlag(FLAGS_backfill);
  config.replay_capacity = absl::GetFlag(FLAGS_replay_capacity);
  config.stream_batch = absl::GetFlag(FLAGS_stream_batch);
  config.stream_pacing = absl::GetFlag(FLAGS_stream_pacing);
  config.max_filter_names = absl::GetFlag(FLAGS_max_filter_names);
  config.max_receive_message_bytes = absl::GetFlag(FLAGS_max_receive_message_bytes);
  config.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  config.database_url = absl::GetFlag(FLAGS_database_url);
  if (config.database_url.empty()) {
    const char* env = std::getenv("DATABASE_URL");
    config.database_url = env != nullptr ? env : "postgresql://user:password@localhost/stockdb";
  }
  config.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  config.postgres_batch = absl::GetFlag(FLAGS_postgres_batch);
  config.migrate_only = absl::GetFlag(FLAGS_migrate_only);
  config.transport = {.cert_file = absl::GetFlag(FLAGS_tls_cert_file),
                      .key_file = absl::GetFlag(FLAGS_tls_key_file),
                      .client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file)};
  config.token_auth = {.hs256_secret_files = absl::GetFlag(FLAGS_jwt_hs256_secret_file),
                       .public_key_files = absl::GetFlag(FLAGS_jwt_public_key_file),
                       .rules = {.audience = absl::GetFlag(FLAGS_jwt_audience),
                                 .issuer = absl::GetFlag(FLAGS_jwt_issuer)}};

  if (absl::Status s = sf::RunPriceService(config); !s.ok()) {
    std::cerr << "price_service: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bars.h"
#include "simulator.h"
#include "stockfeed/common/transport_settings.h"
#include "stockfeed/common/host_port.h"
#include "stockfeed/common/token_verifier.h"

namespace stockfeed::price_service {

enum class SourceKind { kSimulator, kPostgres };

absl::StatusOr<SourceKind> ParseSourceKind(absl::string_view text);
absl::string_view SourceKindName(SourceKind kind);

// Everything price_service can be told; main.cpp fills it from flags.
struct ServiceConfig {
  HostPort listen{"127.0.0.1", 50051};
  // Operator HTTP: /metrics, /healthz, /readyz (port 0 = any).
  HostPort admin_listen{"127.0.0.1", 9464};
  SourceKind source = SourceKind::kSimulator;

  SimulatorConfig simulator;
  // Simulator: total updates per second over all symbols and sources.
  double rate = 5.0;
  // Simulator: how often it publishes; each tick carries rate × tick updates
  // back to back. Zero means as smoothly as possible (every 1/rate, at least 1 ms).
  absl::Duration tick = absl::ZeroDuration();
  // Simulator: at start, bars for this much of the past as if it had been
  // running (a chart has history at once); those prices are not streamed.
  absl::Duration backfill = absl::ZeroDuration();

  // Updates held for resumes (`after_sequence`) and slow subscribers.
  size_t replay_capacity = 65536;
  // Updates a stream reads from the hub per lock; bounds its private batch.
  size_t stream_batch = 256;
  // A SubscribeBatched stream writes at most about this often: what piled up
  // goes in one message (zero: a message whenever something is ready).
  absl::Duration stream_pacing = absl::Milliseconds(5);

  // PostgreSQL source.
  std::string database_url;
  // Safety poll: read even without a notification this often.
  absl::Duration poll_interval = absl::Seconds(1);
  // Rows sequenced and read per statement. Small enough that one read is
  // published before the next is taken, and well below the gateway's
  // --max_backlog (4096): a 5,000-row read arrived as one burst and the
  // gateway conflated its clients (docs/benchmarks.md, "Issue #16").
  size_t postgres_batch = 1000;
  // Apply the database migrations and exit instead of serving.
  bool migrate_only = false;

  // Bars (GetBars): when the trading day starts, for the day change reference.
  SessionStart session_start{.minute_of_day = 0, .zone = absl::UTCTimeZone(), .zone_name = "UTC"};

  absl::Duration shutdown_grace = absl::Seconds(2);

  // What one gRPC client may ask of the service (docs/reliability.md).
  // Symbols plus sources in one Subscribe/GetLatest filter (INVALID_ARGUMENT beyond).
  size_t max_filter_names = 1024;
  // Largest request message (gRPC answers RESOURCE_EXHAUSTED beyond).
  size_t max_receive_message_bytes = 64 << 10;
  // Concurrent calls per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
  int max_concurrent_streams = 100;

  // The gRPC port's transport security (docs/security.md): plain by default;
  // TLS with a certificate and key; mutual TLS with a client CA.
  ServerTransportSettings transport;
  // A bearer token on every call but health and reflection (needs TLS).
  TokenAuthSettings token_auth;
};

// Whether a call to `method_path` ("/package.Service/Method") needs a token
// when token auth is on: all do except the health service and server
// reflection, which probes and tools reach without one.
bool RpcNeedsToken(absl::string_view method_path);

// The symbols a call may ask for under its token's `symbols` claim
// (`allowed`; nullopt or a list holding "*" allows all): the requested ones
// when all are allowed, the claim's list for a request of every symbol
// (empty), PERMISSION_DENIED naming the first symbol outside the claim.
absl::StatusOr<std::vector<std::string>> ScopeSymbols(const std::optional<std::vector<std::string>>& allowed,
                                                      std::vector<std::string> requested);

// Rejects settings that cannot work, with a message naming the flag.
absl::Status Validate(const ServiceConfig& config);

}  // namespace stockfeed::price_service

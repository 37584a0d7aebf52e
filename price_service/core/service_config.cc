#include "service_config.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stockfeed::price_service {
namespace {

constexpr double kMaxRate = 10'000'000;

}  // namespace

absl::StatusOr<SourceKind> ParseSourceKind(absl::string_view text) {
  if (text == "simulator") return SourceKind::kSimulator;
  if (text == "postgres") return SourceKind::kPostgres;
  return absl::InvalidArgumentError(
      absl::StrCat("--source='", text, "' is not a source (expected simulator or postgres)"));
}

absl::string_view SourceKindName(SourceKind kind) {
  return kind == SourceKind::kSimulator ? "simulator" : "postgres";
}

bool RpcNeedsToken(absl::string_view method_path) {
  return !(absl::StartsWith(method_path, "/grpc.health.v1.Health/") ||
           absl::StartsWith(method_path, "/grpc.reflection.v1alpha.ServerReflection/") ||
           absl::StartsWith(method_path, "/grpc.reflection.v1.ServerReflection/"));
}

absl::StatusOr<std::vector<std::string>> ScopeSymbols(const std::optional<std::vector<std::string>>& allowed,
                                                      std::vector<std::string> requested) {
  if (!allowed || std::find(allowed->begin(), allowed->end(), "*") != allowed->end()) return requested;
  if (requested.empty()) return *allowed;
  for (const std::string& symbol : requested) {
    if (std::find(allowed->begin(), allowed->end(), symbol) == allowed->end()) {
      return absl::PermissionDeniedError(absl::StrCat("the token does not allow symbol ", symbol));
    }
  }
  return requested;
}

absl::Status Validate(const ServiceConfig& config) {
  if (config.token_auth.enabled() && !config.transport.tls()) {
    return absl::InvalidArgumentError(
        "token auth (--jwt_*) needs --tls_cert_file and --tls_key_file: gRPC sends tokens only over TLS");
  }
  if (config.max_filter_names < 1 || config.max_filter_names > 100'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_filter_names=", config.max_filter_names, " must be between 1 and 100000"));
  }
  if (config.max_receive_message_bytes < 1024 || config.max_receive_message_bytes > (64u << 20)) {
    return absl::InvalidArgumentError(absl::StrCat("--max_receive_message_bytes=", config.max_receive_message_bytes,
                                                   " must be between 1024 and ", 64u << 20));
  }
  if (config.max_concurrent_streams < 1 || config.max_concurrent_streams > 100'000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_concurrent_streams=", config.max_concurrent_streams, " must be between 1 and 100000"));
  }
  if (config.source == SourceKind::kSimulator) {
    if (absl::Status s = ValidateNames(config.simulator); !s.ok()) return s;
    if (!(config.rate > 0 && config.rate <= kMaxRate)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--rate=", config.rate, " must be > 0 and <= ", kMaxRate));
    }
    if (config.tick < absl::ZeroDuration() || config.tick > absl::Minutes(1)) {
      return absl::InvalidArgumentError("--tick must be >= 0 and at most 1m");
    }
    if (config.backfill < absl::ZeroDuration() || config.backfill > absl::Hours(24)) {
      return absl::InvalidArgumentError("--backfill must be >= 0 and at most 24h");
    }
    if (!(config.simulator.volatility > 0 && config.simulator.volatility <= 5)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--volatility=", config.simulator.volatility, " must be > 0 and <= 5 (500 %/year)"));
    }
  }
  if (config.replay_capacity < 16 || config.replay_capacity > 10'000'000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--replay_capacity=", config.replay_capacity, " must be between 16 and 10000000"));
  }
  if (config.stream_batch < 1 || config.stream_batch > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("--stream_batch=", config.stream_batch, " must be between 1 and 65536"));
  }
  if (config.stream_pacing < absl::ZeroDuration() || config.stream_pacing > absl::Seconds(1)) {
    return absl::InvalidArgumentError("--stream_pacing must be between 0 (off) and 1s");
  }
  if (config.poll_interval <= absl::ZeroDuration() || config.poll_interval > absl::Minutes(1)) {
    return absl::InvalidArgumentError("--poll_interval must be > 0 and at most 1m");
  }
  if (config.source == SourceKind::kPostgres || config.migrate_only) {
    // Whether libpq accepts it is checked at connect time, with its reason.
    if (config.database_url.find_first_not_of(" \t\r\n") == std::string::npos) {
      return absl::InvalidArgumentError(
          "--database_url (or $DATABASE_URL) is empty; expected e.g. "
          "postgresql://user:password@localhost/stockdb");
    }
    if (config.postgres_batch < 1 || config.postgres_batch > 100'000) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--postgres_batch=", config.postgres_batch, " must be between 1 and 100000"));
    }
  }
  return absl::OkStatus();
}

}  // namespace stockfeed::price_service

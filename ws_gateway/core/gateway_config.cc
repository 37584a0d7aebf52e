#include "gateway_config.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace stockfeed::ws_gateway {
namespace {

absl::Status OutOfRange(absl::string_view flag, uint64_t value, uint64_t low, uint64_t high) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, " must be between ", low, " and ", high));
}

}  // namespace

size_t DefaultMaxConnections(uint64_t open_file_limit) {
  if (open_file_limit <= 2 * kReservedDescriptors) return kReservedDescriptors;
  return static_cast<size_t>(std::min<uint64_t>(open_file_limit - kReservedDescriptors, 1'000'000));
}

std::string OpenFileLimitWarning(size_t max_connections, uint64_t open_file_limit) {
  if (max_connections <= DefaultMaxConnections(open_file_limit)) return "";
  return absl::StrCat("--max_connections=", max_connections, " is more than the open-file limit of ",
                      open_file_limit, " leaves for clients (", DefaultMaxConnections(open_file_limit),
                      "); raise the limit (ulimit -n, LimitNOFILE) or lower --max_connections: past it, "
                      "connections are answered 503 and the upstream may not reconnect");
}

absl::Status Validate(const GatewayConfig& config) {
  if (config.web_root.empty()) return absl::InvalidArgumentError("--web_root is empty");
  if (config.threads < 1 || config.threads > 64) return OutOfRange("threads", config.threads, 1, 64);
  if (config.log_capacity < 16 || config.log_capacity > 10'000'000) {
    return OutOfRange("log_capacity", config.log_capacity, 16, 10'000'000);
  }
  if (config.max_backlog < 1 || config.max_backlog >= config.log_capacity) {
    return absl::InvalidArgumentError(absl::StrCat("--max_backlog=", config.max_backlog,
                                                   " must be >= 1 and below --log_capacity=",
                                                   config.log_capacity));
  }
  if (config.max_connections < 1 || config.max_connections > 1'000'000) {
    return OutOfRange("max_connections", config.max_connections, 1, 1'000'000);
  }
  if (config.max_message_bytes < 64 || config.max_message_bytes > 1 << 20) {
    return OutOfRange("max_message_bytes", config.max_message_bytes, 64, 1 << 20);
  }
  if (config.max_symbols_per_connection < 1 || config.max_symbols_per_connection > 100'000) {
    return OutOfRange("max_symbols", config.max_symbols_per_connection, 1, 100'000);
  }
  if (config.send_buffer_bytes > (64u << 20)) {
    return OutOfRange("send_buffer_bytes", config.send_buffer_bytes, 0, 64u << 20);
  }
  if (config.history_depth > 10'000) return OutOfRange("history_depth", config.history_depth, 0, 10'000);
  if (config.max_client_queue_bytes < (64u << 10) || config.max_client_queue_bytes > (1u << 30)) {
    return OutOfRange("max_client_queue_bytes", config.max_client_queue_bytes, 64u << 10, 1u << 30);
  }
  if (config.reply_bytes_per_second < 1024 || config.reply_bytes_per_second > config.max_client_queue_bytes) {
    return OutOfRange("reply_bytes_per_second", config.reply_bytes_per_second, 1024,
                      config.max_client_queue_bytes);
  }
  if (config.max_history_bytes < 1024 || config.max_history_bytes > config.max_client_queue_bytes / 2) {
    return OutOfRange("max_history_bytes", config.max_history_bytes, 1024, config.max_client_queue_bytes / 2);
  }
  if (!(config.control_rate > 0) || !(config.control_burst >= 1)) {
    return absl::InvalidArgumentError("--control_rate must be > 0 and --control_burst >= 1");
  }
  if (config.fanout_interval < absl::ZeroDuration() || config.fanout_interval > absl::Seconds(1)) {
    return absl::InvalidArgumentError("--fanout_interval must be between 0 and 1s");
  }
  for (const auto& [flag, value] : {std::pair{"handshake_timeout", config.handshake_timeout},
                                    std::pair{"idle_timeout", config.idle_timeout},
                                    std::pair{"write_stall_timeout", config.write_stall_timeout},
                                    std::pair{"drain_timeout", config.drain_timeout},
                                    std::pair{"jwt_refresh_window", config.jwt_refresh_window}}) {
    if (value <= absl::ZeroDuration() || value > absl::Hours(1)) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be > 0 and at most 1h"));
    }
  }
  if (config.max_header_bytes < 1024 || config.max_header_bytes > (1 << 20)) {
    return OutOfRange("max_header_bytes", config.max_header_bytes, 1024, 1 << 20);
  }
  if (config.max_request_line_bytes < 64 || config.max_request_line_bytes > config.max_header_bytes) {
    return OutOfRange("max_request_line_bytes", config.max_request_line_bytes, 64, config.max_header_bytes);
  }
  if (config.max_header_count < 8 || config.max_header_count > 1000) {
    return OutOfRange("max_header_count", config.max_header_count, 8, 1000);
  }
  if (!(config.max_new_connections_per_second >= 0)) {
    return absl::InvalidArgumentError("--max_new_connections_per_second must be >= 0");
  }
  if (config.upstreams.empty()) return absl::InvalidArgumentError("--upstream must name at least one address");
  if (config.upstream_stall_timeout < absl::Seconds(1) || config.upstream_stall_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError("--upstream_stall_timeout must be between 1s and 1h");
  }
  if (config.upstream_backoff.initial <= absl::ZeroDuration() ||
      config.upstream_backoff.max < config.upstream_backoff.initial) {
    return absl::InvalidArgumentError(
        "--upstream_backoff_initial must be > 0 and at most --upstream_backoff_max");
  }
  return absl::OkStatus();
}

}  // namespace stockfeed::ws_gateway

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "stockfeed/common/host_port.h"
#include "stockfeed/common/transport_settings.h"

namespace stockfeed::tail {

// What stockfeed_tail was asked to do: the first positional argument.
enum class Command { kStream, kLatest, kSymbols };
enum class OutputFormat { kJson, kCsv, kTable };

absl::StatusOr<Command> ParseCommand(absl::string_view text);
absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text);

// Everything stockfeed_tail can be told; main.cpp fills it from flags.
struct TailConfig {
  Command command = Command::kStream;
  HostPort target{"127.0.0.1", 50051};
  std::vector<std::string> symbols;  // empty = all
  std::vector<std::string> sources;  // empty = all
  OutputFormat format = OutputFormat::kJson;

  // Streaming only.
  bool snapshot = false;
  // Resume after this sequence of `epoch` (0 = start live).
  uint64_t from_seq = 0;
  std::string epoch;
  // Where the position is kept across runs; empty = nowhere.
  std::string state_file;
  // The position is written at most this often. 0 = after every printed
  // update: a killed tail repeats at most its last line on restart.
  absl::Duration state_interval = absl::ZeroDuration();
  uint64_t count = 0;                           // stop after this many prices (0 = never)
  absl::Duration duration = absl::ZeroDuration();  // stop after this long (0 = never)
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);

  // How long the first connection (and every unary call) may take before
  // the service counts as unreachable.
  absl::Duration connect_timeout = absl::Seconds(10);

  // TLS / mutual TLS to price_service and the bearer token (--tls_*, --token_file).
  ClientTransportSettings transport;
};

// Rejects settings that cannot work, with a message naming the flag.
absl::Status Validate(const TailConfig& config);

}  // namespace stockfeed::tail

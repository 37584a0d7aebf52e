#include "tail/tail_config.h"

#include "absl/strings/str_cat.h"
#include "stockfeed/common/symbols.h"

namespace stockfeed::tail {

absl::StatusOr<Command> ParseCommand(absl::string_view text) {
  if (text == "stream") return Command::kStream;
  if (text == "latest") return Command::kLatest;
  if (text == "symbols") return Command::kSymbols;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown command '", text, "' (expected stream, latest or symbols)"));
}

absl::StatusOr<OutputFormat> ParseOutputFormat(absl::string_view text) {
  if (text == "json") return OutputFormat::kJson;
  if (text == "csv") return OutputFormat::kCsv;
  if (text == "table") return OutputFormat::kTable;
  return absl::InvalidArgumentError(
      absl::StrCat("--format: unknown format '", text, "' (expected json, csv or table)"));
}

absl::Status Validate(const TailConfig& config) {
  for (const std::string& symbol : config.symbols) {
    if (absl::Status s = ValidateSymbol(symbol); !s.ok()) return absl::InvalidArgumentError(absl::StrCat("--symbols: ", s.message()));
  }
  for (const std::string& source : config.sources) {
    if (absl::Status s = ValidateSource(source); !s.ok()) return absl::InvalidArgumentError(absl::StrCat("--sources: ", s.message()));
  }
  if (config.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--connect_timeout must be positive");
  }
  if (config.command != Command::kStream) {
    const bool stream_flag_set = config.snapshot || config.from_seq != 0 || !config.epoch.empty() ||
                                 !config.state_file.empty() || config.count != 0 ||
                                 config.duration != absl::ZeroDuration();
    if (stream_flag_set) {
      return absl::InvalidArgumentError(
          "--snapshot, --from_seq, --epoch, --state_file, --count and --duration apply to streaming "
          "only, not to 'latest' or 'symbols'");
    }
    return absl::OkStatus();
  }
  if (!config.epoch.empty() && config.from_seq == 0) {
    return absl::InvalidArgumentError("--epoch needs --from_seq (the sequence to resume after)");
  }
  if (config.from_seq != 0 && !config.state_file.empty()) {
    return absl::InvalidArgumentError(
        "--from_seq and --state_file both give the start position; use one of them");
  }
  if (config.duration < absl::ZeroDuration() || config.state_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--duration and --state_interval cannot be negative");
  }
  if (config.backoff_initial <= absl::ZeroDuration() || config.backoff_max < config.backoff_initial) {
    return absl::InvalidArgumentError("--backoff_initial must be positive and at most --backoff_max");
  }
  return absl::OkStatus();
}

}  // namespace stockfeed::tail

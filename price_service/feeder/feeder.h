#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/simulator.h"

namespace stockfeed::feeder {

enum class FeedMode { kSimulate, kReplay };

// The workshop's "aggregator": writes prices into stock_prices, from the
// price simulator or from a CSV file. main.cpp fills this from flags.
struct FeederConfig {
  FeedMode mode = FeedMode::kSimulate;
  std::string database_url;
  bool migrate = true;

  // simulate: rows per second, spread over symbols and sources.
  price_service::SimulatorConfig simulator;
  double rate = 100;
  // simulate: stop after this many rows / this long (0 = until stopped).
  uint64_t count = 0;
  absl::Duration duration = absl::ZeroDuration();

  // replay: the file, and how fast relative to its timestamps (0 = at once).
  std::string csv_path;
  double speed = 0;

  // If set, the wall time (µs, native int64) just before each COMMIT is
  // appended here, so a benchmark can measure commit → client latency
  // (tests/bench/loadgen/commit_log.h). The file is truncated first.
  std::string commit_log;
};

absl::StatusOr<FeedMode> ParseFeedMode(absl::string_view text);
absl::Status Validate(const FeederConfig& config);

// Runs until done (count, duration or end of file), an error, or *stop.
absl::Status RunFeeder(const FeederConfig& config, const std::atomic<bool>& stop);

}  // namespace stockfeed::feeder

#include "feeder/feeder.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "feeder/csv_prices.h"
#include "feeder/price_writer.h"
#include "spdlog/spdlog.h"

namespace stockfeed::feeder {
namespace {

// Wake-ups per second in simulate mode: each inserts what became due.
constexpr absl::Duration kTick = absl::Milliseconds(20);
// Rows per transaction at most (simulate catching up, replay at full speed).
constexpr size_t kMaxBatch = 5000;

void SleepUntil(absl::Time when, const std::atomic<bool>& stop) {
  while (!stop) {
    const absl::Duration left = when - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    absl::SleepFor(std::min(left, absl::Milliseconds(100)));
  }
}

absl::Status Simulate(const FeederConfig& config, PriceWriter& writer, const std::atomic<bool>& stop) {
  price_service::PriceSimulator simulator(config.simulator);
  const absl::Time start = absl::Now();
  uint64_t written = 0;
  std::vector<PriceRow> batch;
  while (!stop) {
    const absl::Time now = absl::Now();
    if (config.duration > absl::ZeroDuration() && now - start >= config.duration) break;
    uint64_t due = static_cast<uint64_t>(absl::ToDoubleSeconds(now - start) * config.rate) + 1;
    if (config.count > 0) due = std::min(due, config.count);
    batch.clear();
    const int64_t now_us = absl::ToUnixMicros(now);
    for (; written + batch.size() < due && batch.size() < kMaxBatch;) {
      const v1::PriceUpdate update = simulator.Next(now_us);
      batch.push_back({update.symbol(), update.price(), update.source(), now_us / 1'000'000});
    }
    if (absl::Status s = writer.Insert(batch); !s.ok()) return stop ? absl::OkStatus() : s;
    written += batch.size();
    if (config.count > 0 && written >= config.count) break;
    if (batch.size() < kMaxBatch) SleepUntil(now + kTick, stop);
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  spdlog::info("simulate: wrote {} rows in {:.1f}s ({:.0f} rows/s)", written, seconds,
               seconds > 0 ? written / seconds : 0.0);
  return absl::OkStatus();
}

absl::Status Replay(const FeederConfig& config, PriceWriter& writer, const std::atomic<bool>& stop) {
  absl::StatusOr<CsvPriceReader> reader = CsvPriceReader::Open(config.csv_path);
  if (!reader.ok()) return reader.status();
  const absl::Time start = absl::Now();
  std::optional<int64_t> first_timestamp;
  uint64_t written = 0;
  std::vector<PriceRow> batch;
  absl::Time batch_due = start;
  while (!stop) {
    absl::StatusOr<std::optional<PriceRow>> row = reader->Next();
    if (!row.ok()) {
      // Keep what came before the bad line; report where it is.
      if (absl::Status s = writer.Insert(batch); !s.ok()) return s;
      return row.status();
    }
    absl::Time due = start;
    if (row->has_value() && config.speed > 0) {
      if (!first_timestamp) first_timestamp = (*row)->timestamp;
      due = start + absl::Seconds(static_cast<double>((*row)->timestamp - *first_timestamp) / config.speed);
    }
    // Flush when the file ends, the batch is full, or the next row is due later.
    if (!row->has_value() || batch.size() == kMaxBatch || (due > batch_due && !batch.empty())) {
      SleepUntil(batch_due, stop);
      if (absl::Status s = writer.Insert(batch); !s.ok()) return stop ? absl::OkStatus() : s;
      written += batch.size();
      batch.clear();
    }
    if (!row->has_value()) break;
    batch_due = std::max(batch_due, due);
    batch.push_back(**std::move(row));
  }
  spdlog::info("replay: wrote {} rows from {} in {:.1f}s", written, config.csv_path,
               absl::ToDoubleSeconds(absl::Now() - start));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FeedMode> ParseFeedMode(absl::string_view text) {
  if (text == "simulate") return FeedMode::kSimulate;
  if (text == "replay") return FeedMode::kReplay;
  return absl::InvalidArgumentError(
      absl::StrCat("--mode='", text, "' is not a mode (expected simulate or replay)"));
}

absl::Status Validate(const FeederConfig& config) {
  if (config.database_url.find_first_not_of(" \t\r\n") == std::string::npos) {
    return absl::InvalidArgumentError("--database_url (or $DATABASE_URL) is empty");
  }
  if (config.mode == FeedMode::kSimulate) {
    if (absl::Status s = price_service::ValidateNames(config.simulator); !s.ok()) return s;
    if (!(config.rate > 0 && config.rate <= 1'000'000)) {
      return absl::InvalidArgumentError(absl::StrCat("--rate=", config.rate, " must be > 0 and <= 1000000"));
    }
    if (config.duration < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("--duration must not be negative");
    }
    if (!config.csv_path.empty()) return absl::InvalidArgumentError("--csv needs --mode=replay");
  } else {
    if (config.csv_path.empty()) return absl::InvalidArgumentError("--mode=replay needs --csv=FILE");
    if (!(config.speed >= 0 && config.speed <= 1e6)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--speed=", config.speed, " must be >= 0 (0 = as fast as possible)"));
    }
  }
  return absl::OkStatus();
}

absl::Status RunFeeder(const FeederConfig& config, const std::atomic<bool>& stop) {
  if (absl::Status s = Validate(config); !s.ok()) return s;
  PriceWriter writer(config.database_url, config.commit_log, &stop);
  if (absl::Status s = writer.Open(config.migrate); !s.ok()) return s;
  return config.mode == FeedMode::kSimulate ? Simulate(config, writer, stop)
                                            : Replay(config, writer, stop);
}

}  // namespace stockfeed::feeder

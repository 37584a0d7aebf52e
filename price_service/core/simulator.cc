#include "simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "stockfeed/common/symbols.h"

namespace stockfeed::price_service {
namespace {

// Seconds in a trading year (252 days of 6.5 h): volatility is quoted per year
// of trading time, so one real second moves the price like one trading second.
constexpr double kTradingSecondsPerYear = 252.0 * 6.5 * 3600.0;
// Spread between sources, relative to price, and quote noise.
constexpr double kSourceOffsetSpread = 0.0004;
constexpr double kQuoteNoise = 0.00005;
constexpr double kMinPrice = 0.01;

double RoundToCents(double price) { return std::max(kMinPrice, std::round(price * 100.0) / 100.0); }

absl::Status ValidateNameList(absl::string_view flag, const std::vector<std::string>& names,
                              absl::Status (*validate)(absl::string_view)) {
  if (names.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, " is empty"));
  absl::flat_hash_set<absl::string_view> seen;
  for (const std::string& name : names) {
    if (absl::Status status = validate(name); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", status.message()));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, ": '", name, "' given twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateNames(const SimulatorConfig& config) {
  if (absl::Status s = ValidateNameList("symbols", config.symbols, ValidateSymbol); !s.ok()) return s;
  return ValidateNameList("sources", config.sources, ValidateSource);
}

double PriceSimulator::StartingPrice(const std::string& symbol) {
  static constexpr std::array<std::pair<absl::string_view, double>, 12> kKnown = {{
      {"AAPL", 189.50}, {"GOOGL", 171.20}, {"MSFT", 421.30}, {"AMZN", 184.70},
      {"NVDA", 121.40}, {"TSLA", 248.90},  {"META", 502.10}, {"NFLX", 640.80},
      {"AMD", 158.30},  {"INTC", 31.20},   {"IBM", 183.60},  {"ORCL", 139.90},
  }};
  for (const auto& [known, price] : kKnown) {
    if (known == symbol) return price;
  }
  // A fixed FNV-1a (not absl::Hash, which is seeded per process) keeps levels stable across runs.
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : symbol) hash = (hash ^ c) * 1099511628211ULL;
  return RoundToCents(20.0 + static_cast<double>(hash % 48000) / 100.0);
}

PriceSimulator::PriceSimulator(SimulatorConfig config)
    : config_(std::move(config)), rng_(config_.seed) {
  for (const std::string& symbol : config_.symbols) symbols_.push_back({StartingPrice(symbol)});
  std::uniform_real_distribution<double> offset(-kSourceOffsetSpread, kSourceOffsetSpread);
  for (size_t i = 0; i < config_.sources.size(); ++i) source_offsets_.push_back(offset(rng_));
}

v1::PriceUpdate PriceSimulator::Next(int64_t event_time_us) {
  const size_t symbol_index = std::uniform_int_distribution<size_t>(0, symbols_.size() - 1)(rng_);
  const size_t source_index =
      std::uniform_int_distribution<size_t>(0, config_.sources.size() - 1)(rng_);

  SymbolState& state = symbols_[symbol_index];
  if (state.last_time_us != 0 && event_time_us > state.last_time_us) {
    const double dt_years =
        static_cast<double>(event_time_us - state.last_time_us) / 1e6 / kTradingSecondsPerYear;
    const double sigma = config_.volatility * std::sqrt(dt_years);
    // Drift -sigma^2/2 keeps the expected price flat (martingale).
    state.mid *= std::exp(sigma * normal_(rng_) - 0.5 * sigma * sigma);
  }
  state.last_time_us = std::max(state.last_time_us, event_time_us);

  const double quote =
      state.mid * (1.0 + source_offsets_[source_index] + kQuoteNoise * normal_(rng_));

  v1::PriceUpdate update;
  update.set_symbol(config_.symbols[symbol_index]);
  update.set_source(config_.sources[source_index]);
  update.set_price(RoundToCents(quote));
  update.set_event_time_us(event_time_us);
  return update;
}

}  // namespace stockfeed::price_service

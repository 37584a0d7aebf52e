#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::price_service {

struct SimulatorConfig {
  std::vector<std::string> symbols = {"AAPL", "GOOGL", "MSFT", "AMZN", "NVDA", "TSLA"};
  std::vector<std::string> sources = {"alpha_vantage", "finnhub"};
  // Annualised volatility of each symbol's random walk (0.4 = 40 %/year).
  double volatility = 0.4;
  uint64_t seed = 1;
};

// Checks the symbol and source lists (syntax, non-empty, no repeats); the
// error names the flag (--symbols, --sources).
absl::Status ValidateNames(const SimulatorConfig& config);

// Generates realistic prices: each symbol follows a geometric Brownian motion
// (log-normal steps scaled by the time since its last step, so prices stay
// positive and the walk looks the same at any update rate) from a realistic
// starting level, and each source quotes that price with its own small,
// persistent offset and per-quote noise, rounded to cents.
//
// Pure: time comes in as an argument, randomness from the seed.
class PriceSimulator {
 public:
  explicit PriceSimulator(SimulatorConfig config);

  // The next quote, for a uniformly chosen symbol and source, at `event_time_us`.
  // Fills symbol, source, price and event_time_us; the caller sets sequence.
  v1::PriceUpdate Next(int64_t event_time_us);

  // Realistic starting level for a symbol: a table for well-known tickers,
  // otherwise a stable pseudo-random level between 20 and 500.
  static double StartingPrice(const std::string& symbol);

 private:
  struct SymbolState {
    double mid;
    int64_t last_time_us = 0;
  };

  SimulatorConfig config_;
  std::mt19937_64 rng_;
  std::vector<SymbolState> symbols_;
  std::vector<double> source_offsets_;  // relative, e.g. +0.0001
  std::normal_distribution<double> normal_{0.0, 1.0};
};

}  // namespace stockfeed::price_service

#include "core/simulator.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::price_service {
namespace {

// Any realistic Unix time: the simulator takes no step from time 0.
constexpr int64_t kStartUs = 1'764'091'234'000'000;
// One trading day; the simulator's year is 252 of them.
constexpr int64_t kDayUs = int64_t{23'400} * 1'000'000;

SimulatorConfig OneSeries(uint64_t seed, double volatility = 0.4) {
  SimulatorConfig config;
  config.symbols = {"AAPL"};
  config.sources = {"finnhub"};
  config.volatility = volatility;
  config.seed = seed;
  return config;
}

bool IsWholeCents(double price) {
  const double cents = price * 100.0;
  return std::abs(cents - std::round(cents)) < 1e-6;
}

TEST(PriceSimulatorTest, FillsSymbolSourceTimeAndLeavesSequenceToTheCaller) {
  PriceSimulator simulator(OneSeries(7));
  const v1::PriceUpdate update = simulator.Next(kStartUs);
  EXPECT_EQ(update.symbol(), "AAPL");
  EXPECT_EQ(update.source(), "finnhub");
  EXPECT_EQ(update.event_time_us(), kStartUs);
  EXPECT_EQ(update.sequence(), 0u);
  EXPECT_TRUE(update.epoch().empty());
}

TEST(PriceSimulatorTest, FirstQuoteIsNearTheStartingLevel) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    PriceSimulator simulator(OneSeries(seed));
    // Source offset (<= 0.04 %) plus quote noise (0.005 % per sigma) and rounding.
    EXPECT_NEAR(simulator.Next(kStartUs).price(), 189.50, 189.50 * 0.0007 + 0.005) << seed;
  }
}

TEST(PriceSimulatorTest, SameSeedSameQuotes) {
  SimulatorConfig config;
  config.seed = 42;
  PriceSimulator a(config), b(config);
  for (int i = 0; i < 1000; ++i) {
    const int64_t t = kStartUs + i * 1000;
    const v1::PriceUpdate x = a.Next(t), y = b.Next(t);
    ASSERT_EQ(x.symbol(), y.symbol()) << i;
    ASSERT_EQ(x.source(), y.source()) << i;
    ASSERT_EQ(x.price(), y.price()) << i;
  }
}

TEST(PriceSimulatorTest, DifferentSeedsDiffer) {
  SimulatorConfig config;
  config.seed = 1;
  PriceSimulator a(config);
  config.seed = 2;
  PriceSimulator b(config);
  int differing = 0;
  for (int i = 0; i < 100; ++i) {
    const int64_t t = kStartUs + i * kDayUs;
    const v1::PriceUpdate x = a.Next(t), y = b.Next(t);
    if (x.symbol() != y.symbol() || x.source() != y.source() || x.price() != y.price()) ++differing;
  }
  EXPECT_GT(differing, 50);
}

TEST(PriceSimulatorTest, EveryConfiguredSymbolAndSourcePairAppears) {
  SimulatorConfig config;
  config.symbols = {"AAPL", "MSFT", "^GSPC", "BTC/USD", "ZZZZ"};
  config.sources = {"alpha_vantage", "finnhub", "x"};
  PriceSimulator simulator(config);
  std::map<std::pair<std::string, std::string>, int> seen;
  for (int i = 0; i < 3000; ++i) {
    const v1::PriceUpdate update = simulator.Next(kStartUs + i * 1000);
    ++seen[{update.symbol(), update.source()}];
  }
  ASSERT_EQ(seen.size(), config.symbols.size() * config.sources.size());
  for (const auto& [pair, count] : seen) {
    // Uniform: 200 expected per pair; 100 would be > 7 standard deviations off.
    EXPECT_GT(count, 100) << pair.first << "/" << pair.second;
  }
}

TEST(PriceSimulatorTest, PricesArePositiveWholeCentsEvenAtExtremeVolatility) {
  SimulatorConfig config;
  config.volatility = 5.0;
  config.seed = 3;
  PriceSimulator simulator(config);
  double lowest = 1e300;
  for (int i = 0; i < 20'000; ++i) {
    const double price = simulator.Next(kStartUs + i * kDayUs).price();
    ASSERT_TRUE(std::isfinite(price)) << i;
    ASSERT_GE(price, 0.01) << i;
    ASSERT_TRUE(IsWholeCents(price)) << price << " at step " << i;
    lowest = std::min(lowest, price);
  }
  // The walk really went down to the floor, so the floor was exercised.
  EXPECT_EQ(lowest, 0.01);
}

TEST(PriceSimulatorTest, PricesAreWholeCentsAtNormalVolatility) {
  PriceSimulator simulator(SimulatorConfig{});
  for (int i = 0; i < 5000; ++i) {
    const double price = simulator.Next(kStartUs + i * 200'000).price();
    ASSERT_TRUE(IsWholeCents(price)) << price;
    ASSERT_GT(price, 0.0);
  }
}

TEST(PriceSimulatorTest, NoTimePassedMeansOnlyQuoteNoise) {
  PriceSimulator simulator(OneSeries(5, 5.0));
  const double first = simulator.Next(kStartUs).price();
  for (int i = 0; i < 100; ++i) {
    // Same instant (and a clock going backwards): the mid must not move.
    const int64_t t = i % 2 == 0 ? kStartUs : kStartUs - kDayUs;
    EXPECT_NEAR(simulator.Next(t).price(), first, first * 0.0006 + 0.02) << i;
  }
}

// Log-returns of one symbol quoted by one source, one trading day apart, from
// `runs` independently seeded simulators of `steps` steps each. Many short runs
// instead of one long one keep every price far from the one-cent floor.
std::vector<double> DailyLogReturns(double volatility, int runs, int steps) {
  std::vector<double> returns;
  returns.reserve(static_cast<size_t>(runs) * steps);
  for (int run = 0; run < runs; ++run) {
    PriceSimulator simulator(OneSeries(1000 + run, volatility));
    double previous = simulator.Next(kStartUs).price();
    for (int step = 1; step <= steps; ++step) {
      const double price = simulator.Next(kStartUs + step * kDayUs).price();
      returns.push_back(std::log(price / previous));
      previous = price;
    }
  }
  return returns;
}

TEST(PriceSimulatorTest, DailyLogReturnsFollowTheConfiguredVolatilityAndMartingaleDrift) {
  constexpr double kVolatility = 0.4;
  const std::vector<double> returns = DailyLogReturns(kVolatility, 400, 400);
  const double n = static_cast<double>(returns.size());

  double sum = 0;
  for (double r : returns) sum += r;
  const double mean = sum / n;
  double squares = 0;
  for (double r : returns) squares += (r - mean) * (r - mean);
  const double stddev = std::sqrt(squares / (n - 1));

  const double sigma = kVolatility * std::sqrt(1.0 / 252.0);  // one day of a 252-day year
  const double drift = -0.5 * sigma * sigma;                   // keeps E[price] flat
  // 4 standard errors: sigma/sqrt(n) for the mean, sigma/sqrt(2n) for the stddev.
  // The mean is 5 standard errors from 0, so a walk without drift fails too.
  EXPECT_NEAR(mean, drift, 4 * sigma / std::sqrt(n)) << "sigma=" << sigma;
  EXPECT_NEAR(stddev, sigma, 4 * sigma / std::sqrt(2 * n));
}

TEST(PriceSimulatorTest, VolatilityScalesWithTheSquareRootOfTime) {
  // Same walk sampled 4x as often: each step's stddev halves.
  constexpr double kVolatility = 0.4;
  std::vector<double> returns;
  for (int run = 0; run < 100; ++run) {
    PriceSimulator simulator(OneSeries(5000 + run, kVolatility));
    double previous = simulator.Next(kStartUs).price();
    for (int step = 1; step <= 400; ++step) {
      const double price = simulator.Next(kStartUs + step * (kDayUs / 4)).price();
      returns.push_back(std::log(price / previous));
      previous = price;
    }
  }
  const double n = static_cast<double>(returns.size());
  double sum = 0, squares = 0;
  for (double r : returns) sum += r;
  for (double r : returns) squares += (r - sum / n) * (r - sum / n);
  const double sigma = kVolatility * std::sqrt(0.25 / 252.0);
  EXPECT_NEAR(std::sqrt(squares / (n - 1)), sigma, 4 * sigma / std::sqrt(2 * n));
}

TEST(PriceSimulatorTest, StartingPriceUsesTheTableForKnownTickers) {
  EXPECT_EQ(PriceSimulator::StartingPrice("AAPL"), 189.50);
  EXPECT_EQ(PriceSimulator::StartingPrice("MSFT"), 421.30);
  EXPECT_EQ(PriceSimulator::StartingPrice("INTC"), 31.20);
}

TEST(PriceSimulatorTest, StartingPriceOfUnknownTickersIsStableAndInRange) {
  std::set<double> levels;
  for (const char* symbol : {"ZZZ", "BTC/USD", "^GSPC", "ES=F", "aapl", "X", "BRK.B"}) {
    const double price = PriceSimulator::StartingPrice(symbol);
    EXPECT_GE(price, 20.0) << symbol;
    EXPECT_LT(price, 500.0) << symbol;
    EXPECT_TRUE(IsWholeCents(price)) << symbol << " " << price;
    levels.insert(price);
  }
  EXPECT_GE(levels.size(), 6u);  // a hash, not a constant
  // Pinned (FNV-1a computed independently): a per-process seeded hash would move them.
  EXPECT_DOUBLE_EQ(PriceSimulator::StartingPrice("ZZZ"), 393.23);
  EXPECT_DOUBLE_EQ(PriceSimulator::StartingPrice("BTC/USD"), 145.45);
}

}  // namespace
}  // namespace stockfeed::price_service

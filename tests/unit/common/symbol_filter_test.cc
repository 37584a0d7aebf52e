#include "stockfeed/common/symbol_filter.h"

#include "gtest/gtest.h"

namespace stockfeed {
namespace {

TEST(SymbolFilterTest, DefaultMatchesEverything) {
  const SymbolFilter filter;
  EXPECT_TRUE(filter.MatchesAll());
  EXPECT_TRUE(filter.Matches("AAPL", "finnhub"));
  EXPECT_TRUE(filter.Matches("", ""));
}

TEST(SymbolFilterTest, SymbolsOnly) {
  const SymbolFilter filter({"AAPL", "MSFT"}, {});
  EXPECT_FALSE(filter.MatchesAll());
  EXPECT_TRUE(filter.Matches("AAPL", "finnhub"));
  EXPECT_TRUE(filter.Matches("MSFT", "anything"));
  EXPECT_FALSE(filter.Matches("NVDA", "finnhub"));
  EXPECT_FALSE(filter.Matches("aapl", "finnhub"));  // case-sensitive
}

TEST(SymbolFilterTest, SourcesOnly) {
  const SymbolFilter filter({}, {"finnhub"});
  EXPECT_FALSE(filter.MatchesAll());
  EXPECT_TRUE(filter.Matches("NVDA", "finnhub"));
  EXPECT_FALSE(filter.Matches("NVDA", "alpha_vantage"));
}

TEST(SymbolFilterTest, BothMustMatch) {
  const SymbolFilter filter({"AAPL"}, {"finnhub"});
  EXPECT_TRUE(filter.Matches("AAPL", "finnhub"));
  EXPECT_FALSE(filter.Matches("AAPL", "alpha_vantage"));
  EXPECT_FALSE(filter.Matches("MSFT", "finnhub"));
}

TEST(SymbolFilterTest, DuplicatesCollapse) {
  const SymbolFilter filter({"AAPL", "AAPL"}, {"finnhub", "finnhub"});
  EXPECT_EQ(filter.symbols().size(), 1u);
  EXPECT_EQ(filter.sources().size(), 1u);
}

}  // namespace
}  // namespace stockfeed

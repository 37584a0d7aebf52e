#include "stockfeed/common/symbols.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed {
namespace {

const std::string kLongest(kMaxNameLength, 'A');
const std::string kTooLong(kMaxNameLength + 1, 'A');

TEST(ValidateSymbolTest, AcceptsTickerShapes) {
  for (const std::string& symbol :
       {std::string("AAPL"), std::string("^GSPC"), std::string("ES=F"), std::string("BTC/USD"),
        std::string("BRK.B"), std::string("BRK-B"), std::string("a_1"), std::string("7"), kLongest}) {
    EXPECT_TRUE(ValidateSymbol(symbol).ok()) << symbol;
  }
}

TEST(ValidateSymbolTest, RejectsEmptyTooLongAndOddCharacters) {
  for (const std::string& symbol :
       {std::string(), kTooLong, std::string("AA PL"), std::string("AAPL\n"), std::string("A,B"),
        std::string("A\"B"), std::string("A\\B"), std::string("<b>"), std::string("*"),
        std::string("A\0B", 3), std::string("\xC3\xA9")}) {
    const absl::Status status = ValidateSymbol(symbol);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << symbol;
  }
}

TEST(ValidateSymbolTest, ErrorNamesTheValueEscaped) {
  const absl::Status status = ValidateSymbol("AA\nPL");
  EXPECT_NE(status.message().find("'AA\\nPL'"), absl::string_view::npos) << status;
  EXPECT_EQ(status.message().find('\n'), absl::string_view::npos) << status;
}

TEST(ValidateSymbolTest, LengthErrorStatesTheLimit) {
  const absl::Status status = ValidateSymbol(kTooLong);
  EXPECT_NE(status.message().find("32"), absl::string_view::npos) << status;
}

TEST(ValidateSourceTest, AcceptsLowercaseNames) {
  for (const std::string& source : {std::string("finnhub"), std::string("alpha_vantage"),
                                    std::string("feed-2"), std::string("a.b"),
                                    std::string(kMaxNameLength, 'x')}) {
    EXPECT_TRUE(ValidateSource(source).ok()) << source;
  }
}

TEST(ValidateSourceTest, RejectsUppercaseSymbolsCharactersAndBadLengths) {
  for (const std::string& source :
       {std::string(), std::string(kMaxNameLength + 1, 'x'), std::string("Finnhub"),
        std::string("es=f"), std::string("a/b"), std::string("^x"), std::string("a b")}) {
    EXPECT_EQ(ValidateSource(source).code(), absl::StatusCode::kInvalidArgument) << source;
  }
}

TEST(SplitNameListTest, TrimsAndDropsEmpties) {
  EXPECT_EQ(SplitNameList("AAPL, MSFT,,NVDA"), (std::vector<std::string>{"AAPL", "MSFT", "NVDA"}));
  EXPECT_EQ(SplitNameList("  AAPL\t,\nMSFT  "), (std::vector<std::string>{"AAPL", "MSFT"}));
  EXPECT_EQ(SplitNameList("AAPL"), (std::vector<std::string>{"AAPL"}));
}

TEST(SplitNameListTest, KeepsOrderAndDuplicates) {
  EXPECT_EQ(SplitNameList("b,a,b"), (std::vector<std::string>{"b", "a", "b"}));
}

TEST(SplitNameListTest, BlankInputGivesNoNames) {
  EXPECT_TRUE(SplitNameList("").empty());
  EXPECT_TRUE(SplitNameList(" , ,, ").empty());
}

TEST(SplitNameListTest, InnerSpacesStay) {
  EXPECT_EQ(SplitNameList("A B, C"), (std::vector<std::string>{"A B", "C"}));
}

}  // namespace
}  // namespace stockfeed

#include "core/stored_price.h"

#include <limits>

#include "gtest/gtest.h"

namespace stockfeed::price_service {
namespace {

v1::PriceUpdate Row(std::string symbol, std::string source, double price) {
  v1::PriceUpdate update;
  update.set_sequence(7);
  update.set_symbol(std::move(symbol));
  update.set_source(std::move(source));
  update.set_price(price);
  return update;
}

TEST(ValidateStoredPriceTest, WhatTheFeederWritesPasses) {
  EXPECT_TRUE(ValidateStoredPrice(Row("AAPL", "finnhub", 189.23)).ok());
  EXPECT_TRUE(ValidateStoredPrice(Row("^GSPC", "alpha_vantage", 0)).ok());
}

TEST(ValidateStoredPriceTest, RowsThatBypassedTheFeederAreRefusedByField) {
  struct Case {
    v1::PriceUpdate row;
    const char* field;
  };
  for (const Case& c : {Case{Row("<img src=x onerror=alert(1)>", "finnhub", 1), "symbol"},
                        Case{Row("", "finnhub", 1), "symbol"},  // a legacy NULL symbol
                        Case{Row(std::string(33, 'A'), "finnhub", 1), "symbol"},
                        Case{Row("AAPL", "Finnhub", 1), "source"},
                        Case{Row("AAPL", "", 1), "source"},
                        Case{Row("AAPL", "a\"b", 1), "source"},
                        Case{Row("AAPL", "finnhub", std::numeric_limits<double>::quiet_NaN()), "price"},
                        Case{Row("AAPL", "finnhub", std::numeric_limits<double>::infinity()), "price"}}) {
    const absl::Status status = ValidateStoredPrice(c.row);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.row.ShortDebugString();
    EXPECT_NE(status.message().find(c.field), absl::string_view::npos) << status;
  }
}

}  // namespace
}  // namespace stockfeed::price_service

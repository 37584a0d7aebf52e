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

TEST(DecodeStoredPriceTest, PostgresTextBecomesAnUpdate) {
  const absl::StatusOr<StoredPrice> row =
      DecodeStoredPrice({"42", "AAPL", "189.23", "finnhub", "1764091234123456"});
  ASSERT_TRUE(row.ok()) << row.status();
  ASSERT_TRUE(row->status.ok()) << row->status;
  EXPECT_EQ(row->sequence, 42u);
  EXPECT_EQ(row->update.sequence(), 42u);
  EXPECT_EQ(row->update.symbol(), "AAPL");
  EXPECT_DOUBLE_EQ(row->update.price(), 189.23);
  EXPECT_EQ(row->update.source(), "finnhub");
  EXPECT_EQ(row->update.event_time_us(), 1764091234123456);
}

TEST(DecodeStoredPriceTest, BadRowsKeepTheirSequenceAndNameTheField) {
  struct Case {
    StoredPriceText row;
    const char* field;
  };
  // PostgreSQL's text for special doubles, legacy NULLs, and text no column
  // of that type can hold (a changed schema or query).
  for (const Case& c : {Case{{"9", "AAPL", "Infinity", "finnhub", "1"}, "price"},
                        Case{{"9", "AAPL", "NaN", "finnhub", "1"}, "price"},
                        Case{{"9", "AAPL", std::nullopt, "finnhub", "1"}, "price"},
                        Case{{"9", "AAPL", "1e400", "finnhub", "1"}, "price"},
                        Case{{"9", "AAPL", "12abc", "finnhub", "1"}, "price"},
                        Case{{"9", std::nullopt, "1", "finnhub", "1"}, "symbol"},
                        Case{{"9", "AAPL", "1", std::nullopt, "1"}, "source"},
                        Case{{"9", "AAPL", "1", "finnhub", "99999999999999999999"}, "inserted_at"},
                        Case{{"9", "AAPL", "1", "finnhub", std::nullopt}, "inserted_at"}}) {
    const absl::StatusOr<StoredPrice> row = DecodeStoredPrice(c.row);
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_EQ(row->sequence, 9u);
    EXPECT_EQ(row->status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(row->status.message().find(c.field), absl::string_view::npos) << row->status;
  }
}

TEST(DecodeStoredPriceTest, AnUnreadableSequenceIsAnError) {
  EXPECT_FALSE(DecodeStoredPrice({std::nullopt, "AAPL", "1", "finnhub", "1"}).ok());
  EXPECT_FALSE(DecodeStoredPrice({"-1", "AAPL", "1", "finnhub", "1"}).ok());
  EXPECT_FALSE(DecodeStoredPrice({"", "AAPL", "1", "finnhub", "1"}).ok());
}

TEST(DecodeStoredPriceTest, LongUnreadableTextIsShortenedInTheReason) {
  const std::string junk(10000, 'x');
  const absl::StatusOr<StoredPrice> row = DecodeStoredPrice({"1", "AAPL", junk, "finnhub", "1"});
  ASSERT_TRUE(row.ok());
  EXPECT_LT(row->status.message().size(), 100u) << row->status;
}

}  // namespace
}  // namespace stockfeed::price_service

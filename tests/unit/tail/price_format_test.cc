#include "tail/price_format.h"

#include "gtest/gtest.h"

namespace stockfeed::tail {
namespace {

v1::PriceUpdate Update(std::string symbol, std::string source, double price, uint64_t sequence) {
  v1::PriceUpdate update;
  update.set_symbol(std::move(symbol));
  update.set_source(std::move(source));
  update.set_price(price);
  update.set_sequence(sequence);
  update.set_epoch("sim-1");
  update.set_kind(v1::UPDATE_KIND_LIVE);
  update.set_event_time_us(1764091234123456);
  return update;
}

TEST(PriceFormatTest, JsonLineHasFixedKeysAndShortestPrice) {
  EXPECT_EQ(FormatJsonLine(Update("AAPL", "finnhub", 189.23, 7)),
            R"({"seq":7,"epoch":"sim-1","kind":"live","symbol":"AAPL","source":"finnhub","price":189.23,)"
            R"("event_time_us":1764091234123456})");
}

TEST(PriceFormatTest, JsonEscapesStrings) {
  v1::PriceUpdate update = Update("BTC/USD", "x", 1, 1);
  update.set_epoch("a\"b\\c");
  EXPECT_NE(FormatJsonLine(update).find(R"("epoch":"a\"b\\c")"), std::string::npos) << FormatJsonLine(update);
}

TEST(PriceFormatTest, KindNames) {
  EXPECT_EQ(KindName(v1::UPDATE_KIND_LIVE), "live");
  EXPECT_EQ(KindName(v1::UPDATE_KIND_SNAPSHOT), "snapshot");
  EXPECT_EQ(KindName(v1::UPDATE_KIND_REPLAY), "replay");
  EXPECT_EQ(KindName(v1::UPDATE_KIND_UNSPECIFIED), "unspecified");
}

TEST(PriceFormatTest, CsvColumnsMatchHeaderAndQuoteWhenNeeded) {
  EXPECT_EQ(CsvHeader(), "seq,epoch,kind,symbol,source,price,event_time_us");
  EXPECT_EQ(FormatCsvLine(Update("AAPL", "finnhub", 189.5, 7)), "7,sim-1,live,AAPL,finnhub,189.5,1764091234123456");
  v1::PriceUpdate update = Update("AAPL", "finnhub", 1, 1);
  update.set_epoch("a,\"b");
  EXPECT_EQ(FormatCsvLine(update), "1,\"a,\"\"b\",live,AAPL,finnhub,1,1764091234123456");
}

TEST(PriceFormatTest, SymbolsJson) {
  v1::ListSymbolsResponse response;
  response.add_symbols("AAPL");
  response.add_symbols("MSFT");
  response.add_sources("finnhub");
  EXPECT_EQ(FormatSymbolsJson(response), R"({"symbols":["AAPL","MSFT"],"sources":["finnhub"]})");
  EXPECT_EQ(FormatSymbolsJson({}), R"({"symbols":[],"sources":[]})");
}

TEST(LatestTableTest, KeepsLatestPerPairSortedWithChange) {
  LatestTable table;
  table.Add(Update("MSFT", "finnhub", 400, 1));
  table.Add(Update("AAPL", "finnhub", 190, 2));
  table.Add(Update("AAPL", "finnhub", 191.5, 3));
  const std::string text = table.Render();
  EXPECT_EQ(text,
            "SYMBOL     SOURCE                PRICE    CHANGE          SEQ\n"
            "AAPL       finnhub            191.5000   +1.5000            3\n"
            "MSFT       finnhub            400.0000   +0.0000            1\n");
  EXPECT_EQ(table.RenderForTerminal(), "\x1b[H\x1b[2J" + text);
}

}  // namespace
}  // namespace stockfeed::tail

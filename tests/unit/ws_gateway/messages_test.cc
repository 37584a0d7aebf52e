#include "core/messages.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

v1::PriceUpdate Aapl() {
  v1::PriceUpdate update;
  update.set_symbol("AAPL");
  update.set_price(189.23);
  update.set_source("finnhub");
  update.set_event_time_us(1764091234123456);
  update.set_sequence(42);
  update.set_epoch("not-in-json");
  update.set_kind(v1::UPDATE_KIND_REPLAY);
  return update;
}

TEST(EncodePriceTest, GoldenBytes) {
  EXPECT_EQ(EncodePrice(Aapl()),
            R"({"type":"price","symbol":"AAPL","price":189.23,"source":"finnhub",)"
            R"("timestamp":1764091234,"seq":42,"event_time_us":1764091234123456})");
}

TEST(EncodePriceTest, SnapshotFlagComesLast) {
  EXPECT_EQ(EncodePrice(Aapl(), /*snapshot=*/true),
            R"({"type":"price","symbol":"AAPL","price":189.23,"source":"finnhub",)"
            R"("timestamp":1764091234,"seq":42,"event_time_us":1764091234123456,"snapshot":true})");
}

TEST(EncodePriceTest, MarkingAsSnapshotGivesTheSnapshotEncodingOnce) {
  EXPECT_EQ(MarkedAsSnapshot(EncodePrice(Aapl())), EncodePrice(Aapl(), /*snapshot=*/true));
  EXPECT_EQ(MarkedAsSnapshot(EncodePrice(Aapl(), /*snapshot=*/true)), EncodePrice(Aapl(), /*snapshot=*/true));
}

TEST(EncodePriceTest, TimestampIsWholeSecondsTruncated) {
  v1::PriceUpdate update = Aapl();
  update.set_event_time_us(1'999'999);
  EXPECT_NE(EncodePrice(update).find(R"("timestamp":1,)"), std::string::npos) << EncodePrice(update);
}

TEST(EncodePriceTest, NaNPriceBecomesNull) {
  v1::PriceUpdate update = Aapl();
  update.set_price(std::numeric_limits<double>::quiet_NaN());
  EXPECT_NE(EncodePrice(update).find(R"("price":null,)"), std::string::npos) << EncodePrice(update);
}

TEST(EncodePriceTest, OddSymbolsAreEscaped) {
  v1::PriceUpdate update = Aapl();
  update.set_symbol("A\"B\\C\nD\x01\xE2\x82\xAC");
  update.set_source("x\ty");
  const std::string json = EncodePrice(update);
  EXPECT_NE(json.find(R"("symbol":"A\"B\\C\nD\u0001)" "\xE2\x82\xAC\""), std::string::npos) << json;
  EXPECT_NE(json.find(R"("source":"x\ty")"), std::string::npos) << json;
}

TEST(EncodePriceTest, EveryAsciiSymbolRoundTripsThroughAJsonParser) {
  for (int c = 0; c < 0x80; ++c) {
    v1::PriceUpdate update = Aapl();
    const std::string symbol = std::string("A") + static_cast<char>(c) + "Z";
    update.set_symbol(symbol);
    boost::system::error_code ec;
    const boost::json::value parsed = boost::json::parse(EncodePrice(update), ec);
    ASSERT_FALSE(ec) << "char " << c << ": " << ec.message() << " in " << EncodePrice(update);
    EXPECT_EQ(parsed.as_object().at("symbol").as_string(), symbol) << "char " << c;
    EXPECT_EQ(parsed.as_object().at("price").as_double(), 189.23);
    EXPECT_EQ(parsed.as_object().at("seq").to_number<uint64_t>(), 42u);
  }
}

TEST(MessagesTest, Welcome) {
  EXPECT_EQ(EncodeWelcome("e1", 7, /*rich=*/false),
            R"({"type":"connected","message":"Connected to stock price feed"})");
  EXPECT_EQ(EncodeWelcome("e1", 7, /*rich=*/true),
            R"({"type":"connected","message":"Connected to stock price feed",)"
            R"("protocol":"v1","epoch":"e1","seq":7})");
}

TEST(MessagesTest, StatsJsonAndText) {
  GatewayStats stats;
  stats.active_connections = 1;
  stats.total_connections = 2;
  stats.messages_sent = 3;
  stats.uptime_seconds = 4;
  stats.upstream = UpstreamState::kConnected;
  stats.upstream_replica = "127.0.1.2:50051";
  stats.upstream_health = "serving";
  stats.upstream_failovers = 1;
  stats.last_seq = 5;
  stats.sse_clients = 6;
  EXPECT_EQ(EncodeStats(stats),
            R"({"type":"stats","active_connections":1,"total_connections":2,"messages_sent":3,)"
            R"("uptime_seconds":4,"upstream":"connected","seq":5,"upstream_replica":"127.0.1.2:50051",)"
            R"("upstream_health":"serving","upstream_failovers":1,"sse_clients":6})");
  EXPECT_EQ(EncodeStatsText(stats),
            "Active connections: 1, total connections: 2, messages sent: 3, uptime: 4s, "
            "upstream: connected");
}

TEST(MessagesTest, UpstreamStateNames) {
  EXPECT_EQ(UpstreamStateName(UpstreamState::kConnecting), "connecting");
  EXPECT_EQ(UpstreamStateName(UpstreamState::kConnected), "connected");
  EXPECT_EQ(UpstreamStateName(UpstreamState::kReconnecting), "reconnecting");
  EXPECT_EQ(UpstreamStateName(static_cast<UpstreamState>(99)), "unknown");
}

TEST(MessagesTest, Status) {
  EXPECT_EQ(EncodeStatus(UpstreamState::kReconnecting, "price_service \"down\""),
            R"({"type":"status","upstream":"reconnecting","message":"price_service \"down\""})");
}

TEST(MessagesTest, PongEchoesTheIdOnlyWhenGiven) {
  EXPECT_EQ(EncodePong(std::nullopt), R"({"type":"pong"})");
  EXPECT_EQ(EncodePong("abc"), R"({"type":"pong","id":"abc"})");
  EXPECT_EQ(EncodePong(""), R"({"type":"pong","id":""})");
  EXPECT_EQ(EncodePong("a\"b"), R"({"type":"pong","id":"a\"b"})");
}

TEST(MessagesTest, Error) {
  EXPECT_EQ(EncodeError("invalid_symbol", "bad 'A B'"),
            R"({"type":"error","code":"invalid_symbol","message":"bad 'A B'"})");
}

TEST(MessagesTest, SnapshotSplicesEncodedPrices) {
  EXPECT_EQ(EncodeSnapshot("e1", 9, {}), R"({"type":"snapshot","epoch":"e1","seq":9,"prices":[]})");
  const std::string a = EncodePrice(Aapl(), true);
  const std::vector<absl::string_view> prices = {a, a};
  EXPECT_EQ(EncodeSnapshot("e1", 42, prices),
            R"({"type":"snapshot","epoch":"e1","seq":42,"prices":[)" + a + "," + a + "]}");
}

TEST(MessagesTest, ResumeOutcomes) {
  EXPECT_EQ(EncodeResumed(13), R"({"type":"resumed","from_seq":13})");
  EXPECT_EQ(EncodeResync("epoch_changed"), R"({"type":"resync","reason":"epoch_changed"})");
  EXPECT_EQ(EncodeConflated(4096), R"({"type":"conflated","skipped":4096})");
  EXPECT_EQ(EncodeEpoch("sim-2"),
            R"({"type":"epoch","epoch":"sim-2","message":"the price feed restarted: sequences start again"})");
}

TEST(MessagesTest, HistorySplicesEncodedPrices) {
  EXPECT_EQ(EncodeHistory({}), R"({"type":"history","prices":[]})");
  const std::string a = EncodePrice(Aapl());
  EXPECT_EQ(EncodeHistory({a, a}), R"({"type":"history","prices":[)" + a + "," + a + "]}");
  EXPECT_EQ(EncodeHistory({a}, /*truncated=*/true), R"({"type":"history","prices":[)" + a + R"(],"truncated":true})");
}

TEST(MessagesTest, Subscribed) {
  EXPECT_EQ(EncodeSubscribed({"AAPL", "MSFT"}, {"*"}, 3),
            R"({"type":"subscribed","symbols":["AAPL","MSFT"],"sources":["*"],"seq":3})");
  EXPECT_EQ(EncodeSubscribed({}, {}, 0), R"({"type":"subscribed","symbols":[],"sources":[],"seq":0})");
}

TEST(MessagesTest, EveryMessageIsValidJson) {
  GatewayStats stats;
  const std::string price = EncodePrice(Aapl());
  for (const std::string& json :
       {price, EncodeWelcome("e", 1, true), EncodeStats(stats), EncodeStatus(UpstreamState::kConnecting, "m"),
        EncodePong("x"), EncodeError("c", "m"), EncodeSnapshot("e", 1, {price}), EncodeResumed(1),
        EncodeResync("r"), EncodeConflated(1), EncodeHistory({price}), EncodeSubscribed({"A"}, {"b"}, 1)}) {
    boost::system::error_code ec;
    const boost::json::value parsed = boost::json::parse(json, ec);
    EXPECT_FALSE(ec) << json;
    EXPECT_TRUE(parsed.is_object()) << json;
  }
}

}  // namespace
}  // namespace stockfeed::ws_gateway

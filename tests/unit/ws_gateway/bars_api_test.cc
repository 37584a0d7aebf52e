#include "core/bars_api.h"

#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

using ::testing::HasSubstr;

BarsParams Parse(absl::string_view target) {
  auto parsed = ParseBarsQuery(target);
  EXPECT_TRUE(std::holds_alternative<BarsParams>(parsed))
      << (std::holds_alternative<ControlError>(parsed) ? std::get<ControlError>(parsed).message : "");
  return std::holds_alternative<BarsParams>(parsed) ? std::get<BarsParams>(parsed) : BarsParams{};
}

TEST(BarsApiTest, ParsesEveryParameter) {
  const BarsParams p = Parse("/api/v1/bars?symbol=BRK.B&source=finnhub&interval=5m&from=100&to=1000&limit=7&_=x");
  ASSERT_EQ(p.pairs.size(), 1u);
  EXPECT_FALSE(p.batch);
  EXPECT_EQ(p.pairs[0].symbol, "BRK.B");
  EXPECT_EQ(p.pairs[0].source, "finnhub");
  EXPECT_EQ(p.interval, "5m");
  EXPECT_EQ(p.interval_seconds, 300u);
  EXPECT_EQ(p.from, 100);
  EXPECT_EQ(p.to, 1000);
  EXPECT_EQ(p.limit, 7u);
  const v1::GetBarsRequest request = ToGetBarsRequest(p, p.pairs[0]);
  EXPECT_EQ(request.from_us(), 100'000'000);
  EXPECT_EQ(request.to_us(), 1'000'000'000);
  EXPECT_EQ(request.interval_seconds(), 300u);
  EXPECT_EQ(request.symbol(), "BRK.B");
}

TEST(BarsApiTest, ParsesABatchOfPairsSharingTheOtherParameters) {
  const BarsParams p = Parse("/api/v1/bars?pairs=BRK.B:finnhub,%5EGSPC:iex,BTC%2FUSD:sim&interval=1h&limit=1");
  EXPECT_TRUE(p.batch);
  ASSERT_EQ(p.pairs.size(), 3u);
  EXPECT_EQ(p.pairs[1].symbol, "^GSPC");
  EXPECT_EQ(p.pairs[1].source, "iex");
  EXPECT_EQ(p.pairs[2].symbol, "BTC/USD");
  const v1::GetBarsRequest request = ToGetBarsRequest(p, p.pairs[2]);
  EXPECT_EQ(request.symbol(), "BTC/USD");
  EXPECT_EQ(request.source(), "sim");
  EXPECT_EQ(request.interval_seconds(), 3600u);
  EXPECT_EQ(request.limit(), 1u);
}

std::string PairList(size_t count) {
  std::string list;
  for (size_t i = 0; i < count; ++i) list += (i ? ",S" : "S") + std::to_string(i) + ":src";
  return list;
}

TEST(BarsApiTest, BatchesAreBoundedInPairsAndInBars) {
  EXPECT_EQ(Parse("/api/v1/bars?interval=1h&limit=1&pairs=" + PairList(kMaxBarsPairs)).pairs.size(), kMaxBarsPairs);
  // 10,000 bars in all: 64 pairs of 156, 11 of 900 (a 15 min chart of 1 s bars).
  EXPECT_EQ(Parse("/api/v1/bars?interval=1s&limit=900&pairs=" + PairList(11)).pairs.size(), 11u);
  const std::pair<std::string, const char*> cases[] = {
      {"/api/v1/bars?interval=1h&limit=1&pairs=" + PairList(kMaxBarsPairs + 1), "more than 64 symbol:source pairs"},
      {"/api/v1/bars?interval=1s&limit=900&pairs=" + PairList(12), "at most 10000 bars (got 12 pairs × 900)"},
      // Without a limit each pair counts the service's default of 500.
      {"/api/v1/bars?interval=1m&pairs=" + PairList(21), "(got 21 pairs × 500)"},
  };
  for (const auto& [target, message] : cases) {
    SCOPED_TRACE(target.substr(0, 60));
    auto parsed = ParseBarsQuery(target);
    ASSERT_TRUE(std::holds_alternative<ControlError>(parsed));
    EXPECT_THAT(std::get<ControlError>(parsed).message, HasSubstr(message));
  }
}

TEST(BarsApiTest, RejectsABadBatchNamingWhatIsWrong) {
  const std::tuple<const char*, const char*, const char*> cases[] = {
      {"/api/v1/bars?pairs=&interval=1m", "invalid_query", "comma-separated list of symbol:source"},
      {"/api/v1/bars?pairs=AAPL&interval=1m", "invalid_query", "symbol:source"},
      {"/api/v1/bars?pairs=AAPL:sim,,MSFT:sim&interval=1m", "invalid_query", "symbol:source"},
      {"/api/v1/bars?pairs=AAPL:&interval=1m", "invalid_source", "source"},
      {"/api/v1/bars?pairs=:sim&interval=1m", "invalid_symbol", "symbol"},
      {"/api/v1/bars?pairs=AAPL:Bad%20Source&interval=1m", "invalid_source", "source"},
      {"/api/v1/bars?pairs=AAPL:sim&symbol=AAPL&source=sim&interval=1m", "invalid_query", "not both"},
      {"/api/v1/bars?pairs=AAPL:sim", "invalid_query", "'interval' is required"},
  };
  for (const auto& [target, code, message] : cases) {
    SCOPED_TRACE(target);
    auto parsed = ParseBarsQuery(target);
    ASSERT_TRUE(std::holds_alternative<ControlError>(parsed));
    EXPECT_EQ(std::get<ControlError>(parsed).code, code);
    EXPECT_THAT(std::get<ControlError>(parsed).message, HasSubstr(message));
  }
}

TEST(BarsApiTest, RejectsWithMessagesNamingTheParameter) {
  const std::pair<const char*, const char*> cases[] = {
      {"/api/v1/bars", "'symbol' is required"},
      {"/api/v1/bars?symbol=A&interval=1m", "'source' is required"},
      {"/api/v1/bars?symbol=A&source=s", "'interval' is required"},
      {"/api/v1/bars?symbol=A&source=s&interval=1d", "'interval' must be 1s, 1m, 5m or 1h (got '1d')"},
      {"/api/v1/bars?symbol=A&source=s&interval=1m&limit=5001", "'limit'"},
      {"/api/v1/bars?symbol=A&source=s&interval=1m&limit=-1", "'limit'"},
      {"/api/v1/bars?symbol=A&source=s&interval=1m&to=-5", "'to' must be a time"},
      {"/api/v1/bars?symbol=A&source=s&interval=1m&from=9&to=9", "'from' must be before 'to'"},
      {"/api/v1/bars?symbol=A%2&source=s&interval=1m", "percent-encoding"},
      {"/api/v1/bars?symbol=a%20b&source=s&interval=1m", "symbol"},
  };
  for (const auto& [target, message] : cases) {
    SCOPED_TRACE(target);
    auto parsed = ParseBarsQuery(target);
    ASSERT_TRUE(std::holds_alternative<ControlError>(parsed));
    EXPECT_THAT(std::get<ControlError>(parsed).message, HasSubstr(message));
  }
}

TEST(BarsApiTest, EncodesBarsInUnixSecondsAndTheSession) {
  v1::GetBarsResponse response;
  response.set_session_start_us(1'000'000'000);
  response.set_session_time_zone("America/New_York");
  response.set_session_open(189.5);
  v1::Bar* bar = response.add_bars();
  bar->set_start_time_us(1'060'000'000);
  bar->set_open(1.5);
  bar->set_high(2);
  bar->set_low(1.25);
  bar->set_close(1.75);
  bar->set_update_count(3);
  EXPECT_EQ(EncodeBars(Parse("/api/v1/bars?symbol=A&source=s&interval=1m"), response),
            R"({"symbol":"A","source":"s","interval":"1m","interval_seconds":60,)"
            R"("session":{"start":1000,"time_zone":"America/New_York","open":189.5},)"
            R"("bars":[{"time":1060,"open":1.5,"high":2,"low":1.25,"close":1.75,"count":3}]})");
  response.set_session_open(0);
  response.clear_bars();
  EXPECT_THAT(EncodeBars(Parse("/api/v1/bars?symbol=A&source=s&interval=1m"), response),
              HasSubstr(R"("session":{"start":1000,"time_zone":"America/New_York"},"bars":[])"));
}

TEST(BarsApiTest, EncodesABatchAsOneResultPerPairInRequestOrder) {
  std::vector<v1::GetBarsResponse> responses(2);
  responses[0].set_session_start_us(1'000'000'000);
  responses[0].set_session_time_zone("UTC");
  responses[0].set_session_open(2.5);
  v1::Bar* bar = responses[0].add_bars();
  bar->set_start_time_us(3'600'000'000);
  bar->set_open(2.5);
  bar->set_high(3);
  bar->set_low(2);
  bar->set_close(2.75);
  bar->set_update_count(9);
  responses[1].set_session_start_us(1'000'000'000);
  responses[1].set_session_time_zone("UTC");
  EXPECT_EQ(EncodeBarsBatch(Parse("/api/v1/bars?pairs=B:x,A:y&interval=1h"), responses),
            R"({"interval":"1h","interval_seconds":3600,"results":[)"
            R"({"symbol":"B","source":"x","session":{"start":1000,"time_zone":"UTC","open":2.5},)"
            R"("bars":[{"time":3600,"open":2.5,"high":3,"low":2,"close":2.75,"count":9}]},)"
            R"({"symbol":"A","source":"y","session":{"start":1000,"time_zone":"UTC"},"bars":[]}]})");
}

TEST(BarsApiTest, OnlyBarsThatHaveEndedAreCacheable) {
  const absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_EQ(BarsCacheControl(Parse("/api/v1/bars?symbol=A&source=s&interval=1m"), now, false), "no-cache");
  EXPECT_EQ(BarsCacheControl(Parse("/api/v1/bars?symbol=A&source=s&interval=1m&to=960"), now, false),
            "public, max-age=300");
  // With a token only the browser may keep it.
  EXPECT_EQ(BarsCacheControl(Parse("/api/v1/bars?symbol=A&source=s&interval=1m&to=960"), now, true),
            "private, max-age=300");
  // to=961: the last bar starts at 960 and ends at 1020, after now.
  EXPECT_EQ(BarsCacheControl(Parse("/api/v1/bars?symbol=A&source=s&interval=1m&to=961"), now, false), "no-cache");
}

TEST(BarsApiTest, EntityTagsMatchLikeIfNoneMatch) {
  const std::string tag = EntityTag("body");
  EXPECT_EQ(tag.size(), 18u);
  EXPECT_NE(tag, EntityTag("other"));
  EXPECT_TRUE(EntityTagMatches(tag, tag));
  EXPECT_TRUE(EntityTagMatches("\"x\", W/" + tag, tag));
  EXPECT_TRUE(EntityTagMatches("*", tag));
  EXPECT_FALSE(EntityTagMatches("\"x\"", tag));
}

}  // namespace
}  // namespace stockfeed::ws_gateway

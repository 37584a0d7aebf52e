#include "core/bars_api.h"

#include <variant>

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
  EXPECT_EQ(p.symbol, "BRK.B");
  EXPECT_EQ(p.source, "finnhub");
  EXPECT_EQ(p.interval, "5m");
  EXPECT_EQ(p.interval_seconds, 300u);
  EXPECT_EQ(p.from, 100);
  EXPECT_EQ(p.to, 1000);
  EXPECT_EQ(p.limit, 7u);
  const v1::GetBarsRequest request = ToGetBarsRequest(p);
  EXPECT_EQ(request.from_us(), 100'000'000);
  EXPECT_EQ(request.to_us(), 1'000'000'000);
  EXPECT_EQ(request.interval_seconds(), 300u);
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

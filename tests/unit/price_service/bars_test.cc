#include "core/bars.h"

#include <map>
#include <random>
#include <vector>

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockfeed::price_service {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
// 2025-11-30 15:00:00 UTC.
constexpr int64_t kBase = 1'764'514'800 * kSecond;

struct RawUpdate {
  int64_t time_us;
  double price;
};

// The bars straight from the raw updates, the way a reader would compute them.
std::vector<Bar> BarsFromRaw(const std::vector<RawUpdate>& raw, int64_t interval, int64_t first, int64_t end) {
  std::map<int64_t, Bar> bins;
  for (const RawUpdate& u : raw) {
    if (u.time_us < first || u.time_us >= end) continue;
    const int64_t bin = BinStart(u.time_us, interval);
    auto [it, inserted] = bins.try_emplace(bin, Bar{bin, u.price, u.price, u.price, u.price, 0});
    Bar& bar = it->second;
    bar.high = std::max(bar.high, u.price);
    bar.low = std::min(bar.low, u.price);
    bar.close = u.price;
    ++bar.updates;
  }
  std::vector<Bar> out;
  for (const auto& [bin, bar] : bins) out.push_back(bar);
  return out;
}

BarQuery QueryFor(int64_t interval, int64_t first, int64_t end) {
  return BarQuery{.symbol = "AAPL", .source = "finnhub", .interval_us = interval, .first_bin_us = first, .end_us = end};
}

// Two hours of a random walk with irregular gaps (bursts, quiet seconds, a
// silent five minutes), in time order.
std::vector<RawUpdate> RandomWalk() {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> gap(1, 900'000);
  std::normal_distribution<double> step(0, 0.05);
  std::vector<RawUpdate> raw;
  double price = 100;
  for (int64_t t = kBase + 123; t < kBase + 2 * kHour; t += gap(rng)) {
    if (t >= kBase + 30 * kMinute && t < kBase + 35 * kMinute) continue;
    price = std::max(1.0, price + step(rng));
    raw.push_back({t, price});
  }
  return raw;
}

TEST(BinStartTest, RoundsDownAlsoBeforeTheEpoch) {
  EXPECT_EQ(BinStart(kBase + 59 * kSecond, kMinute), kBase);
  EXPECT_EQ(BinStart(kBase, kMinute), kBase);
  EXPECT_EQ(BinStart(-1, kSecond), -kSecond);
  EXPECT_EQ(BinStart(0, kHour), 0);
}

TEST(BarSeriesTest, EveryIntervalAgreesWithTheRawUpdatesWhileHeld) {
  const std::vector<RawUpdate> raw = RandomWalk();
  BarSeries series(absl::Hours(1), absl::Hours(24));
  for (const RawUpdate& u : raw) series.Add(u.time_us, u.price);
  const int64_t end = kBase + 2 * kHour;

  // 1 s bars: only the last hour is held.
  const std::vector<Bar> seconds = series.Query(QueryFor(kSecond, kBase, end));
  ASSERT_FALSE(seconds.empty());
  EXPECT_GT(seconds.front().start_us, kBase + kHour - kSecond);
  EXPECT_EQ(seconds, BarsFromRaw(raw, kSecond, seconds.front().start_us, end));
  EXPECT_EQ(series.Query(QueryFor(kSecond, end - 10 * kMinute, end)),
            BarsFromRaw(raw, kSecond, end - 10 * kMinute, end));

  // Minutes and what is derived from them: the whole two hours.
  for (int64_t interval : {kMinute, 5 * kMinute, kHour}) {
    SCOPED_TRACE(interval);
    const std::vector<Bar> bars = series.Query(QueryFor(interval, kBase, end));
    EXPECT_EQ(bars, BarsFromRaw(raw, interval, kBase, end));
  }
  // The silent five minutes have no bar.
  const std::vector<Bar> five = series.Query(QueryFor(5 * kMinute, kBase, end));
  EXPECT_EQ(five.size(), 23u);
  uint64_t total = 0;
  for (const Bar& bar : series.Query(QueryFor(kHour, kBase, end))) total += bar.updates;
  EXPECT_EQ(total, raw.size());
}

TEST(BarSeriesTest, MinuteBarsOlderThanTheSpanAreDropped) {
  BarSeries series(absl::Minutes(1), absl::Minutes(10));
  series.Add(kBase, 10);
  series.Add(kBase + 10 * kMinute, 11);
  EXPECT_THAT(series.Query(QueryFor(kMinute, 0, kBase + kHour)), ::testing::SizeIs(1));
  series.Add(kBase + 9 * kMinute, 12);  // late, but still inside the span
  EXPECT_THAT(series.Query(QueryFor(kMinute, 0, kBase + kHour)), ::testing::SizeIs(2));
}

TEST(BarSeriesTest, ALateUpdateLandsInItsBar) {
  BarSeries series(absl::Hours(1), absl::Hours(24));
  series.Add(kBase + 1 * kSecond, 10);
  series.Add(kBase + 5 * kSecond, 12);
  series.Add(kBase + 1 * kSecond + 500'000, 9);
  const std::vector<Bar> bars = series.Query(QueryFor(kSecond, kBase, kBase + kMinute));
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_EQ(bars[0], (Bar{kBase + kSecond, 10, 10, 9, 9, 2}));
  EXPECT_EQ(bars[1], (Bar{kBase + 5 * kSecond, 12, 12, 12, 12, 1}));
}

TEST(BarSeriesTest, FirstPriceSinceIsTheOpenOfTheFirstMinuteFromThen) {
  BarSeries series(absl::Hours(1), absl::Hours(24));
  EXPECT_EQ(series.FirstPriceSince(kBase), std::nullopt);
  series.Add(kBase - kSecond, 99);
  series.Add(kBase + 3 * kMinute + 5 * kSecond, 101);
  series.Add(kBase + 3 * kMinute + 7 * kSecond, 102);
  EXPECT_EQ(series.FirstPriceSince(kBase), 101);
  EXPECT_EQ(series.FirstPriceSince(kBase - kMinute), 99);
  EXPECT_EQ(series.FirstPriceSince(kBase + kHour), std::nullopt);
}

TEST(BarBookTest, KeepsEachSymbolAndSourceApart) {
  BarBook book;
  std::vector<v1::PriceUpdate> updates(3);
  updates[0].set_symbol("AAPL");
  updates[0].set_source("finnhub");
  updates[0].set_price(10);
  updates[0].set_event_time_us(kBase);
  updates[1] = updates[0];
  updates[1].set_source("alpha_vantage");
  updates[1].set_price(20);
  updates[2] = updates[0];
  updates[2].set_price(11);
  updates[2].set_event_time_us(kBase + 2 * kSecond);
  book.Record(updates);

  const std::vector<Bar> finnhub = book.Query(QueryFor(kMinute, kBase, kBase + kMinute));
  ASSERT_EQ(finnhub.size(), 1u);
  EXPECT_EQ(finnhub[0], (Bar{kBase, 10, 11, 10, 11, 2}));
  BarQuery other = QueryFor(kMinute, kBase, kBase + kMinute);
  other.source = "alpha_vantage";
  EXPECT_EQ(book.Query(other), (std::vector<Bar>{{kBase, 20, 20, 20, 20, 1}}));
  other.source = "nobody";
  EXPECT_TRUE(book.Query(other).empty());
  EXPECT_EQ(book.FirstPriceSince("AAPL", "alpha_vantage", absl::FromUnixMicros(kBase)), 20);
  EXPECT_EQ(book.FirstPriceSince("MSFT", "finnhub", absl::FromUnixMicros(kBase)), std::nullopt);
}

v1::GetBarsRequest Request(uint32_t interval, int64_t from, int64_t to, uint32_t limit) {
  v1::GetBarsRequest request;
  request.set_symbol("AAPL");
  request.set_source("finnhub");
  request.set_interval_seconds(interval);
  request.set_from_us(from);
  request.set_to_us(to);
  request.set_limit(limit);
  return request;
}

TEST(MakeBarQueryTest, BoundsAreWholeIntervalsAndAtMostLimitOfThem) {
  const absl::Time now = absl::FromUnixMicros(kBase + 90 * kSecond + 5);
  absl::StatusOr<BarQuery> q = MakeBarQuery(Request(60, 0, 0, 0), now);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->interval_us, kMinute);
  EXPECT_EQ(q->end_us, kBase + 2 * kMinute);  // the current bar is included
  EXPECT_EQ(q->first_bin_us, kBase + 2 * kMinute - 500 * kMinute);

  q = MakeBarQuery(Request(1, kBase + 10 * kSecond + 7, kBase + 20 * kSecond, 3), now);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->end_us, kBase + 20 * kSecond);
  EXPECT_EQ(q->first_bin_us, kBase + 17 * kSecond);

  q = MakeBarQuery(Request(300, kBase + 7 * kSecond, kBase + 20 * kMinute, 5000), now);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->first_bin_us, kBase);
  EXPECT_EQ(q->end_us, kBase + 20 * kMinute);
}

struct BadRequestCase {
  v1::GetBarsRequest request;
  const char* message;
};

class MakeBarQueryRejects : public ::testing::TestWithParam<BadRequestCase> {};

TEST_P(MakeBarQueryRejects, WithAMessageNamingTheField) {
  absl::StatusOr<BarQuery> q = MakeBarQuery(GetParam().request, absl::FromUnixMicros(kBase));
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(q.status().message(), HasSubstr(GetParam().message));
}

v1::GetBarsRequest Without(v1::GetBarsRequest request, bool symbol) {
  symbol ? request.clear_symbol() : request.clear_source();
  return request;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MakeBarQueryRejects,
    ::testing::Values(BadRequestCase{Without(Request(60, 0, 0, 0), true), "symbol is required"},
                      BadRequestCase{Without(Request(60, 0, 0, 0), false), "source is required"},
                      BadRequestCase{Request(0, 0, 0, 0), "interval_seconds=0 is not supported"},
                      BadRequestCase{Request(120, 0, 0, 0), "interval_seconds=120"},
                      BadRequestCase{Request(60, 0, 0, 5001), "limit=5001"},
                      BadRequestCase{Request(60, -1, 0, 0), "must not be negative"},
                      BadRequestCase{Request(60, kBase, kBase, 0), "from_us must be before to_us"},
                      BadRequestCase{Request(60, kBase + 1, 0, 0), "from_us must be before to_us"}));

TEST(SessionStartTest, ParsesTimeAndZone) {
  absl::StatusOr<SessionStart> s = ParseSessionStart("09:30 America/New_York");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->minute_of_day, 9 * 60 + 30);
  EXPECT_EQ(s->zone_name, "America/New_York");
  s = ParseSessionStart("  0:00   UTC ");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->minute_of_day, 0);
  for (const char* bad : {"", "09:30", "9.30 UTC", "24:00 UTC", "09:60 UTC", "09:3 UTC", "09:30 Mars/Olympus",
                          "09:30 UTC extra"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseSessionStart(bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(ParseSessionStart("09:30 Mars/Olympus").status().message(), HasSubstr("unknown time zone"));
}

TEST(SessionStartTest, IsTheLatestStartAtOrBeforeNowInTheZone) {
  const SessionStart ny = *ParseSessionStart("09:30 America/New_York");
  const absl::TimeZone zone = ny.zone;
  const auto at = [&](int y, int m, int d, int hh, int mm) { return absl::FromCivil(absl::CivilMinute(y, m, d, hh, mm), zone); };
  // Winter (UTC-5): 09:30 New York is 14:30 UTC.
  EXPECT_EQ(CurrentSessionStart(ny, at(2026, 11, 30, 12, 0)), at(2026, 11, 30, 9, 30));
  EXPECT_EQ(absl::ToUnixSeconds(at(2026, 11, 30, 9, 30)), 1'796'049'000);
  EXPECT_EQ(CurrentSessionStart(ny, at(2026, 11, 30, 9, 30)), at(2026, 11, 30, 9, 30));
  EXPECT_EQ(CurrentSessionStart(ny, at(2026, 11, 30, 9, 29)), at(2026, 11, 29, 9, 30));
  // Just after midnight local: still yesterday's session.
  EXPECT_EQ(CurrentSessionStart(ny, at(2026, 12, 1, 0, 5)), at(2026, 11, 30, 9, 30));
  // Summer (UTC-4).
  EXPECT_EQ(absl::ToUnixSeconds(CurrentSessionStart(ny, at(2026, 7, 1, 16, 0))), 1'782'912'600);
}

}  // namespace
}  // namespace stockfeed::price_service

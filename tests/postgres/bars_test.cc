// GetBars in PostgreSQL mode against a real PostgreSQL 15: bars agree with
// the rows they come from, the session reference is the first row since the
// session start, and on a table of millions of rows the query plan uses
// stock_prices_bars_idx and stays fast.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "feed_client.h"
#include "gtest/gtest.h"
#include "postgres_cluster.h"
#include "server.h"
#include "sources/postgres_bars.h"
#include "sources/postgres_connection.h"
#include "sources/postgres_migrations.h"

namespace stockfeed::testing {
namespace {

using price_service::PriceServer;
using price_service::ServiceConfig;
using price_service::SourceKind;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kDay = 86'400 * kSecond;
constexpr int kServing = 1;

std::unique_ptr<PriceServer> StartServer(const std::string& url) {
  ServiceConfig config;
  config.source = SourceKind::kPostgres;
  config.database_url = url;
  config.listen = {"127.0.0.1", 0};
  config.poll_interval = absl::Milliseconds(200);
  config.session_start = *price_service::ParseSessionStart("00:00 UTC");
  absl::StatusOr<std::unique_ptr<PriceServer>> server = PriceServer::Start(config);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

struct Row {
  int64_t time_us;
  double price;
};

grpc::Status GetBars(v1::PriceFeed::Stub& stub, const v1::GetBarsRequest& request, v1::GetBarsResponse& response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return stub.GetBars(&context, request, &response);
}

v1::GetBarsRequest Request(const std::string& symbol, const std::string& source, uint32_t interval, int64_t from,
                           int64_t to) {
  v1::GetBarsRequest request;
  request.set_symbol(symbol);
  request.set_source(source);
  request.set_interval_seconds(interval);
  request.set_from_us(from);
  request.set_to_us(to);
  request.set_limit(5000);
  return request;
}

TEST(PostgresBarsTest, BarsAgreeWithTheRowsAndTheSessionOpenIsTheFirstRowOfTheDay) {
  const std::string url = PostgresEnvironment::cluster().CreateDatabase("bars_agree");
  std::unique_ptr<PriceServer> server = StartServer(url);
  ASSERT_NE(server, nullptr);
  auto channel = ChannelTo(server->port());
  ASSERT_TRUE(WaitForHealth(channel, kServing, absl::Seconds(30)));
  auto stub = v1::PriceFeed::NewStub(channel);

  // Rows around today's UTC midnight (the session start): yesterday's last
  // minute, then ten minutes of irregular prices; other pairs interleaved.
  const int64_t midnight = absl::ToUnixMicros(absl::Now()) / kDay * kDay;
  std::vector<Row> rows;
  std::string sql = "INSERT INTO stock_prices (symbol, price, source, inserted_at) VALUES ";
  double price = 100;
  int n = 0;
  for (int64_t t = midnight - kMinute + 1234; t < midnight + 10 * kMinute; t += 1'700'000 + (n % 7) * 300'000) {
    price += (n % 5 == 0 ? -0.37 : 0.21);
    rows.push_back({t, price});
    absl::StrAppend(&sql, n++ ? "," : "", "('AAPL',", price, ",'finnhub',to_timestamp(", t, "/1e6)),",
                    "('AAPL',", price * 2, ",'other',to_timestamp(", t, "/1e6)),",
                    "('MSFT',", price / 2, ",'finnhub',to_timestamp(", t, "/1e6))");
  }
  RunSql(url, sql);
  // to_timestamp(double) may round the last microsecond: read the times back.
  rows.clear();
  for (const auto& r : RunSql(url, "SELECT (extract(epoch FROM inserted_at) * 1000000)::bigint, price "
                                   "FROM stock_prices WHERE symbol = 'AAPL' AND source = 'finnhub' "
                                   "ORDER BY inserted_at, id")) {
    rows.push_back({std::stoll(r[0]), std::stod(r[1])});
  }

  for (uint32_t interval : {1u, 60u, 300u}) {
    SCOPED_TRACE(interval);
    const int64_t interval_us = int64_t{interval} * kSecond;
    std::map<int64_t, v1::Bar> expected;
    for (const Row& row : rows) {
      const int64_t bin = (row.time_us - (row.time_us % interval_us + interval_us) % interval_us);
      auto [it, fresh] = expected.try_emplace(bin);
      v1::Bar& bar = it->second;
      if (fresh) {
        bar.set_start_time_us(bin);
        bar.set_open(row.price);
        bar.set_high(row.price);
        bar.set_low(row.price);
      }
      bar.set_high(std::max(bar.high(), row.price));
      bar.set_low(std::min(bar.low(), row.price));
      bar.set_close(row.price);
      bar.set_update_count(bar.update_count() + 1);
    }
    v1::GetBarsResponse response;
    const grpc::Status status =
        GetBars(*stub, Request("AAPL", "finnhub", interval, midnight - kDay, midnight + 11 * kMinute), response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(static_cast<size_t>(response.bars_size()), expected.size());
    int i = 0;
    for (const auto& [bin, bar] : expected) {
      const v1::Bar& got = response.bars(i++);
      EXPECT_EQ(got.start_time_us(), bar.start_time_us());
      EXPECT_DOUBLE_EQ(got.open(), bar.open());
      EXPECT_DOUBLE_EQ(got.high(), bar.high());
      EXPECT_DOUBLE_EQ(got.low(), bar.low());
      EXPECT_DOUBLE_EQ(got.close(), bar.close());
      EXPECT_EQ(got.update_count(), bar.update_count());
    }
    EXPECT_EQ(response.session_start_us(), midnight);
    EXPECT_EQ(response.session_time_zone(), "UTC");
    const auto first_today = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.time_us >= midnight; });
    ASSERT_NE(first_today, rows.end());
    EXPECT_DOUBLE_EQ(response.session_open(), first_today->price);
  }

  // `limit` bounds the span: the last 3 minutes before `to`.
  v1::GetBarsRequest limited = Request("AAPL", "finnhub", 60, 0, midnight + 5 * kMinute);
  limited.set_limit(3);
  v1::GetBarsResponse response;
  ASSERT_TRUE(GetBars(*stub, limited, response).ok());
  ASSERT_EQ(response.bars_size(), 3);
  EXPECT_EQ(response.bars(0).start_time_us(), midnight + 2 * kMinute);

  v1::GetBarsResponse none;
  ASSERT_TRUE(GetBars(*stub, Request("TSLA", "finnhub", 60, midnight - kDay, midnight + kDay), none).ok());
  EXPECT_EQ(none.bars_size(), 0);
  EXPECT_EQ(none.session_open(), 0);
  v1::GetBarsResponse bad;
  EXPECT_EQ(GetBars(*stub, Request("AAPL", "finnhub", 2, 0, 0), bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(PostgresBarsTest, OnMillionsOfRowsThePlanUsesTheBarsIndex) {
  const std::string url = PostgresEnvironment::cluster().CreateDatabase("bars_plan");
  {
    std::unique_ptr<pqxx::connection> conn = price_service::Connect(url, "bars test");
    ASSERT_TRUE(price_service::ApplyMigrations(*conn).ok());
  }
  // 2,000,000 rows: 200 symbols x 2 sources, one row per 10 ms over 5.5 hours,
  // numbered as history so price_service does not stream them as news.
  constexpr int kRows = 2'000'000;
  const absl::Time t0 = absl::Now();
  // Inserted symbol by symbol, so every index grows at its end (much faster to load).
  RunSql(url, absl::StrCat(
                  "INSERT INTO stock_prices (symbol, price, source, timestamp, inserted_at) "
                  "SELECT 'S' || s, 100 + (g % 997) / 10.0, 'src' || (g % 2), 0, "
                  "       timestamptz '2026-01-05 14:30:00+00' + g * interval '10 ms' "
                  "  FROM generate_series(1, 200) s, generate_series(0, ", kRows / 200 - 1, ") k, "
                  "       LATERAL (SELECT k * 200 + s AS g) n "
                  " ORDER BY s, k"));
  // The sequencer step price_service would run, before it starts: history.
  EXPECT_EQ(SqlValue(url, "SELECT stock_prices_sequence(5000)"), std::to_string(kRows));
  RunSql(url, "VACUUM ANALYZE stock_prices");
  std::cerr << "inserted " << kRows << " rows in " << absl::FormatDuration(absl::Now() - t0) << "\n";
  EXPECT_EQ(SqlValue(url, "SELECT count(*) FROM stock_prices"), std::to_string(kRows));

  // The exact statement GetBars runs, for one hour of 1 min bars.
  const int64_t from = absl::ToUnixMicros(absl::FromCivil(absl::CivilMinute(2026, 1, 5, 16, 0), absl::UTCTimeZone()));
  const std::string plan_sql = absl::StrCat(
      "PREPARE bars(text, text, bigint, bigint, bigint) AS ", price_service::kPostgresBarsSql, ";",
      "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bars('S7', 'src1', 60000000, ", from, ", ", from + 60 * kMinute, ")");
  std::string plan;
  for (const auto& row : RunSql(url, plan_sql)) plan += row[0] + "\n";
  std::cerr << plan;
  EXPECT_NE(plan.find("stock_prices_bars_idx"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;

  // And through price_service: 60 bars of 30 rows each (S7 is always src1, one row per 2 s).
  std::unique_ptr<PriceServer> server = StartServer(url);
  ASSERT_NE(server, nullptr);
  auto channel = ChannelTo(server->port());
  ASSERT_TRUE(WaitForHealth(channel, kServing, absl::Seconds(60)));
  auto stub = v1::PriceFeed::NewStub(channel);
  v1::GetBarsResponse response;
  const absl::Time asked = absl::Now();
  const grpc::Status status = GetBars(*stub, Request("S7", "src1", 60, from, from + 60 * kMinute), response);
  std::cerr << "GetBars (60 x 1 min of 2,000,000 rows) took " << absl::FormatDuration(absl::Now() - asked) << "\n";
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.bars_size(), 60);
  for (const v1::Bar& bar : response.bars()) EXPECT_EQ(bar.update_count(), 30u);
}

}  // namespace
}  // namespace stockfeed::testing

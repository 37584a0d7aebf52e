// stockfeed_feeder against a real PostgreSQL 15, and price_service --migrate_only.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "feeder/csv_prices.h"
#include "feeder/feeder.h"
#include "gtest/gtest.h"
#include "postgres_cluster.h"
#include "sources/postgres_migrations.h"

namespace stockfeed::testing {
namespace {

using feeder::FeederConfig;
using feeder::FeedMode;

std::string WriteTempFile(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::ofstream(path) << text;
  return path;
}

class FeederTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    url_ = PostgresEnvironment::cluster().CreateDatabase(name);
  }
  std::string url_;
  std::atomic<bool> stop_{false};
};

TEST_F(FeederTest, SimulateInsertsRequestedRows) {
  FeederConfig config;
  config.database_url = url_;
  config.rate = 50'000;
  config.count = 20'000;
  config.simulator.symbols = {"AAPL", "MSFT", "BTC/USD"};
  config.simulator.sources = {"sim_a", "sim_b"};
  ASSERT_TRUE(feeder::RunFeeder(config, stop_).ok());
  EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM stock_prices"), "20000");
  EXPECT_EQ(SqlValue(url_, "SELECT count(DISTINCT symbol) || '/' || count(DISTINCT source) FROM stock_prices"), "3/2");
  EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM stock_prices WHERE price <= 0 OR timestamp < 1600000000"), "0");
  // COPY fires the statement trigger too: every row waits for the sequencer.
  EXPECT_EQ(SqlValue(url_, "SELECT sum(cardinality(ids)) FROM stock_prices_pending"), "20000");
}

// What ws_loadgen --commit_log relies on: one entry per transaction, written
// after its rows were inserted and before the next transaction's first row.
TEST_F(FeederTest, CommitLogBracketsEachTransactionsRows) {
  FeederConfig config;
  config.database_url = url_;
  config.rate = 20'000;
  config.count = 4'000;
  config.commit_log = absl::StrCat(::testing::TempDir(), "/commit_log_test.bin");
  ASSERT_TRUE(feeder::RunFeeder(config, stop_).ok());

  std::ifstream file(config.commit_log, std::ios::binary);
  std::vector<int64_t> commits;
  for (int64_t sent = 0; file.read(reinterpret_cast<char*>(&sent), sizeof sent);) commits.push_back(sent);
  // One stock_prices_pending row per COPY statement, so per transaction.
  const std::string spans = SqlValue(url_, R"sql(
    SELECT string_agg(first_us || ' ' || last_us, ' ' ORDER BY first_us) FROM (
      SELECT (extract(epoch FROM min(s.inserted_at)) * 1000000)::bigint AS first_us,
             (extract(epoch FROM max(s.inserted_at)) * 1000000)::bigint AS last_us
        FROM stock_prices_pending q CROSS JOIN LATERAL unnest(q.ids) AS u(id)
        JOIN stock_prices s ON s.id = u.id
       GROUP BY q.ids[1]) t)sql");
  std::istringstream in(spans);
  std::vector<std::pair<int64_t, int64_t>> transactions;
  for (int64_t first = 0, last = 0; in >> first >> last;) transactions.emplace_back(first, last);

  ASSERT_GT(transactions.size(), 2u);
  ASSERT_EQ(commits.size(), transactions.size());
  for (size_t i = 0; i < commits.size(); ++i) {
    EXPECT_LE(transactions[i].second, commits[i]) << "transaction " << i;
    if (i > 0) {
      EXPECT_GT(transactions[i].first, commits[i - 1]) << "transaction " << i;
    }
  }
}

TEST_F(FeederTest, UnwritableCommitLogIsAClearError) {
  FeederConfig config;
  config.database_url = url_;
  config.count = 1;
  config.commit_log = "/nonexistent/commit.log";
  const absl::Status status = feeder::RunFeeder(config, stop_);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("cannot open --commit_log /nonexistent/commit.log"), std::string::npos)
      << status.message();
}

TEST_F(FeederTest, ReplaysSampleCsv) {
  FeederConfig config;
  config.mode = FeedMode::kReplay;
  config.database_url = url_;
  config.csv_path = STOCKFEED_SAMPLE_CSV;
  config.speed = 100;  // the sample spans 7 s
  ASSERT_TRUE(feeder::RunFeeder(config, stop_).ok());
  EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM stock_prices"), "16");
  EXPECT_EQ(SqlValue(url_, "SELECT price FROM stock_prices WHERE symbol = 'NVDA' AND timestamp = 1717430407"), "1151.73");
  // Inserted in file order.
  EXPECT_EQ(SqlValue(url_, "SELECT string_agg(symbol, ',' ORDER BY id) FROM stock_prices WHERE timestamp = 1717430400"),
            "AAPL,AAPL");
}

TEST_F(FeederTest, BadCsvLineIsReportedWithItsNumber) {
  const std::string path = WriteTempFile("bad.csv",
                                         "symbol,price,source,timestamp\n"
                                         "AAPL,190.5,finnhub,1717430400\n"
                                         "\n"
                                         "MSFT,-3,finnhub,1717430401\n");
  FeederConfig config;
  config.mode = FeedMode::kReplay;
  config.database_url = url_;
  config.csv_path = path;
  const absl::Status status = feeder::RunFeeder(config, stop_);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(absl::StrCat(path, ":4: price '-3'")), absl::string_view::npos)
      << status;
  EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM stock_prices"), "1");  // the good line before it
}

TEST(CsvPrices, ParsesAndRejects) {
  absl::StatusOr<feeder::PriceRow> row = feeder::ParseCsvLine(" ES=F , 5300.25 ,cme, 1717430400");
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(row->symbol, "ES=F");
  EXPECT_EQ(row->price, 5300.25);
  EXPECT_EQ(row->source, "cme");
  EXPECT_EQ(row->timestamp, 1717430400);
  for (const char* bad : {"AAPL,1,src", "AAPL,1,src,1,extra", ",1,src,1", "AAPL,abc,src,1",
                          "AAPL,inf,src,1", "AAPL,0,src,1", "AAPL,1,,1", "AAPL,1,src,1.5",
                          "AAPL,1,Bad Source,1"}) {
    EXPECT_FALSE(feeder::ParseCsvLine(bad).ok()) << bad;
  }
  const std::string path = WriteTempFile("header.csv", "sym,price\nAAPL,1,s,1\n");
  absl::StatusOr<feeder::CsvPriceReader> reader = feeder::CsvPriceReader::Open(path);
  ASSERT_TRUE(reader.ok());
  const auto first = reader->Next();
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find(":1: header"), absl::string_view::npos) << first.status();
}

TEST_F(FeederTest, UnreachableDatabaseIsAClearError) {
  FeederConfig config;
  config.database_url = PostgresEnvironment::cluster().UrlFor("no_such_db");
  config.count = 1;
  const absl::Status status = feeder::RunFeeder(config, stop_);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("database \"no_such_db\" does not exist"), absl::string_view::npos)
      << status;
}

TEST_F(FeederTest, PriceServiceMigrateOnlyExitsZeroTwice) {
  const std::string command =
      absl::StrCat(STOCKFEED_PRICE_SERVICE, " --migrate_only --database_url=", url_, " --log_level=warn");
  EXPECT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM schema_migrations"),
            std::to_string(price_service::EmbeddedMigrations().size()));
  const std::string bad = absl::StrCat(STOCKFEED_PRICE_SERVICE, " --migrate_only --database_url=",
                                       PostgresEnvironment::cluster().UrlFor("nope"), " 2>/dev/null");
  EXPECT_NE(std::system(bad.c_str()), 0);
}

}  // namespace
}  // namespace stockfeed::testing

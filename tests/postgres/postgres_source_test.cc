// price_service --source=postgres against a real PostgreSQL 15: delivery,
// ordering under concurrent and out-of-order commits, connection loss, server
// restart, bad configuration, migrations and replicas.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "feed_client.h"
#include "gtest/gtest.h"
#include "postgres_cluster.h"
#include "server.h"
#include "sources/postgres_migrations.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace stockfeed::testing {
namespace {

using price_service::PriceServer;
using price_service::ServiceConfig;
using price_service::SourceKind;

constexpr int kServing = 1;
constexpr int kNotServing = 2;
constexpr absl::Duration kTimeout = absl::Seconds(30);

// Sends log lines to a string as well as stderr, for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "capture", spdlog::sinks_init_list{std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_),
                                           std::make_shared<spdlog::sinks::stderr_sink_mt>()});
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() {
    spdlog::default_logger()->flush();
    return stream_.str();
  }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

std::unique_ptr<PriceServer> StartServer(const std::string& url, size_t replay_capacity = ServiceConfig().replay_capacity) {
  ServiceConfig config;
  config.replay_capacity = replay_capacity;
  config.source = SourceKind::kPostgres;
  config.database_url = url;
  config.listen = {"127.0.0.1", 0};
  config.admin_listen = {"127.0.0.1", 0};
  config.poll_interval = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<PriceServer>> server = PriceServer::Start(config);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// Inserts rows whose prices are first, first+1, ... (a unique mark per row)
// in one transaction with a multi-row INSERT, like the workshop aggregator.
void InsertMarked(pqxx::connection& conn, int64_t first, int count) {
  std::string sql = "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ";
  for (int i = 0; i < count; ++i) {
    absl::StrAppend(&sql, i ? "," : "", "('SYM", (first + i) % 7, "',", first + i, ",'src",
                    (first + i) % 3, "',", absl::ToUnixSeconds(absl::Now()), ")");
  }
  pqxx::work tx(conn);
  tx.exec(sql);
  tx.commit();
}

// Writes `total` marked rows (marks base+1 .. base+total) in small random
// transactions; survives connection loss and server restarts, checking after
// an error whether the failed transaction committed so every row lands once.
void ResilientWriter(const std::string& url, int64_t base, int total, absl::Duration pause) {
  std::unique_ptr<pqxx::connection> conn;
  int written = 0;
  unsigned seed = static_cast<unsigned>(base);
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (written < total && absl::Now() < give_up) {
    const int count = std::min<int>(total - written, 1 + static_cast<int>(rand_r(&seed) % 20));
    const int64_t first = base + written + 1;
    try {
      if (conn == nullptr) {
        conn = std::make_unique<pqxx::connection>(url);
        pqxx::nontransaction check(*conn);
        // Did the transaction that failed last time commit after all?
        if (check.exec1(absl::StrCat("SELECT count(*) FROM stock_prices WHERE price = ", first))[0]
                .as<int>() > 0) {
          written += static_cast<int>(check.exec1(absl::StrCat(
              "SELECT count(*) FROM stock_prices WHERE price BETWEEN ", first, " AND ",
              base + total))[0].as<int>());
          continue;
        }
      }
      InsertMarked(*conn, first, count);
      written += count;
    } catch (const std::exception&) {
      conn.reset();
      absl::SleepFor(absl::Milliseconds(50));
    }
    if (pause > absl::ZeroDuration()) absl::SleepFor(pause);
  }
  EXPECT_EQ(written, total);
}

// Every update in `updates` (a stream without filters): sequences consecutive
// from `first_sequence`, one epoch, and the price marks are exactly
// `expected_marks`, each once.
void ExpectExactlyOnce(const std::vector<v1::PriceUpdate>& updates, uint64_t first_sequence,
                       std::vector<int64_t> expected_marks) {
  ASSERT_EQ(updates.size(), expected_marks.size());
  std::vector<int64_t> marks;
  for (size_t i = 0; i < updates.size(); ++i) {
    ASSERT_EQ(updates[i].sequence(), first_sequence + i) << "at index " << i;
    ASSERT_EQ(updates[i].epoch(), updates[0].epoch());
    ASSERT_EQ(updates[i].dropped_before(), 0u);
    marks.push_back(static_cast<int64_t>(updates[i].price()));
  }
  std::sort(marks.begin(), marks.end());
  std::sort(expected_marks.begin(), expected_marks.end());
  EXPECT_EQ(marks, expected_marks);
}

std::vector<int64_t> Range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

class PostgresSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    url_ = PostgresEnvironment::cluster().CreateDatabase(name);
  }

  // Starts the server, waits for SERVING, writes mark 1 and subscribes after
  // it, so the collector is certain to see every later row.
  void StartAndSubscribe() {
    server_ = StartServer(url_);
    ASSERT_NE(server_, nullptr);
    channel_ = ChannelTo(server_->port());
    stub_ = v1::PriceFeed::NewStub(channel_);
    ASSERT_TRUE(WaitForHealth(channel_, kServing, kTimeout));
    RunSql(url_, "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('AAPL', 1, 'warmup', 0)");
    const v1::GetLatestResponse latest = WaitForLastSequence(*stub_, 1, kTimeout);
    ASSERT_EQ(latest.last_sequence(), 1u);
    v1::SubscribeRequest request;
    request.set_after_sequence(1);
    request.set_epoch(latest.epoch());
    collector_ = std::make_unique<FeedCollector>(channel_, request);
  }

  // Rows 1..count (marks 1..count) numbered by a service that then stops,
  // as if it had run before the test's own service.
  void SequenceRowsThenStop(int count) {
    auto first = StartServer(url_);
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(WaitForHealth(ChannelTo(first->port()), kServing, kTimeout));
    pqxx::connection conn(url_);
    InsertMarked(conn, 1, count);
    auto stub = v1::PriceFeed::NewStub(ChannelTo(first->port()));
    ASSERT_EQ(WaitForLastSequence(*stub, count, kTimeout).last_sequence(), static_cast<uint64_t>(count));
  }

  std::string url_;
  std::unique_ptr<PriceServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PriceFeed::Stub> stub_;
  std::unique_ptr<FeedCollector> collector_;
};

TEST_F(PostgresSourceTest, PlainSqlInsertReachesSubscriber) {
  StartAndSubscribe();
  const int64_t before_us = absl::ToUnixMicros(absl::Now());
  RunSql(url_, "INSERT INTO stock_prices (symbol, price, source, timestamp) "
               "VALUES ('MSFT', 412.5, 'finnhub', 1700000000)");
  const std::vector<v1::PriceUpdate> got = collector_->WaitFor(1, kTimeout);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].symbol(), "MSFT");
  EXPECT_EQ(got[0].price(), 412.5);
  EXPECT_EQ(got[0].source(), "finnhub");
  EXPECT_EQ(got[0].sequence(), 2u);
  EXPECT_EQ(got[0].epoch().rfind("pg-", 0), 0u) << got[0].epoch();
  EXPECT_EQ(got[0].epoch(), SqlValue(url_, "SELECT epoch FROM feed_state"));
  EXPECT_GE(got[0].event_time_us(), before_us - 1'000'000);
  EXPECT_LE(got[0].event_time_us(), absl::ToUnixMicros(absl::Now()));
  EXPECT_EQ(SqlValue(url_, "SELECT seq FROM stock_prices_sequenced WHERE symbol = 'MSFT'"), "2");
}

// Rows written straight into the table bypass the feeder's checks: the
// service applies the same ones (common/symbols) and skips what fails, so
// markup in a symbol never reaches a client.
TEST_F(PostgresSourceTest, RowsWithInvalidNamesAreSkipped) {
  StartAndSubscribe();
  RunSql(url_, "INSERT INTO stock_prices (symbol, price, source, timestamp) "
               "VALUES ('<img src=x onerror=alert(1)>', 1, 'finnhub', 0)");
  RunSql(url_, "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('AAPL', 2, 'Bad Source', 0)");
  RunSql(url_, "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('MSFT', 3, 'finnhub', 0)");
  const std::vector<v1::PriceUpdate> got = collector_->WaitFor(2, absl::Seconds(3));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].symbol(), "MSFT");
  EXPECT_EQ(got[0].sequence(), 4u) << "the skipped rows keep their numbers: subscribers see a gap";
  v1::GetLatestRequest request;
  v1::GetLatestResponse latest;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->GetLatest(&context, request, &latest).ok());
  for (const v1::PriceUpdate& update : latest.updates()) {
    EXPECT_EQ(update.symbol().find_first_of("<> "), std::string::npos) << update.symbol();
    EXPECT_NE(update.source(), "Bad Source");
  }
}

TEST_F(PostgresSourceTest, ConcurrentWritersArriveExactlyOnceInOrder) {
  StartAndSubscribe();
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 1250;  // 10,000 rows
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([this, w] {
      ResilientWriter(url_, 100 + int64_t{w} * kPerWriter, kPerWriter, absl::ZeroDuration());
    });
  }
  for (std::thread& t : writers) t.join();
  const auto got = collector_->WaitFor(kWriters * kPerWriter, kTimeout);
  ExpectExactlyOnce(got, 2, Range(101, 100 + kWriters * kPerWriter));
  EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM stock_prices WHERE id NOT IN (SELECT id FROM stock_prices_sequenced)"),
            "0");
  EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM stock_prices_pending"), "0");
  EXPECT_EQ(SqlValue(url_, "SELECT last_seq FROM feed_state"), std::to_string(kWriters * kPerWriter + 1));
}

TEST_F(PostgresSourceTest, LateCommitOfLowerIdIsNotLost) {
  StartAndSubscribe();
  pqxx::connection slow_conn(url_);
  pqxx::work slow(slow_conn);
  slow.exec("INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('SLOW', 10, 'late', 0)");
  const int64_t slow_id = slow.exec1("SELECT currval('stock_prices_id_seq')")[0].as<int64_t>();

  pqxx::connection fast_conn(url_);
  InsertMarked(fast_conn, 11, 3);  // higher ids, committed first
  auto got = collector_->WaitFor(3, kTimeout);
  ASSERT_EQ(got.size(), 3u);
  // Several polls pass while the low id is still uncommitted.
  absl::SleepFor(absl::Milliseconds(500));
  slow.commit();

  got = collector_->WaitFor(4, kTimeout);
  ExpectExactlyOnce(got, 2, {10, 11, 12, 13});
  EXPECT_EQ(got.back().symbol(), "SLOW");
  EXPECT_LT(slow_id, std::stoll(SqlValue(url_, "SELECT min(id) FROM stock_prices WHERE price > 10")));
}

// The reader fetches a batch's rows by their id range when the ids are dense:
// a row inside that range numbered in an earlier batch must not come again.
TEST_F(PostgresSourceTest, RowInsideALaterBatchsIdRangeComesOnce) {
  StartAndSubscribe();
  pqxx::connection slow_conn(url_);
  pqxx::work slow(slow_conn);
  slow.exec("INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('LOW', 10, 'x', 0)");
  pqxx::connection fast_conn(url_);
  InsertMarked(fast_conn, 11, 1);  // the id after LOW's, numbered first
  ASSERT_EQ(collector_->WaitFor(1, kTimeout).size(), 1u);
  slow.exec("INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('HIGH', 12, 'x', 0)");
  slow.commit();

  const auto got = collector_->WaitFor(3, kTimeout);
  ExpectExactlyOnce(got, 2, {10, 11, 12});
  EXPECT_EQ(got[0].price(), 11);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(collector_->updates().size(), 3u) << "nothing after";
}

// Ids far apart in one batch (here 100,000 ids skipped in between) are
// fetched by their list, not by the range between them.
TEST_F(PostgresSourceTest, RowsFarApartInIdsAreReadTogether) {
  StartAndSubscribe();
  RunSql(url_,
         "BEGIN;"
         "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('FAR', 10, 'x', 0);"
         "SELECT setval('stock_prices_id_seq', currval('stock_prices_id_seq') + 100000);"
         "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('FAR', 11, 'x', 0);"
         "COMMIT");
  const auto got = collector_->WaitFor(2, kTimeout);
  ExpectExactlyOnce(got, 2, {10, 11});
  EXPECT_EQ(got[0].price(), 10);
  EXPECT_EQ(SqlValue(url_, "SELECT max(id) - min(id) FROM stock_prices WHERE symbol = 'FAR'"), "100001");
}

TEST_F(PostgresSourceTest, ListenerTerminatedMidStreamLosesAndDuplicatesNothing) {
  LogCapture log;
  StartAndSubscribe();
  // ~190 transactions 10 ms apart: the writer takes at least 1.9 s however
  // fast the database is, so all three kills land mid-stream.
  std::thread writer([this] { ResilientWriter(url_, 100, 2000, absl::Milliseconds(10)); });
  for (int i = 0; i < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM pg_terminate_backend((SELECT pid FROM "
                             "pg_stat_activity WHERE application_name = 'stockfeed price_service'))"),
              "1");
    EXPECT_LT(collector_->updates().size(), 2000u) << "the writer finished before the kill";
  }
  writer.join();
  const auto got = collector_->WaitFor(2000, kTimeout);
  ExpectExactlyOnce(got, 2, Range(101, 2100));
  EXPECT_TRUE(WaitForHealth(channel_, kServing, kTimeout));
  EXPECT_NE(log.text().find("connection lost"), std::string::npos);
}

TEST_F(PostgresSourceTest, PostgresRestartMidStreamLosesAndDuplicatesNothing) {
  LogCapture log;
  StartAndSubscribe();
  std::thread writer([this] { ResilientWriter(url_, 100, 3000, absl::Milliseconds(3)); });
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(PostgresEnvironment::cluster().RestartImmediate().ok());
  EXPECT_LT(collector_->updates().size(), 3000u) << "the writer finished before the restart";
  writer.join();
  const auto got = collector_->WaitFor(3000, kTimeout);
  ExpectExactlyOnce(got, 2, Range(101, 3100));
  EXPECT_TRUE(WaitForHealth(channel_, kServing, kTimeout));
  EXPECT_NE(log.text().find("connection lost"), std::string::npos);
}

TEST_F(PostgresSourceTest, BadConnectionStringIsReportedAndRetried) {
  LogCapture log;
  auto server = StartServer("postgresql://postgres@127.0.0.1/stockdb?no_such_option=1");
  ASSERT_NE(server, nullptr);
  auto channel = ChannelTo(server->port());
  absl::SleepFor(absl::Milliseconds(700));
  EXPECT_EQ(HealthStatus(channel, "stockfeed.v1.PriceFeed"), kNotServing);
  const std::string text = log.text();
  EXPECT_NE(text.find("not a valid PostgreSQL connection string"), std::string::npos) << text;
  EXPECT_NE(text.find("retrying in"), std::string::npos) << text;
  EXPECT_NE(text.find("no_such_option"), std::string::npos) << text;
  server->Shutdown();
}

TEST_F(PostgresSourceTest, MissingDatabaseIsReportedThenPickedUpWhenCreated) {
  LogCapture log;
  const std::string url = PostgresEnvironment::cluster().UrlFor("created_later");
  auto server = StartServer(url + "?password=secret123");
  ASSERT_NE(server, nullptr);
  auto channel = ChannelTo(server->port());
  absl::SleepFor(absl::Milliseconds(700));
  EXPECT_EQ(HealthStatus(channel, "stockfeed.v1.PriceFeed"), kNotServing);
  EXPECT_NE(log.text().find("database \"created_later\" does not exist"), std::string::npos)
      << log.text();
  EXPECT_EQ(log.text().find("secret123"), std::string::npos);

  PostgresEnvironment::cluster().CreateDatabase("created_later");
  EXPECT_TRUE(WaitForHealth(channel, kServing, kTimeout));  // backoff is capped at 5 s
  RunSql(url, "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('NVDA', 5, 'x', 0)");
  auto stub = v1::PriceFeed::NewStub(channel);
  EXPECT_EQ(WaitForLastSequence(*stub, 1, kTimeout).last_sequence(), 1u);
}

TEST_F(PostgresSourceTest, StreamsOpenedBeforeTheHistoryLoadGetItAsReplay) {
  const std::string database = SqlValue(url_, "SELECT current_database()");
  ASSERT_NO_FATAL_FAILURE(SequenceRowsThenStop(5));
  // A service waiting for a database that is not there yet, and a client
  // already subscribed to it; then those five sequenced rows appear.
  const std::string later = database + "_later";
  auto server = StartServer(PostgresEnvironment::cluster().UrlFor(later));
  ASSERT_NE(server, nullptr);
  auto channel = ChannelTo(server->port());
  FeedCollector collector(channel, v1::SubscribeRequest());
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_EQ(HealthStatus(channel, "stockfeed.v1.PriceFeed"), kNotServing);
  RunSql(PostgresEnvironment::cluster().UrlFor("postgres"),
         absl::StrCat("ALTER DATABASE ", database, " RENAME TO ", later));
  ASSERT_TRUE(WaitForHealth(channel, kServing, kTimeout));
  RunSql(PostgresEnvironment::cluster().UrlFor(later),
         "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('NVDA', 6, 'x', 0)");

  const std::vector<v1::PriceUpdate> got = collector.WaitFor(6, kTimeout);
  ASSERT_EQ(got.size(), 6u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].sequence(), i + 1);
    EXPECT_EQ(got[i].kind(), v1::UPDATE_KIND_REPLAY) << "seq " << got[i].sequence();
  }
  EXPECT_EQ(got[5].sequence(), 6u);
  EXPECT_EQ(got[5].kind(), v1::UPDATE_KIND_LIVE);
}

TEST_F(PostgresSourceTest, MigrationsAreIdempotentAndSafeConcurrently) {
  std::atomic<int> applied{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([this, &applied] {
      pqxx::connection conn(url_);
      absl::StatusOr<int> n = price_service::ApplyMigrations(conn);
      ASSERT_TRUE(n.ok()) << n.status();
      applied += *n;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(applied, static_cast<int>(price_service::EmbeddedMigrations().size()));
  pqxx::connection conn(url_);
  absl::StatusOr<int> again = price_service::ApplyMigrations(conn);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(SqlValue(url_, "SELECT count(*) FROM schema_migrations"),
            std::to_string(price_service::EmbeddedMigrations().size()));
  // The constraints hold.
  for (const char* bad : {"('', 1, 's', 0)", "('A', 0, 's', 0)", "('A', 'NaN', 's', 0)", "('A', 1, '', 0)"}) {
    pqxx::work tx(conn);
    EXPECT_THROW(tx.exec(absl::StrCat("INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ", bad)),
                 pqxx::check_violation)
        << bad;
  }
}

TEST_F(PostgresSourceTest, WorkshopTableIsUpgradedWithoutReplayingOldRows) {
  RunSql(url_, "CREATE TABLE stock_prices (symbol text, price double precision, source text, timestamp bigint);"
               "INSERT INTO stock_prices VALUES ('AAPL', 190, 'a', 1), ('AAPL', 191, 'a', 2), ('MSFT', 400, 'b', 3)");
  server_ = StartServer(url_);
  channel_ = ChannelTo(server_->port());
  stub_ = v1::PriceFeed::NewStub(channel_);
  ASSERT_TRUE(WaitForHealth(channel_, kServing, kTimeout));
  const v1::GetLatestResponse latest = WaitForLastSequence(*stub_, 3, kTimeout);
  EXPECT_EQ(latest.last_sequence(), 3u);
  ASSERT_EQ(latest.updates_size(), 2);
  EXPECT_EQ(latest.updates(0).price(), 191);
  EXPECT_EQ(latest.updates(1).price(), 400);
}

// A database written by the service before migration 003 (seq a column of
// stock_prices): its numbers stay, a hole left by a deleted row stays a hole,
// rows not numbered yet get the next numbers, and later deletions are gaps
// the reader moves past.
TEST_F(PostgresSourceTest, DatabaseFromBeforeTheBatchTableKeepsItsNumbers) {
  {
    pqxx::connection conn(url_);
    const std::vector<price_service::Migration>& all = price_service::EmbeddedMigrations();
    ASSERT_GE(all.size(), 3u);
    ASSERT_TRUE(price_service::ApplyMigrations(conn, {all[0], all[1]}).ok());
    InsertMarked(conn, 1, 5);
  }
  // What the old sequencer left: rows 1-5 numbered in id order, mark 3
  // deleted later, marks 6 and 7 committed but not numbered yet.
  RunSql(url_, "UPDATE stock_prices SET seq = price::bigint; UPDATE feed_state SET last_seq = 5;"
               "DELETE FROM stock_prices WHERE price = 3");
  {
    pqxx::connection conn(url_);
    InsertMarked(conn, 6, 2);
  }
  server_ = StartServer(url_);
  ASSERT_NE(server_, nullptr);
  channel_ = ChannelTo(server_->port());
  stub_ = v1::PriceFeed::NewStub(channel_);
  ASSERT_TRUE(WaitForHealth(channel_, kServing, kTimeout));
  ASSERT_EQ(WaitForLastSequence(*stub_, 7, kTimeout).last_sequence(), 7u);
  EXPECT_EQ(SqlValue(url_, "SELECT string_agg(seq || ':' || price, ' ' ORDER BY seq) FROM stock_prices_sequenced"),
            "1:1 2:2 4:4 5:5 6:6 7:7");
  v1::SubscribeRequest after_first;
  after_first.set_after_sequence(1);
  FeedCollector collector(channel_, after_first);
  {
    // Holding the sequencer's advisory lock (migration 003) keeps the
    // service's sequencer out, so the row is numbered and deleted in one
    // transaction before the service can read it.
    pqxx::connection conn(url_);
    pqxx::nontransaction(conn).exec("SELECT pg_advisory_lock(495873221489)");
    pqxx::nontransaction(conn).exec("INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('GONE', 8, 'x', 0)");
    pqxx::work tx(conn);
    EXPECT_EQ(tx.exec1("SELECT stock_prices_sequence(5000)")[0].as<int>(), 1);
    tx.exec("DELETE FROM stock_prices WHERE symbol = 'GONE'");
    tx.commit();
    pqxx::nontransaction(conn).exec("SELECT pg_advisory_unlock(495873221489)");
  }
  RunSql(url_, "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('AFTER', 9, 'x', 0)");
  const std::vector<v1::PriceUpdate> got = collector.WaitFor(6, kTimeout);
  std::vector<std::string> seen;
  for (const v1::PriceUpdate& update : got) seen.push_back(absl::StrCat(update.sequence(), ":", update.price()));
  EXPECT_EQ(absl::StrJoin(seen, " "), "2:2 4:4 5:5 6:6 7:7 9:9") << "seq 3 and 8 are deleted rows";
}

// After a restart, GetLatest knows the pairs whose last row is older than the
// replay window too: their latest row by seq, not by id (here a row with a
// lower id committed last).
TEST_F(PostgresSourceTest, RestartLoadsTheLatestRowOfPairsOlderThanTheReplayWindow) {
  constexpr size_t kWindow = 16;  // the smallest --replay_capacity
  {
    auto first = StartServer(url_);
    ASSERT_NE(first, nullptr);
    auto stub = v1::PriceFeed::NewStub(ChannelTo(first->port()));
    ASSERT_TRUE(WaitForHealth(ChannelTo(first->port()), kServing, kTimeout));
    pqxx::connection late_conn(url_);
    pqxx::work late(late_conn);
    late.exec("INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('OLD', 2, 'x', 0)");
    RunSql(url_, "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('OLD', 1, 'x', 0)");
    ASSERT_EQ(WaitForLastSequence(*stub, 1, kTimeout).last_sequence(), 1u);
    late.commit();
    ASSERT_EQ(WaitForLastSequence(*stub, 2, kTimeout).last_sequence(), 2u);
    pqxx::connection conn(url_);
    InsertMarked(conn, 100, 2 * kWindow);
    ASSERT_EQ(WaitForLastSequence(*stub, 2 + 2 * kWindow, kTimeout).last_sequence(), 2 + 2 * kWindow);
  }
  auto second = StartServer(url_, kWindow);
  ASSERT_NE(second, nullptr);
  auto channel = ChannelTo(second->port());
  ASSERT_TRUE(WaitForHealth(channel, kServing, kTimeout));
  auto stub = v1::PriceFeed::NewStub(channel);
  v1::GetLatestRequest request;
  request.add_symbols("OLD");
  v1::GetLatestResponse latest;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->GetLatest(&context, request, &latest).ok());
  ASSERT_EQ(latest.updates_size(), 1);
  EXPECT_EQ(latest.updates(0).price(), 2) << "the row committed last, though its id is lower";
  EXPECT_EQ(latest.updates(0).sequence(), 2u);
}

TEST_F(PostgresSourceTest, RestartedServiceResumesAndReplicasAgree) {
  ASSERT_NO_FATAL_FAILURE(SequenceRowsThenStop(50));
  // Two replicas on the same database, started after the first one stopped.
  auto a = StartServer(url_);
  auto b = StartServer(url_);
  ASSERT_TRUE(a && b);
  auto channel_a = ChannelTo(a->port());
  auto channel_b = ChannelTo(b->port());
  ASSERT_TRUE(WaitForHealth(channel_a, kServing, kTimeout));
  ASSERT_TRUE(WaitForHealth(channel_b, kServing, kTimeout));
  // A client that saw seq 40 before the restart resumes without a gap.
  v1::SubscribeRequest resume;
  resume.set_after_sequence(40);
  resume.set_epoch(SqlValue(url_, "SELECT epoch FROM feed_state"));
  FeedCollector from_a(channel_a, resume);
  FeedCollector from_b(channel_b, resume);
  std::thread w1([this] { ResilientWriter(url_, 1000, 500, absl::ZeroDuration()); });
  std::thread w2([this] { ResilientWriter(url_, 2000, 500, absl::ZeroDuration()); });
  w1.join();
  w2.join();
  auto got_a = from_a.WaitFor(1010, kTimeout);
  auto got_b = from_b.WaitFor(1010, kTimeout);
  std::vector<int64_t> expected = Range(41, 50);
  for (int64_t m : Range(1001, 1500)) expected.push_back(m);
  for (int64_t m : Range(2001, 2500)) expected.push_back(m);
  ExpectExactlyOnce(got_a, 41, expected);
  ExpectExactlyOnce(got_b, 41, expected);
  ASSERT_EQ(got_a.size(), got_b.size());
  for (size_t i = 0; i < got_a.size(); ++i) {
    ASSERT_EQ(got_a[i].price(), got_b[i].price()) << "seq " << got_a[i].sequence();
    ASSERT_EQ(got_a[i].epoch(), got_b[i].epoch());
  }
  EXPECT_EQ(got_a[0].kind(), v1::UPDATE_KIND_REPLAY);
}

}  // namespace
}  // namespace stockfeed::testing

// The whole PostgreSQL pipeline with the real binaries: a row inserted with
// plain SQL reaches a WebSocket client of ws_gateway, through price_service
// --source=postgres and its gRPC stream.
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "gtest/gtest.h"
#include "postgres_cluster.h"
#include "support/process.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

TEST(PostgresPipelineTest, PlainSqlInsertReachesAWebSocketClient) {
  const std::string url = PostgresEnvironment::cluster().CreateDatabase("pipeline");
  const std::string dir = TestOutputDir();
  const int service_port = FreePort();
  const int gateway_port = FreePort();
  ChildProcess service(STOCKFEED_PRICE_SERVICE_PATH,
                       {"--source=postgres", "--database_url=" + url,
                        "--listen=127.0.0.1:" + std::to_string(service_port), "--admin_listen=127.0.0.1:0"},
                       dir + "/price_service.log");
  ChildProcess gateway(STOCKFEED_WS_GATEWAY_PATH,
                       {"--listen=127.0.0.1:" + std::to_string(gateway_port),
                        "--upstream=127.0.0.1:" + std::to_string(service_port),
                        "--web_root=" STOCKFEED_WEB_ROOT},
                       dir + "/ws_gateway.log");
  ASSERT_TRUE(Eventually([&] { return WaitForPort(gateway_port, seconds(1)) &&
                                      HttpGet(gateway_port, "/readyz").status == 200; },
                         seconds(30)))
      << service.Log() << gateway.Log();

  // The gateway is ready once its gRPC stream is up, which can be before
  // price_service has migrated the new database.
  ASSERT_TRUE(Eventually([&] { return SqlValue(url, "SELECT to_regclass('stock_prices') IS NOT NULL") == "t"; },
                         seconds(30)))
      << service.Log();
  WsClient client(gateway_port, "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("snapshot"));
  RunSql(url, "INSERT INTO stock_prices (symbol, price, source, timestamp) "
              "VALUES ('PGTEST', 123.45, 'sql_test', 1764091234)");

  std::optional<json::object> price = client.ReadUntilType("price", seconds(10));
  ASSERT_TRUE(price) << service.Log() << gateway.Log();
  EXPECT_EQ(price->at("symbol"), "PGTEST");
  EXPECT_EQ(price->at("source"), "sql_test");
  EXPECT_EQ(price->at("price").to_number<double>(), 123.45);
  EXPECT_GT(price->at("seq").to_number<uint64_t>(), 0u);
  EXPECT_GT(price->at("event_time_us").to_number<int64_t>(), 0);
}

// The same pipeline while PostgreSQL fails under it: price_service's
// connection killed (pg_terminate_backend), then the server restarted. A
// WebSocket client at the far end gets every row exactly once, in order.
TEST(PostgresPipelineTest, KilledConnectionAndRestartLoseAndDuplicateNothingForAWebSocketClient) {
  const std::string url = PostgresEnvironment::cluster().CreateDatabase("pipeline_faults");
  const std::string dir = TestOutputDir();
  const int service_port = FreePort();
  const int gateway_port = FreePort();
  ChildProcess service(STOCKFEED_PRICE_SERVICE_PATH,
                       {"--source=postgres", "--database_url=" + url, "--poll_interval=200ms",
                        "--listen=127.0.0.1:" + std::to_string(service_port), "--admin_listen=127.0.0.1:0"},
                       dir + "/price_service.log");
  ChildProcess gateway(STOCKFEED_WS_GATEWAY_PATH,
                       {"--listen=127.0.0.1:" + std::to_string(gateway_port),
                        "--upstream=127.0.0.1:" + std::to_string(service_port), "--web_root=" STOCKFEED_WEB_ROOT},
                       dir + "/ws_gateway.log");
  ASSERT_TRUE(Eventually([&] { return WaitForPort(gateway_port, seconds(1)) &&
                                      HttpGet(gateway_port, "/readyz").status == 200; },
                         seconds(30)))
      << service.Log() << gateway.Log();
  ASSERT_TRUE(Eventually([&] { return SqlValue(url, "SELECT to_regclass('stock_prices') IS NOT NULL") == "t"; },
                         seconds(30)))
      << service.Log();
  WsClient client(gateway_port, "/ws?protocol=v1&symbols=PGFAULT&batch=1");
  ASSERT_TRUE(client.ReadUntilType("snapshot"));

  // Reads until the client has `count` marks (each price's value is its mark).
  std::vector<int> marks;
  const auto read_up_to = [&](size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(60);
    while (marks.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::optional<json::value> frame = client.ReadJson(seconds(30));
      if (!frame) return;
      const json::array items = frame->is_array() ? frame->as_array() : json::array{*frame};
      for (const json::value& item : items) {
        if (IsType(item, "price") && !item.as_object().contains("snapshot")) {
          marks.push_back(static_cast<int>(item.as_object().at("price").to_number<double>()));
        }
      }
    }
  };

  constexpr int kChunks = 10, kPerChunk = 20;
  for (int chunk = 0; chunk < kChunks; ++chunk) {
    // Each fault hits a service that is streaming: everything before it arrived.
    if (chunk == 3 || chunk == 6) {
      read_up_to(static_cast<size_t>(chunk * kPerChunk));
      ASSERT_EQ(marks.size(), static_cast<size_t>(chunk * kPerChunk)) << service.Log() << gateway.Log();
    }
    if (chunk == 3) {
      EXPECT_EQ(SqlValue(url, "SELECT count(*) > 0 FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE application_name = 'stockfeed price_service') killed"),
                "t");
    }
    if (chunk == 6) {
      ASSERT_TRUE(PostgresEnvironment::cluster().RestartImmediate().ok());
    }
    // The writer's own statement is retried until it lands (PostgreSQL may
    // still be starting); each is one transaction, so it lands once.
    const int first = chunk * kPerChunk + 1;
    ASSERT_TRUE(Eventually([&] {
      try {
        RunSql(url, "INSERT INTO stock_prices (symbol, price, source, timestamp) SELECT 'PGFAULT', m, 'fault_test', 0 "
                    "FROM generate_series(" + std::to_string(first) + ", " + std::to_string(first + kPerChunk - 1) +
                    ") m");
        return true;
      } catch (const std::exception&) {
        return false;
      }
    }, seconds(30)));
  }
  read_up_to(static_cast<size_t>(kChunks * kPerChunk));
  ASSERT_EQ(marks.size(), static_cast<size_t>(kChunks * kPerChunk)) << service.Log() << gateway.Log();
  for (int i = 0; i < kChunks * kPerChunk; ++i) ASSERT_EQ(marks[i], i + 1) << "lost, duplicated or reordered at " << i;
  // Both faults really hit price_service.
  const std::string log = service.Log();
  size_t lost = 0;
  for (size_t at = log.find("connection lost"); at != std::string::npos; at = log.find("connection lost", at + 1)) ++lost;
  EXPECT_GE(lost, 2u) << log;
}

}  // namespace
}  // namespace stockfeed::testing

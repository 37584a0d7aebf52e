// The whole PostgreSQL pipeline with the real binaries: a row inserted with
// plain SQL reaches a WebSocket client of ws_gateway, through price_service
// --source=postgres and its gRPC stream.
#include <string>

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

}  // namespace
}  // namespace stockfeed::testing

// price_service's health tells the truth about its database: /readyz, the
// gRPC health and GetLatest while PostgreSQL refuses connections, and after.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "feed_client.h"
#include "gtest/gtest.h"
#include "postgres_cluster.h"
#include "support/metrics_text.h"
#include "support/process.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

double Metric(int admin_port, const std::string& series) {
  return ParseMetricsText(HttpGet(admin_port, "/metrics").body).Get(series).value_or(-1);
}

TEST(PriceServiceDatabaseHealthTest, ReadyzAndGetLatestFollowTheDatabase) {
  const std::string url = PostgresEnvironment::cluster().CreateDatabase("admin_health");
  const std::string admin_url = PostgresEnvironment::cluster().UrlFor("postgres");
  const int grpc_port = FreePort();
  const int admin_port = FreePort();
  ChildProcess service(STOCKFEED_PRICE_SERVICE_PATH,
                       {"--source=postgres", "--database_url=" + url, "--poll_interval=200ms",
                        "--listen=127.0.0.1:" + std::to_string(grpc_port),
                        "--admin_listen=127.0.0.1:" + std::to_string(admin_port)},
                       TestOutputDir() + "/price_service.log");
  ASSERT_TRUE(WaitForPort(admin_port, seconds(10))) << service.Log();
  ASSERT_TRUE(Eventually([&] { return HttpGet(admin_port, "/readyz").status == 200; }, seconds(30))) << service.Log();
  EXPECT_EQ(Metric(admin_port, "price_service_postgres_connected"), 1);

  const std::shared_ptr<grpc::Channel> channel = ChannelTo(grpc_port);
  std::unique_ptr<v1::PriceFeed::Stub> stub = v1::PriceFeed::NewStub(channel);
  RunSql(url, "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('HLTH', 10.5, 'sql', 1764091234)");
  WaitForLastSequence(*stub, 1, absl::Seconds(10));
  EXPECT_GE(Metric(admin_port, "price_service_postgres_rows_read_total"), 1);
  EXPECT_GE(Metric(admin_port, "price_service_postgres_lag_seconds_count"), 1);
  EXPECT_GE(Metric(admin_port, "price_service_postgres_notifications_total") +
                Metric(admin_port, "price_service_postgres_safety_polls_total"),
            1);
  // One wake-up per writer's statement; our own sequencer's notification
  // (one per step that numbered rows) is not one.
  absl::SleepFor(absl::Milliseconds(300));  // the first row's wake-up counted
  const double notified = Metric(admin_port, "price_service_postgres_notifications_total");
  for (int i = 0; i < 3; ++i) {
    RunSql(url, "INSERT INTO stock_prices (symbol, price, source, timestamp) VALUES ('HLTH', 11, 'sql', 1764091234)");
  }
  WaitForLastSequence(*stub, 4, absl::Seconds(10));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Metric(admin_port, "price_service_postgres_notifications_total") - notified, 3);

  // The database goes away: no new connection is allowed and ours is cut.
  RunSql(admin_url, "ALTER DATABASE admin_health ALLOW_CONNECTIONS false");
  RunSql(admin_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'admin_health'");
  ASSERT_TRUE(Eventually([&] { return HttpGet(admin_port, "/readyz").status == 503; }, seconds(15))) << service.Log();
  EXPECT_EQ(HealthStatus(channel, "stockfeed.v1.PriceFeed"), 2);  // NOT_SERVING, same as /readyz
  EXPECT_EQ(HttpGet(admin_port, "/healthz").status, 200);         // the process itself is fine
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + seconds(5));
    v1::GetLatestResponse response;
    const grpc::Status status = stub->GetLatest(&context, v1::GetLatestRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }
  EXPECT_EQ(Metric(admin_port, "price_service_postgres_connected"), 0);
  EXPECT_GE(Metric(admin_port, "price_service_postgres_reconnects_total"), 1);
  EXPECT_EQ(Metric(admin_port, "price_service_serving"), 0);

  // Back: ready again, and GetLatest answers with the row.
  RunSql(admin_url, "ALTER DATABASE admin_health ALLOW_CONNECTIONS true");
  ASSERT_TRUE(Eventually([&] { return HttpGet(admin_port, "/readyz").status == 200; }, seconds(30))) << service.Log();
  EXPECT_EQ(HealthStatus(channel, "stockfeed.v1.PriceFeed"), 1);
  grpc::ClientContext context;
  v1::GetLatestResponse response;
  ASSERT_TRUE(stub->GetLatest(&context, v1::GetLatestRequest(), &response).ok());
  ASSERT_EQ(response.updates_size(), 1);
  EXPECT_EQ(response.updates(0).symbol(), "HLTH");
  EXPECT_EQ(Metric(admin_port, "price_service_postgres_connected"), 1);
}

}  // namespace
}  // namespace stockfeed::testing

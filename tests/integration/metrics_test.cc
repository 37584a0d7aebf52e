// GET /metrics of the real ws_gateway and price_service's admin port: the
// Prometheus text format, and numbers that follow what clients do.
#include <gtest/gtest.h>

#include "support/metrics_text.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

MetricsText Scrape(int port) {
  const HttpResult result = HttpGet(port, "/metrics");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.content_type, "text/plain; version=0.0.4; charset=utf-8");
  MetricsText metrics = ParseMetricsText(result.body);
  EXPECT_EQ(metrics.error, "") << "malformed exposition line";
  return metrics;
}

double Value(const MetricsText& metrics, const std::string& series) {
  const std::optional<double> value = metrics.Get(series);
  EXPECT_TRUE(value) << series << " missing";
  return value.value_or(-1);
}

// Both processes at 200 updates/s, the gateway streaming.
class RunningSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Eventually([this] { return HttpGet(system_.gateway_port(), "/readyz").status == 200; }, seconds(15)))
        << system_.gateway().Log();
  }
  System system_{System::Options{.rate = 200}};
};
using GatewayMetricsTest = RunningSystemTest;
using PriceServiceAdminTest = RunningSystemTest;

TEST_F(GatewayMetricsTest, CountsDeliveriesConnectionsAndControlMessagesOfRealClients) {
  {
    WsClient client(system_.gateway_port(), "/?protocol=v1");
    ASSERT_TRUE(client.ReadUntilType("connected"));
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(client.ReadUntilType("price")) << "no live price";
    client.Send(R"({"type":"ping"})");
    ASSERT_TRUE(client.ReadUntilType("pong"));
    client.Send("not json");
    ASSERT_TRUE(client.ReadUntilType("error"));
    client.Send(R"({"type":"subscribe","symbols":["AAPL"]})");
    ASSERT_TRUE(client.ReadUntilType("subscribed"));

    const MetricsText during = Scrape(system_.gateway_port());
    EXPECT_EQ(Value(during, "ws_gateway_connections_active"), 1);
    EXPECT_EQ(Value(during, "ws_gateway_shard_clients{shard=\"0\"}") +
                  Value(during, "ws_gateway_shard_clients{shard=\"1\"}"),
              1);
    EXPECT_EQ(Value(during, "ws_gateway_connections_accepted_total"), 1);
    EXPECT_GE(Value(during, "ws_gateway_messages_sent_total"), 50);
    EXPECT_GT(Value(during, "ws_gateway_bytes_sent_total"), 50 * 60);
    EXPECT_GE(Value(during, "ws_gateway_socket_writes_total"), 1);
    EXPECT_EQ(Value(during, "ws_gateway_control_messages_total{type=\"ping\"}"), 1);
    EXPECT_EQ(Value(during, "ws_gateway_control_messages_total{type=\"invalid\"}"), 1);
    EXPECT_EQ(Value(during, "ws_gateway_control_messages_total{type=\"subscribe\"}"), 1);
    EXPECT_EQ(Value(during, "ws_gateway_control_errors_total{code=\"invalid_json\"}"), 1);
    EXPECT_EQ(Value(during, "ws_gateway_upstream_state{state=\"connected\"}"), 1);
    EXPECT_EQ(Value(during, "ws_gateway_upstream_state{state=\"reconnecting\"}"), 0);
    EXPECT_GE(Value(during, "ws_gateway_upstream_updates_total"), 50);
    EXPECT_EQ(Value(during, "ws_gateway_upstream_epoch_changes_total"), 1);
    EXPECT_GT(Value(during, "ws_gateway_upstream_last_sequence"), 0);

    // Live deliveries are timed from the price's event time; on loopback the
    // median is far below a second even on a loaded machine.
    EXPECT_GE(Value(during, "ws_gateway_delivery_latency_seconds_count"), 1);
    const std::optional<double> median = during.Quantile("ws_gateway_delivery_latency_seconds", 0.5);
    ASSERT_TRUE(median);
    EXPECT_GT(*median, 0);
    EXPECT_LT(*median, 1.0);
    EXPECT_GE(Value(during, "ws_gateway_prices_per_write_count"), 1);
    EXPECT_GE(Value(during, "ws_gateway_fanout_pass_duration_seconds_count"), 1);
    EXPECT_EQ(during.types.at("ws_gateway_delivery_latency_seconds"), "histogram");
    EXPECT_EQ(during.types.at("ws_gateway_messages_sent_total"), "counter");
    EXPECT_GT(Value(during, "process_resident_memory_bytes"), 1e6);
    EXPECT_GT(Value(during, "process_open_fds"), 3);
    EXPECT_GE(Value(during, "process_threads"), 3);
    // Bounded labels: nothing names a client, its address or its connection.
    for (const auto& [series, value] : during.samples) {
      EXPECT_EQ(series.find("127.0.0.1"), std::string::npos) << series;
      EXPECT_EQ(series.find("conn="), std::string::npos) << series;
      EXPECT_EQ(series.find("peer"), std::string::npos) << series;
    }
  }
  // The client went away: it counts as closed by the client.
  EXPECT_TRUE(Eventually([this] {
    const MetricsText after = ParseMetricsText(HttpGet(system_.gateway_port(), "/metrics").body);
    return after.Get("ws_gateway_connections_active") == 0.0 &&
           after.Get("ws_gateway_connections_closed_total{reason=\"client\"}") == 1.0;
  }, seconds(5)));
}

TEST_F(GatewayMetricsTest, RejectionsAndServerClosesCountByReasonAndCode) {
  EXPECT_THROW(WsClient(system_.gateway_port(), "/nope"), std::exception);
  EXPECT_THROW(WsClient(system_.gateway_port(), "/?protocol=v9"), std::exception);
  WsClient binary(system_.gateway_port());
  ASSERT_TRUE(binary.ReadUntilType("connected"));
  binary.SendBinary("x");
  EXPECT_TRUE(Eventually([&] {
    binary.Read(std::chrono::milliseconds(50));
    return binary.closed();
  }, seconds(5)));
  EXPECT_TRUE(Eventually([this] {
    const MetricsText m = ParseMetricsText(HttpGet(system_.gateway_port(), "/metrics").body);
    return m.Get("ws_gateway_connections_rejected_total{reason=\"not_found\"}") == 1.0 &&
           m.Get("ws_gateway_connections_rejected_total{reason=\"bad_request\"}") == 1.0 &&
           m.Get("ws_gateway_close_frames_sent_total{code=\"1003\"}") == 1.0 &&
           m.Get("ws_gateway_connections_closed_total{reason=\"binary_frame\"}") == 1.0;
  }, seconds(5))) << HttpGet(system_.gateway_port(), "/metrics").body;
}

TEST_F(GatewayMetricsTest, UpstreamLossShowsInStateAndReconnectCounter) {
  system_.KillService();
  EXPECT_TRUE(Eventually([this] {
    const MetricsText m = ParseMetricsText(HttpGet(system_.gateway_port(), "/metrics").body);
    return m.Get("ws_gateway_upstream_state{state=\"reconnecting\"}") == 1.0 &&
           m.Get("ws_gateway_upstream_reconnects_total").value_or(0) >= 1;
  }, seconds(10)));
  system_.StartService();
  // How fast the gateway is back is the upstream tests' business; this one
  // only needs it back, so the deadline is generous for a loaded machine.
  EXPECT_TRUE(Eventually([this] {
    const MetricsText m = ParseMetricsText(HttpGet(system_.gateway_port(), "/metrics").body);
    return m.Get("ws_gateway_upstream_state{state=\"connected\"}") == 1.0 &&
           m.Get("ws_gateway_upstream_epoch_changes_total") == 2.0;
  }, seconds(40)));
}


TEST_F(PriceServiceAdminTest, ServesHealthReadinessAndMetricsOfTheHubAndStreams) {
  const int admin = system_.service_admin_port();
  EXPECT_EQ(HttpGet(admin, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(admin, "/readyz").status, 200);  // the simulator always serves
  EXPECT_EQ(HttpGet(admin, "/nope").status, 404);

  // The gateway is one subscriber; what it was sent shows on both sides.
  ASSERT_TRUE(Eventually([&] {
    return ParseMetricsText(HttpGet(admin, "/metrics").body).Get("price_service_updates_sent_total").value_or(0) >= 50;
  }, seconds(10)));
  const MetricsText m = Scrape(admin);
  EXPECT_EQ(Value(m, "price_service_subscribers"), 1);
  EXPECT_EQ(Value(m, "price_service_serving"), 1);
  EXPECT_GE(Value(m, "price_service_updates_published_total"), Value(m, "price_service_updates_sent_total"));
  EXPECT_GT(Value(m, "price_service_replay_buffer_updates"), 0);
  EXPECT_EQ(Value(m, "price_service_replay_buffer_capacity_updates"), 65536);
  EXPECT_GE(Value(m, "price_service_stream_lag_updates_count"), 1);
  EXPECT_EQ(Value(m, "price_service_dropped_updates_announced_total"), 0);
  EXPECT_EQ(m.types.at("price_service_stream_lag_updates"), "histogram");
  EXPECT_GT(Value(m, "process_start_time_seconds"), 1.6e9);
  EXPECT_GT(Value(m, "process_cpu_seconds_total"), 0);
  // No series per stream or per client.
  for (const auto& [series, value] : m.samples) {
    EXPECT_EQ(series.find("peer"), std::string::npos) << series;
  }
}

TEST_F(PriceServiceAdminTest, ABusyAdminPortIsAStartupError) {
  ChildProcess second(Binaries::PriceService(),
                      {"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:" + std::to_string(system_.service_admin_port())},
                      TestOutputDir() + "/second.log");
  EXPECT_EQ(second.Wait(seconds(10)), 1) << second.Log();
  EXPECT_NE(second.Log().find("--admin_listen: cannot listen on 127.0.0.1:"), std::string::npos) << second.Log();
}

TEST(PriceServiceAdminPortZero, BindsAFreePortAndLogsIt) {
  ChildProcess service(Binaries::PriceService(), {"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"},
                       TestOutputDir() + "/price_service.log");
  const std::string marker = "/metrics, /healthz, /readyz) on http://127.0.0.1:";
  ASSERT_TRUE(Eventually([&] { return service.Log().find(marker) != std::string::npos; }, seconds(10)))
      << service.Log();
  const std::string log = service.Log();
  const int port = std::stoi(log.substr(log.find(marker) + marker.size()));
  EXPECT_GT(port, 0);
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
}

}  // namespace
}  // namespace stockfeed::testing

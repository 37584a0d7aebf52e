// ws_gateway end to end: the real price_service and ws_gateway binaries on
// free ports, talked to over real sockets.
#include <signal.h>

#include <set>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;


bool WaitUntilReady(int port) {
  return Eventually([port] { return HttpGet(port, "/readyz").status == 200; }, seconds(15));
}

void ExpectPriceShape(const json::object& price) {
  EXPECT_EQ(price.at("type"), "price");
  EXPECT_TRUE(price.at("symbol").is_string());
  EXPECT_TRUE(price.at("source").is_string());
  EXPECT_GT(price.at("price").to_number<double>(), 0.0);
  EXPECT_TRUE(price.at("timestamp").is_int64());
  EXPECT_TRUE(price.at("seq").is_int64() || price.at("seq").is_uint64());
  const int64_t event_time_us = price.at("event_time_us").as_int64();
  EXPECT_EQ(price.at("timestamp").as_int64(), event_time_us / 1'000'000);
}


class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(WaitUntilReady(system_.gateway_port())) << system_.gateway().Log(); }
  System system_;
};

TEST_F(GatewayTest, WorkshopClientGetsWelcomeSnapshotAndLivePricesWithIncreasingSeq) {
  // Come after many live prices, so most latest values are live ones, whose
  // seqs skip: unmarked, they would look like gaps in the live stream.
  ASSERT_TRUE(Eventually([this] {
    const HttpResult stats = HttpGet(system_.gateway_port(), "/stats");
    return stats.status == 200 && json::parse(stats.body).at("seq").to_number<uint64_t>() >= 100;
  }, seconds(15)));
  WsClient client(system_.gateway_port(), "/");
  std::optional<json::value> welcome = client.ReadJson();
  ASSERT_TRUE(welcome);
  EXPECT_TRUE(IsType(*welcome, "connected"));
  EXPECT_EQ(welcome->as_object().at("message"), "Connected to stock price feed");

  // Snapshot prices (marked) come first, then live ones with increasing seq.
  int snapshot = 0, live = 0;
  uint64_t last_live_seq = 0;
  while (live < 20) {
    std::optional<json::value> message = client.ReadJson();
    ASSERT_TRUE(message) << "no price within 5 s";
    ASSERT_TRUE(IsType(*message, "price")) << json::serialize(*message);
    const json::object& price = message->as_object();
    ExpectPriceShape(price);
    if (price.contains("snapshot")) {
      EXPECT_EQ(live, 0) << "snapshot prices must precede live ones";
      ++snapshot;
      continue;
    }
    if (live > 0) {
      EXPECT_EQ(Seq(price), last_live_seq + 1) << "gap or reorder in the live stream";
    }
    last_live_seq = Seq(price);
    ++live;
  }
  EXPECT_GT(snapshot, 0) << "a new client must get the latest prices first";
}

TEST_F(GatewayTest, StatsReportThreeActiveConnectionsWhileThreeClientsAreConnected) {
  WsClient a(system_.gateway_port()), b(system_.gateway_port(), "/ws"), c(system_.gateway_port());
  for (WsClient* client : {&a, &b, &c}) ASSERT_TRUE(client->ReadUntilType("connected"));

  a.Send(R"({"type":"stats"})");
  std::optional<json::object> stats = a.ReadUntilType("stats");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->at("active_connections").to_number<int>(), 3);
  EXPECT_GE(stats->at("total_connections").to_number<int>(), 3);
  EXPECT_GT(stats->at("messages_sent").to_number<int>(), 0);
  EXPECT_EQ(stats->at("upstream"), "connected");
  EXPECT_TRUE(stats->contains("uptime_seconds"));

  // The workshop's plain-text form.
  b.Send("/stats");
  bool found = false;
  for (int i = 0; i < 200 && !found; ++i) {
    std::optional<std::string> text = b.Read();
    ASSERT_TRUE(text);
    found = text->rfind("Active connections: 3,", 0) == 0;
  }
  EXPECT_TRUE(found);

  c.Close();
  EXPECT_TRUE(Eventually([&] { return HttpGet(system_.gateway_port(), "/stats").body.find("\"active_connections\":2") != std::string::npos; }, seconds(5)));
}

TEST_F(GatewayTest, ControlMessagesAnswerAndErrorsKeepTheConnectionOpen) {
  WsClient client(system_.gateway_port(), "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("connected"));

  client.Send(R"({"type":"ping","id":"42"})");
  std::optional<json::object> pong = client.ReadUntilType("pong");
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->at("id"), "42");

  const std::pair<const char*, const char*> bad_inputs[] = {
      {"{not json", "invalid_json"},
      {R"({"type":"teleport"})", "unknown_type"},
      {R"([1,2,3])", "invalid_message"},
      {R"({"type":"subscribe","symbols":"AAPL"})", "invalid_message"},
      {R"({"type":"subscribe","symbols":["bad symbol!"]})", "invalid_symbol"},
  };
  for (const auto& [input, code] : bad_inputs) {
    client.Send(input);
    std::optional<json::object> error = client.ReadUntilType("error");
    ASSERT_TRUE(error) << input;
    EXPECT_EQ(error->at("code"), code) << input;
    EXPECT_FALSE(error->at("message").as_string().empty());
  }
  client.Send(R"({"type":"ping"})");
  EXPECT_TRUE(client.ReadUntilType("pong")) << "the connection must survive bad input";
}

TEST_F(GatewayTest, BinaryFramesCloseWith1003AndOversizedMessagesWith1009) {
  WsClient binary(system_.gateway_port());
  ASSERT_TRUE(binary.ReadUntilType("connected"));
  binary.SendBinary(std::string("\x01\x02", 2));
  while (binary.Read(seconds(5))) {
  }
  EXPECT_EQ(binary.close_code(), 1003);

  WsClient huge(system_.gateway_port());
  ASSERT_TRUE(huge.ReadUntilType("connected"));
  huge.Send(std::string(5000, 'x'));
  while (huge.Read(seconds(5))) {
  }
  EXPECT_EQ(huge.close_code(), 1009);
}

TEST_F(GatewayTest, SubscribeNarrowsTheStreamToTheChosenSymbols) {
  WsClient client(system_.gateway_port(), "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("connected"));
  client.Send(R"({"type":"subscribe","symbols":["MSFT"]})");
  std::optional<json::object> ack = client.ReadUntilType("subscribed");
  ASSERT_TRUE(ack);
  EXPECT_EQ(json::serialize(ack->at("symbols")), R"(["MSFT"])");
  int prices = 0;
  while (prices < 10) {
    std::optional<json::value> message = client.ReadJson();
    ASSERT_TRUE(message);
    if (!IsType(*message, "price")) continue;
    EXPECT_EQ(message->as_object().at("symbol"), "MSFT");
    ++prices;
  }
}

TEST_F(GatewayTest, ReconnectingWithTheLastSeqResumesWithoutGapOrDuplicate) {
  std::string epoch;
  uint64_t last_seq = 0;
  {
    WsClient client(system_.gateway_port(), "/ws?protocol=v1");
    std::optional<json::object> welcome = client.ReadUntilType("connected");
    ASSERT_TRUE(welcome);
    epoch = std::string(welcome->at("epoch").as_string());
    // Resume from a live price. A client that came just after the gateway
    // subscribed may first get the service's snapshot as prices marked
    // "snapshot" (by symbol, not in seq order), and one that came before the
    // feed's first update learns the epoch from an epoch message.
    const auto live_price = [](const json::value& message) {
      return IsType(message, "price") && !message.as_object().contains("snapshot");
    };
    std::optional<json::value> message;
    while ((message = client.ReadJson()) && !live_price(*message)) {
      if (IsType(*message, "epoch")) epoch = std::string(message->as_object().at("epoch").as_string());
    }
    ASSERT_TRUE(message);
    last_seq = Seq(message->as_object());
  }
  std::this_thread::sleep_for(milliseconds(300));  // updates flow meanwhile
  WsClient client(system_.gateway_port(),
                  "/ws?protocol=v1&after_seq=" + std::to_string(last_seq) + "&epoch=" + epoch);
  std::optional<json::object> resumed = client.ReadUntilType("resumed");
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->at("from_seq").to_number<uint64_t>(), last_seq + 1);
  for (uint64_t expected = last_seq + 1; expected < last_seq + 20; ++expected) {
    std::optional<json::object> price = client.ReadUntilType("price");
    ASSERT_TRUE(price);
    EXPECT_EQ(Seq(*price), expected);
  }

  WsClient stale(system_.gateway_port(), "/ws?protocol=v1&after_seq=5&epoch=some-other-epoch");
  std::optional<json::object> resync = stale.ReadUntilType("resync");
  ASSERT_TRUE(resync);
  EXPECT_TRUE(stale.ReadUntilType("snapshot"));
}

TEST_F(GatewayTest, KillingThePriceServiceReportsTheFeedDownAndRecoversByItself) {
  WsClient rich(system_.gateway_port(), "/ws?protocol=v1");
  ASSERT_TRUE(rich.ReadUntilType("price"));
  WsClient workshop(system_.gateway_port(), "/");
  ASSERT_TRUE(workshop.ReadUntilType("connected"));

  system_.KillService();
  std::optional<json::object> down = rich.ReadUntilType("status", seconds(10));
  ASSERT_TRUE(down);
  EXPECT_EQ(down->at("upstream"), "reconnecting");
  EXPECT_EQ(HttpGet(system_.gateway_port(), "/readyz").status, 503);

  system_.StartService();
  // Attempts that failed before the restart each report "reconnecting"; the
  // next state after those must be "connected", and it must come before the
  // new stream's first price (a client that sees prices under a "connecting"
  // status line is told something false).
  std::optional<json::object> up;
  while (!up) {
    std::optional<json::value> message = rich.ReadJson(seconds(15));
    ASSERT_TRUE(message) << system_.gateway().Log();
    ASSERT_FALSE(IsType(*message, "price")) << "a price arrived before the status said connected";
    if (IsType(*message, "status") && message->as_object().at("upstream") != "reconnecting") up = message->as_object();
  }
  EXPECT_EQ(up->at("upstream"), "connected");
  EXPECT_TRUE(rich.ReadUntilType("price", seconds(5))) << "prices must flow again";

  // The workshop client saw only its message types throughout, and still gets prices.
  int prices_after = 0;
  while (prices_after < 3) {
    std::optional<json::value> message = workshop.ReadJson();
    ASSERT_TRUE(message);
    ASSERT_TRUE(IsType(*message, "price")) << json::serialize(*message);
    ++prices_after;
  }
}

TEST(GatewayUpstreamTest, ABrokenUpstreamStreamResumesWithoutGapOrDuplicate) {
  System system({.rate = 200, .proxy_upstream = true});
  ASSERT_TRUE(WaitUntilReady(system.gateway_port())) << system.gateway().Log();
  WsClient client(system.gateway_port(), "/ws?protocol=v1&batch=1");
  ASSERT_TRUE(client.ReadUntilType("snapshot"));

  uint64_t last = 0;
  bool cut = false, saw_reconnecting = false, saw_connected_again = false;
  const auto end = std::chrono::steady_clock::now() + seconds(6);
  while (std::chrono::steady_clock::now() < end) {
    if (!cut && last != 0) {
      system.CutUpstream();  // price_service keeps running and keeps its buffer
      cut = true;
    }
    std::optional<json::value> frame = client.ReadJson();
    ASSERT_TRUE(frame);
    const json::array items = frame->is_array() ? frame->as_array() : json::array{*frame};
    for (const json::value& item : items) {
      if (IsType(item, "status")) {
        const bool connected = item.as_object().at("upstream") == "connected";
        saw_reconnecting |= !connected;
        saw_connected_again |= connected && saw_reconnecting;
      }
      if (!IsType(item, "price")) continue;
      // The gateway's own first subscription starts with snapshot values; a
      // client that connects early sees them. After the cut none may come.
      if (item.as_object().contains("snapshot")) {
        ASSERT_FALSE(cut) << "a resume must not need a snapshot";
        continue;
      }
      const uint64_t seq = Seq(item.as_object());
      if (last != 0) {
        ASSERT_EQ(seq, last + 1) << "gap or duplicate across the upstream reconnect";
      }
      last = seq;
    }
  }
  EXPECT_TRUE(saw_reconnecting);
  EXPECT_TRUE(saw_connected_again);
  // Both subscriptions were SubscribeBatched, the second resuming after a
  // sequence (after_sequence > 0), so the gap-free resume above is the batched stream's.
  const std::string log = system.service().Log();
  size_t batched = 0, resumed = 0;
  for (size_t at = log.find("method=SubscribeBatched"); at != std::string::npos;
       at = log.find("method=SubscribeBatched", at + 1)) {
    ++batched;
    const size_t line_end = log.find('\n', at);
    resumed += log.substr(at, line_end - at).find("after_sequence=0 ") == std::string::npos;
  }
  EXPECT_EQ(batched, 2u) << log;
  EXPECT_EQ(resumed, 1u) << log;
  EXPECT_EQ(log.find("method=Subscribe "), std::string::npos) << "the gateway must not need Subscribe here";
}

TEST_F(GatewayTest, ServesTheDashboardAndRefusesPathTraversal) {
  const HttpResult index = HttpGet(system_.gateway_port(), "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("<html"), std::string::npos);
  EXPECT_EQ(HttpGet(system_.gateway_port(), "/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(HttpGet(system_.gateway_port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet(system_.gateway_port(), "/missing.js").status, 404);
  for (const char* target : {"/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/js/..%2f..%2fCMakeLists.txt",
                             "/..\\CMakeLists.txt", "/.git/config"}) {
    const HttpResult result = HttpGet(system_.gateway_port(), target);
    EXPECT_EQ(result.status, 400) << target;
    EXPECT_EQ(result.body.find("cmake_minimum_required"), std::string::npos) << target;
  }
}

TEST_F(GatewayTest, SigtermClosesClientsWith1001AndExitsZero) {
  WsClient client(system_.gateway_port());
  ASSERT_TRUE(client.ReadUntilType("connected"));
  system_.gateway().Signal(SIGTERM);
  while (client.Read(seconds(5))) {
  }
  EXPECT_EQ(client.close_code(), 1001);
  EXPECT_EQ(system_.gateway().Wait(seconds(10)), 0) << system_.gateway().Log();
}

TEST(GatewayFlags, BadFlagsFailWithAClearMessage) {
  const std::string dir = TestOutputDir();
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"--listen=nonsense"}, "invalid address 'nonsense'"},
      {{"--upstream=127.0.0.1:99999"}, "port must be a number from 0 to 65535"},
      {{"--threads=0", "--max_backlog=0"}, "--max_backlog=0"},
      {{"--idle_timeout=banana"}, "idle_timeout"},
      {{"--log_level=loud"}, "invalid log level"},
  };
  int n = 0;
  for (const auto& [args, message] : cases) {
    ChildProcess gateway(Binaries::Gateway(), args, dir + "/case" + std::to_string(++n) + ".log");
    EXPECT_EQ(gateway.Wait(seconds(10)), 1) << args[0];
    EXPECT_NE(gateway.Log().find(message), std::string::npos) << gateway.Log();
  }
}

}  // namespace
}  // namespace stockfeed::testing

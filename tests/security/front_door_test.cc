// The gateway's front door over real sockets against the real binaries:
// connection limits counted before the handshake, head caps and deadlines,
// handshake fields, Origin policy.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "burst.h"
#include "support/raw_http.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool WaitUntilReady(int port) {
  return Eventually([port] { return HttpGet(port, "/readyz").status == 200; }, seconds(15));
}

int UpgradeStatus(int port, const std::string& extra_headers, const std::string& target = "/ws") {
  RawConnection connection(port);
  if (!connection.Send(UpgradeRequest(port, target, extra_headers))) return 0;
  return StatusOf(connection.ReadAll(seconds(5), /*stop_at_head_end=*/true));
}

class FrontDoorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(WaitUntilReady(system_.gateway_port())) << system_.gateway().Log(); }
  int port() { return system_.gateway_port(); }
  System system_;
};

TEST_F(FrontDoorTest, ForeignOriginIs403WhileOwnLoopbackAndNoOriginUpgrade) {
  const std::string own = "Origin: http://127.0.0.1:" + std::to_string(port()) + "\r\n";
  EXPECT_EQ(UpgradeStatus(port(), "Origin: https://evil.example\r\n"), 403);
  // The default admits pages opened from disk (the workshop's dashboard.html).
  EXPECT_EQ(UpgradeStatus(port(), "Origin: null\r\n"), 101);
  EXPECT_EQ(UpgradeStatus(port(), own), 101);
  EXPECT_EQ(UpgradeStatus(port(), "Origin: http://localhost:5173\r\n"), 101);
  EXPECT_EQ(UpgradeStatus(port(), ""), 101);
  // Plain HTTP routes pass the same chain.
  const std::string api = RawRequest(port(), "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n\r\n");
  EXPECT_EQ(StatusOf(api), 403) << api;
  EXPECT_NE(api.find("origin_not_allowed"), std::string::npos) << api;
}

TEST_F(FrontDoorTest, MalformedHandshakeFieldsAre400) {
  for (const char* key : {"", "abc", "dGhlIHNhbXBsZSBub25jZ!=="}) {
    const std::string request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
                                std::string(key) + "\r\n\r\n";
    const std::string response = RawRequest(port(), request);
    EXPECT_EQ(StatusOf(response), 400) << "key '" << key << "': " << response;
    EXPECT_NE(response.find("bad_websocket_key"), std::string::npos) << response;
  }
  const std::string no_host = RawRequest(port(), "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(StatusOf(no_host), 400) << no_host;
  EXPECT_NE(no_host.find("bad_host"), std::string::npos) << no_host;
  EXPECT_EQ(StatusOf(RawRequest(port(), "GET /healthz HTTP/1.0\r\n\r\n")), 200);
}

TEST_F(FrontDoorTest, OversizedHeadsAre431And414WithoutLibraryText) {
  const std::string big_header = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(9000, 'x') + "\r\n\r\n";
  const std::string big = RawRequest(port(), big_header);
  EXPECT_EQ(StatusOf(big), 431) << big;
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 70; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(StatusOf(RawRequest(port(), many + "\r\n")), 431);
  const std::string long_line = RawRequest(port(), "GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(StatusOf(long_line), 414) << long_line;
  const std::string garbage = RawRequest(port(), "\x01\x02 nonsense\r\n\r\n");
  EXPECT_EQ(StatusOf(garbage), 400) << garbage;
  EXPECT_EQ(garbage.find("bad method"), std::string::npos) << "parser text must stay in the log: " << garbage;
}

TEST(FrontDoorLimitsTest, BurstOf300UpgradesAgainstALimitOf100AcceptsAtMost100AndAnswersTheRest) {
  System system(System::Options{.gateway_args = {"--max_connections=100"}});
  const int port = system.gateway_port();
  ASSERT_TRUE(WaitUntilReady(port)) << system.gateway().Log();
  std::optional<UpgradeBurst> burst(std::in_place, port, 300, "/ws");
  const UpgradeBurst::Answers answers = burst->Read(seconds(10));
  EXPECT_LE(answers.upgraded, 100);
  EXPECT_GE(answers.upgraded, 90) << "the limit should be reachable";
  EXPECT_EQ(answers.upgraded + answers.refused, 300);
  EXPECT_EQ(answers.other, 0) << "neither 101 nor 503: '" << answers.first_other << "'";
  // Slots come back when the clients leave.
  burst.reset();
  EXPECT_TRUE(Eventually([port] { return UpgradeStatus(port, "") == 101; }, seconds(5)));
}

TEST(FrontDoorLimitsTest, PerAddressLimitIs429AndPlainHttpConnectionsCount) {
  System system(System::Options{.gateway_args = {"--max_connections_per_ip=3"}});
  const int port = system.gateway_port();
  ASSERT_TRUE(Eventually([port] { return HttpGet(port, "/healthz").status == 200; }, seconds(10)));
  // Three idle keep-alive HTTP connections hold the address's three slots.
  std::vector<std::unique_ptr<RawConnection>> idle;
  // (Earlier probes' slots are released when the gateway sees them close.)
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Eventually(
        [&] {
          auto connection = std::make_unique<RawConnection>(port);
          if (!connection->Send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n") ||
              StatusOf(connection->ReadAll(seconds(5), true)) != 200) {
            return false;
          }
          idle.push_back(std::move(connection));
          return true;
        },
        seconds(5)));
  }
  const std::string refused = RawRequest(port, UpgradeRequest(port, "/ws"));
  EXPECT_EQ(StatusOf(refused), 429) << refused;
  idle.pop_back();
  EXPECT_TRUE(Eventually([port] { return UpgradeStatus(port, "") == 101; }, seconds(5)));
}

TEST(FrontDoorLimitsTest, NewConnectionsPerSecondCapAnswers503) {
  System system(System::Options{.gateway_args = {"--max_new_connections_per_second=5"}});
  const int port = system.gateway_port();
  ASSERT_TRUE(WaitUntilReady(port)) << system.gateway().Log();
  int refused = 0;
  for (int i = 0; i < 30; ++i) {
    refused += StatusOf(RawRequest(port, "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")) == 503;
  }
  EXPECT_GT(refused, 10);
}

TEST(FrontDoorLimitsTest, DefaultMaxConnectionsComesFromTheRaisedOpenFileLimit) {
  // prlimit starts the gateway with a soft limit of 200 under a hard one of
  // 400: it raises the soft limit to 400 and admits 400 - 64 sockets.
  if (::access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "prlimit (util-linux) is missing";
  const int port = FreePort();
  ChildProcess gateway("/usr/bin/prlimit",
                       {"--nofile=200:400", Binaries::Gateway(), "--listen=127.0.0.1:" + std::to_string(port),
                        "--upstream=127.0.0.1:1", "--web_root=" + Binaries::WebRoot()},
                       TestOutputDir() + "/ws_gateway.log");
  ASSERT_TRUE(WaitForPort(port, seconds(10))) << gateway.Log();
  EXPECT_TRUE(Eventually([&] { return gateway.Log().find("max_connections=336") != std::string::npos; }, seconds(5)))
      << gateway.Log();
}

TEST(SlowlorisTest, FiveHundredSlowHeadsAreCutAtTheDeadlineWhileANormalClientGetsPricesWithinOneSecond) {
  System system(System::Options{.gateway_args = {"--handshake_timeout=4s"}});
  const int port = system.gateway_port();
  ASSERT_TRUE(WaitUntilReady(port)) << system.gateway().Log();

  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 500; ++i) slow.push_back(std::make_unique<RawConnection>(port));
  const std::string head = UpgradeRequest(port, "/ws");
  const auto started = std::chrono::steady_clock::now();
  std::atomic<bool> stop{false};
  std::atomic<int> still_open{500};
  std::thread trickle([&] {
    // One header byte a second on every connection, never finishing the head.
    for (size_t byte = 0; byte < head.size() - 4 && !stop; ++byte) {
      int open = 0;
      for (auto& connection : slow) open += connection->Send(std::string(1, head[byte])) ? 1 : 0;
      still_open = open;
      for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(milliseconds(100));
    }
  });
  std::this_thread::sleep_for(seconds(1));
  // Meanwhile a normal client connects and gets prices within a second.
  const auto connect_start = std::chrono::steady_clock::now();
  {
    WsClient client(port, "/ws");
    std::optional<boost::json::object> price = client.ReadUntilType("price", seconds(1));
    EXPECT_TRUE(price) << "no price within 1 s while 500 slow clients hold connections";
    EXPECT_LT(std::chrono::steady_clock::now() - connect_start, seconds(1));
  }
  // Every slow connection is closed by the deadline (4 s), with some slack.
  int closed = 0;
  for (auto& connection : slow) closed += connection->ClosedWithin(milliseconds(50) + std::max(
      milliseconds(0), std::chrono::duration_cast<milliseconds>(started + seconds(8) - std::chrono::steady_clock::now())));
  stop = true;
  trickle.join();
  EXPECT_EQ(closed, 500);
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(12));
}

TEST(BusyPortTest, ASecondPriceServiceOrGatewayOnABusyPortExitsNonZeroWithAClearMessage) {
  System system;
  ChildProcess service(Binaries::PriceService(),
                       {"--listen=127.0.0.1:" + std::to_string(system.service_port()), "--admin_listen=127.0.0.1:0"},
                       TestOutputDir() + "/second_price_service.log");
  const std::optional<int> service_exit = service.Wait(seconds(15));
  ASSERT_TRUE(service_exit) << "a second price_service must not start on a busy port:\n" << service.Log();
  EXPECT_NE(*service_exit, 0);
  EXPECT_NE(service.Log().find("cannot listen on 127.0.0.1:" + std::to_string(system.service_port())),
            std::string::npos)
      << service.Log();

  ChildProcess gateway(Binaries::Gateway(),
                       {"--listen=127.0.0.1:" + std::to_string(system.gateway_port()),
                        "--web_root=" + Binaries::WebRoot()},
                       TestOutputDir() + "/second_gateway.log");
  const std::optional<int> gateway_exit = gateway.Wait(seconds(15));
  ASSERT_TRUE(gateway_exit) << gateway.Log();
  EXPECT_NE(*gateway_exit, 0);
  EXPECT_NE(gateway.Log().find("cannot listen"), std::string::npos) << gateway.Log();
}

TEST(ClientMessagesTest, UpstreamStatusCarriesNoAddressOrLibraryText) {
  System system;
  ASSERT_TRUE(WaitUntilReady(system.gateway_port())) << system.gateway().Log();
  WsClient client(system.gateway_port(), "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("snapshot"));
  system.KillService();
  std::optional<boost::json::object> down = client.ReadUntilType("status", seconds(10));
  ASSERT_TRUE(down);
  EXPECT_EQ(down->at("message"), "upstream unavailable, retrying");
  // The detail is in the log.
  EXPECT_TRUE(Eventually([&] { return system.gateway().Log().find("127.0.0.1:" + std::to_string(system.service_port())) !=
                                      std::string::npos; }, seconds(5)));
}

}  // namespace
}  // namespace stockfeed::testing

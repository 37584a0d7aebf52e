// The gateway under a low open-file limit (prlimit, as `ulimit -n 128`),
// with the real binaries: a burst of connections far past what its
// descriptors allow is answered 101 or 503 — never left hanging — while a
// connected client keeps getting prices (under repeated bursts its p99
// within 2x of a quiet run, the gateway's RSS bounded and back near its
// baseline afterwards: support/probe.h), the upstream can still reconnect
// (the gateway keeps descriptors for it), and new clients get in again once
// the burst leaves. (Bursts against an explicit --max_connections and
// slowloris: tests/security/front_door_test.cc.)
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "burst.h"
#include "gtest/gtest.h"
#include "probe.h"
#include "support/process.h"
#include "support/raw_http.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kOpenFileLimit = 128;
// What the gateway derives from it: the limit minus 64 kept for the upstream,
// logs and its own files.
constexpr int kMaxConnections = kOpenFileLimit - 64;
constexpr int kBurst = 3 * kOpenFileLimit;
// A feed busy enough that a probe's quiet p99 is above probe.cc's 5 ms floor
// (at 100/s it was 1-2 ms, so the floor, not the quiet run, set the bound).
constexpr double kRate = 1000;

class LowLimitGateway {
 public:
  explicit LowLimitGateway(const std::vector<std::string>& extra_gateway_args = {})
      : dir_(TestOutputDir()), service_port_(FreePort()), gateway_port_(FreePort()) {
    StartService();
    const std::string limit = std::to_string(kOpenFileLimit);
    std::vector<std::string> args{"--nofile=" + limit + ":" + limit, Binaries::Gateway(),
                                  "--listen=127.0.0.1:" + std::to_string(gateway_port_),
                                  "--upstream=127.0.0.1:" + std::to_string(service_port_),
                                  "--web_root=" + Binaries::WebRoot()};
    const std::vector<std::string> feed_log_args = SmallFeedLogArgs();
    args.insert(args.end(), feed_log_args.begin(), feed_log_args.end());
    args.insert(args.end(), extra_gateway_args.begin(), extra_gateway_args.end());
    gateway_ = std::make_unique<ChildProcess>("/usr/bin/prlimit", std::move(args), dir_ + "/ws_gateway.log");
  }
  void StartService() {
    service_ = std::make_unique<ChildProcess>(
        Binaries::PriceService(),
        std::vector<std::string>{"--listen=127.0.0.1:" + std::to_string(service_port_), "--admin_listen=127.0.0.1:0",
                                 "--rate=" + std::to_string(kRate)},
        dir_ + "/price_service_" + std::to_string(++service_starts_) + ".log");
  }
  void KillService() {
    service_->Signal(SIGKILL);
    service_->Wait(seconds(5));
  }
  int port() const { return gateway_port_; }
  ChildProcess& gateway() { return *gateway_; }

 private:
  std::string dir_;
  int service_port_, gateway_port_;
  int service_starts_ = 0;
  std::unique_ptr<ChildProcess> service_;
  std::unique_ptr<ChildProcess> gateway_;
};

// Once a burst has left: an upgrade is answered 101 again within 10 s.
bool NewClientsGetIn(int port) {
  return Eventually([port] {
    RawConnection connection(port);
    return connection.Send(UpgradeRequest(port, "/ws")) &&
           StatusOf(connection.ReadAll(seconds(5), /*stop_at_head_end=*/true)) == 101;
  }, seconds(10));
}

TEST(DescriptorExhaustionTest, ABurstPastALowOpenFileLimitIsAnswered503AndTheUpstreamStillReconnects) {
  if (::access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "prlimit (util-linux) is missing";
  LowLimitGateway system;
  const int port = system.port();
  ASSERT_TRUE(WaitForPort(port, seconds(10))) << system.gateway().Log();
  ASSERT_TRUE(Eventually([&] { return HttpGet(port, "/readyz").status == 200; }, seconds(20)))
      << system.gateway().Log();
  ASSERT_TRUE(Eventually([&] {
    return system.gateway().Log().find("max_connections=" + std::to_string(kMaxConnections)) != std::string::npos;
  }, seconds(5))) << system.gateway().Log();

  WaitForFullFeedLog(kRate);
  // Bursts of three times the whole open-file limit, once a second, each
  // holding what it got until the next: a probe client's prices stay as
  // timely as on a quiet gateway and memory stays bounded.
  std::atomic<int> most_upgraded{0}, refused{0}, unanswered{0};
  const Impact impact = MeasureImpact(system.gateway(), port, "/ws?protocol=v1", [&](const std::atomic<bool>& stop) {
    while (!stop.load()) {
      const auto next = std::chrono::steady_clock::now() + seconds(1);
      UpgradeBurst burst(port, kBurst, "/ws");
      const UpgradeBurst::Answers answers = burst.Read(seconds(10));
      most_upgraded = std::max(most_upgraded.load(), answers.upgraded);
      refused += answers.refused;
      unanswered += answers.other;
      std::this_thread::sleep_until(next);
    }
  });
  ExpectContained(system.gateway(), impact);
  std::cout << "bursts of " << kBurst << " at a limit of " << kMaxConnections << ": at most " << most_upgraded.load()
            << " upgraded, " << refused.load() << " refused, " << unanswered.load() << " left hanging\n";
  EXPECT_LE(most_upgraded.load(), kMaxConnections - 1) << "the probe holds one slot";
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(unanswered.load(), 0);

  WsClient client(port, "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("price", seconds(10)));

  // Three times the whole open-file limit at once, held.
  std::optional<UpgradeBurst> burst(std::in_place, port, kBurst, "/ws");
  const UpgradeBurst::Answers answers = burst->Read(seconds(10));
  std::cout << kBurst << " connections at a limit of " << kMaxConnections << ": " << answers.upgraded
            << " upgraded, " << answers.refused << " refused, " << answers.other << " left hanging\n";
  EXPECT_LE(answers.upgraded, kMaxConnections - 1) << "the connected client holds one slot";
  EXPECT_EQ(answers.other, 0) << "neither 101 nor 503 within 10 s: '" << answers.first_other << "'";
  EXPECT_EQ(HttpGet(port, "/healthz").status, 503) << "plain HTTP counts toward the same limit";

  // Full house: the connected client still gets prices, and the upstream can
  // still reconnect when it has to.
  ASSERT_TRUE(client.ReadUntilType("price", seconds(5))) << "a connected client stopped getting prices";
  system.KillService();
  std::optional<boost::json::object> down = client.ReadUntilType("status", seconds(15));
  ASSERT_TRUE(down);
  EXPECT_EQ(down->at("upstream"), "reconnecting");
  system.StartService();
  std::optional<boost::json::object> up = client.ReadUntilType("status", seconds(20));
  while (up && up->at("upstream") == "reconnecting") up = client.ReadUntilType("status", seconds(20));
  ASSERT_TRUE(up) << system.gateway().Log();
  EXPECT_EQ(up->at("upstream"), "connected") << "the upstream could not reconnect with every client slot taken";
  EXPECT_TRUE(client.ReadUntilType("price", seconds(10))) << "prices must flow again";

  // The burst leaves: new clients get in again.
  burst.reset();
  EXPECT_TRUE(NewClientsGetIn(port));
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  EXPECT_TRUE(system.gateway().running());
}

// --max_connections set far above what the open-file limit allows: the
// connection gate lets the burst in until accept itself fails for want of a
// descriptor. Those connections are still answered 503 (the listener gives
// up a spare descriptor to accept and refuse them) instead of waiting in the
// backlog; the gateway warns at start that the two do not fit.
TEST(DescriptorExhaustionTest, MaxConnectionsAboveTheOpenFileLimitIsWarnedOfAndAnswered503) {
  if (::access("/usr/bin/prlimit", X_OK) != 0) GTEST_SKIP() << "prlimit (util-linux) is missing";
  LowLimitGateway system({"--max_connections=1000"});
  const int port = system.port();
  ASSERT_TRUE(WaitForPort(port, seconds(10))) << system.gateway().Log();
  ASSERT_TRUE(Eventually([&] { return HttpGet(port, "/readyz").status == 200; }, seconds(20)))
      << system.gateway().Log();
  EXPECT_NE(system.gateway().Log().find("--max_connections=1000 is more than the open-file limit of " +
                                        std::to_string(kOpenFileLimit)),
            std::string::npos)
      << system.gateway().Log();

  WsClient client(port, "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("price", seconds(10)));

  // One deadline for the whole burst: a connection left in the backlog
  // costs the test nothing more than that.
  std::optional<UpgradeBurst> burst(std::in_place, port, kBurst, "/ws");
  const UpgradeBurst::Answers answers = burst->Read(seconds(15));
  std::cout << kBurst << " connections, --max_connections=1000, open-file limit " << kOpenFileLimit << ": "
            << answers.upgraded << " upgraded, " << answers.refused << " refused, " << answers.other
            << " left hanging\n";
  EXPECT_EQ(answers.other, 0) << "connections waited in the backlog for a descriptor";
  EXPECT_GT(answers.upgraded, 0);
  EXPECT_LT(answers.upgraded, kOpenFileLimit) << "more sockets than descriptors?";
  EXPECT_TRUE(Eventually([&] { return system.gateway().Log().find("out of file descriptors") != std::string::npos; },
                         seconds(5)))
      << system.gateway().Log();
  EXPECT_TRUE(client.ReadUntilType("price", seconds(5))) << "a connected client stopped getting prices";

  burst.reset();
  EXPECT_TRUE(NewClientsGetIn(port));
  EXPECT_TRUE(system.gateway().running());
}

}  // namespace
}  // namespace stockfeed::testing

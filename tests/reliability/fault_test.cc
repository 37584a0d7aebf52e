// Faults between the gateway and price_service, with the real binaries: a
// TCP fault proxy on the gRPC hop (delay, black hole) and a frozen
// (SIGSTOP) price_service. Each asserts what a WebSocket client sees: the
// gateway notices a dead upstream by its stall deadline, tells the client
// (status "reconnecting"), and once the upstream is back the prices go on
// with no gap and no duplicate. (A cut connection: GatewayUpstreamTest in
// tests/integration; PostgreSQL faults: tests/postgres.)
#include <csignal>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "gtest/gtest.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr int kStallTimeoutSeconds = 3;
std::vector<std::string> GatewayArgs() {
  return {"--upstream_stall_timeout=" + std::to_string(kStallTimeoutSeconds) + "s"};
}

// An unfiltered v1 client, which sees every seq: checks each price follows
// the one before it and records the upstream status it is told.
class FeedFollower {
 public:
  explicit FeedFollower(int port) : client_(port, "/ws?protocol=v1&batch=1") {}

  // Reads until `done` holds; false if `timeout` passes first (a read that
  // times out leaves the client unusable) or the connection closes.
  bool ReadUntil(const std::function<bool()>& done, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      std::optional<json::value> frame = client_.ReadJson(left);
      if (!frame) return false;
      const json::array items = frame->is_array() ? frame->as_array() : json::array{*frame};
      for (const json::value& item : items) Take(item.as_object());
    }
    return true;
  }
  // Reads while prices flow (they arrive every few ms).
  bool ReadFor(milliseconds span) {
    const auto end = Clock::now() + span;
    return ReadUntil([&] { return Clock::now() >= end; }, span + seconds(5));
  }

  bool connected() const { return upstream_ == "connected"; }
  uint64_t prices() const { return prices_; }
  uint64_t last_seq() const { return last_seq_; }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  void Take(const json::object& item) {
    const json::string& type = item.at("type").as_string();
    if (type == "status") upstream_ = std::string(item.at("upstream").as_string());
    // A client whose welcome named no epoch (it came before the gateway's
    // first price) is told of the first one (docs/protocol.md); any later
    // epoch means the fault restarted the feed's numbering.
    if (type == "connected" || type == "epoch") {
      if (type == "epoch" && !epoch_.empty()) problems_.push_back("unexpected new epoch");
      epoch_ = std::string(item.at("epoch").as_string());
    }
    if (type != "price" || item.contains("snapshot")) return;
    const uint64_t seq = Seq(item);
    if (last_seq_ != 0 && seq != last_seq_ + 1) {
      problems_.push_back("seq " + std::to_string(seq) + " after " + std::to_string(last_seq_));
    }
    last_seq_ = seq;
    ++prices_;
  }

  WsClient client_;
  std::string upstream_;
  std::string epoch_;
  uint64_t prices_ = 0;
  uint64_t last_seq_ = 0;
  std::vector<std::string> problems_;
};

void WaitReady(System& system) {
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(20)))
      << system.gateway().Log();
}

// The fault, then recovery, as one client sees it.
void ExpectNoticedAndResumedWithoutGap(System& system, const std::function<void()>& fault,
                                       const std::function<void()>& heal) {
  FeedFollower follower(system.gateway_port());
  ASSERT_TRUE(follower.ReadUntil([&] { return follower.connected() && follower.prices() >= 200; }, seconds(20)));

  fault();
  const auto broken = Clock::now();
  const bool noticed = follower.ReadUntil([&] { return !follower.connected(); }, seconds(30));
  const auto noticed_after = std::chrono::duration_cast<milliseconds>(Clock::now() - broken);
  const uint64_t before_heal = follower.last_seq();
  heal();
  ASSERT_TRUE(noticed) << "the client was never told the upstream is gone\n" << system.gateway().Log();
  std::cout << "dead upstream noticed after " << noticed_after.count() << " ms (stall timeout "
            << kStallTimeoutSeconds << " s)\n";
  // The stall deadline plus a generous allowance for a loaded machine.
  EXPECT_LE(noticed_after.count(), (kStallTimeoutSeconds + 9) * 1000);

  ASSERT_TRUE(follower.ReadUntil([&] { return follower.connected() && follower.last_seq() > before_heal + 200; },
                                 seconds(30)))
      << "prices did not resume\n" << system.gateway().Log();
  EXPECT_TRUE(follower.ReadFor(seconds(1)));
  EXPECT_TRUE(follower.problems().empty()) << follower.problems().front();
}

TEST(FaultTest, BlackHoledUpstreamIsNoticedByTheStallDeadlineAndResumesWithoutGap) {
  System system({.rate = 200, .gateway_args = GatewayArgs(), .proxy_upstream = true});
  WaitReady(system);
  ExpectNoticedAndResumedWithoutGap(
      system, [&] { system.upstream_proxy().SetBlackHole(true); },
      [&] { system.upstream_proxy().SetBlackHole(false); });
}

TEST(FaultTest, FrozenPriceServiceIsNoticedAndResumesWithoutGap) {
  System system({.rate = 200, .gateway_args = GatewayArgs()});
  WaitReady(system);
  ExpectNoticedAndResumedWithoutGap(
      system, [&] { system.service().Signal(SIGSTOP); }, [&] { system.service().Signal(SIGCONT); });
}

TEST(FaultTest, ASlowUpstreamLinkDelaysPricesButLosesNothing) {
  System system({.rate = 200, .gateway_args = GatewayArgs(), .proxy_upstream = true});
  WaitReady(system);
  FeedFollower follower(system.gateway_port());
  ASSERT_TRUE(follower.ReadUntil([&] { return follower.connected() && follower.prices() >= 200; }, seconds(20)));
  // Well below the stall deadline: slow is not dead.
  system.upstream_proxy().SetDelay(milliseconds(400));
  const uint64_t before = follower.prices();
  bool stayed_connected = true;
  const auto end = Clock::now() + seconds(5);
  EXPECT_TRUE(follower.ReadUntil([&] {
    stayed_connected &= follower.connected();
    return Clock::now() >= end;
  }, seconds(10)));
  system.upstream_proxy().SetDelay(milliseconds(0));
  EXPECT_TRUE(follower.ReadFor(seconds(1)));
  EXPECT_TRUE(stayed_connected) << "a 400 ms delay made the gateway give up the upstream\n" << system.gateway().Log();
  EXPECT_GT(follower.prices(), before + 400) << "prices stopped while delayed";
  EXPECT_TRUE(follower.problems().empty()) << follower.problems().front();
}

}  // namespace
}  // namespace stockfeed::testing

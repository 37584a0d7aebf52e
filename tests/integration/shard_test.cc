// A real Shard (its io thread, inbox and passes) fanning out to fake
// clients that record what the log held each time they were pumped: a price
// that arrives during a pass reaches the clients the pass has not reached yet
// in that pass, the others in the next; a status never lets what came
// after it overtake it; and a handler that calls DeliverDuePrices serves a
// due pass before its own work.
#include "net/shard.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

namespace stockfeed::ws_gateway {
namespace {

using std::chrono::milliseconds;

class RecordingClient : public ShardClient {
 public:
  RecordingClient(Shard& shard, std::function<void()> on_first_pump)
      : shard_(shard), on_first_pump_(std::move(on_first_pump)) {}

  void Pump() override {
    if (shard_.log().head() == cursor_) return;  // as a real client: nothing new, nothing written
    cursor_ = shard_.log().head();
    events_.push_back("pump:" + std::to_string(cursor_));
    if (on_first_pump_) std::exchange(on_first_pump_, nullptr)();
  }
  void PrefetchForPump() const override {}
  void SendStatus(const FramePtr&) override { events_.push_back("status"); }
  void CloseForShutdown(const std::string&) override {}
  void CheckTimeouts(std::chrono::steady_clock::time_point) override {}

  // On the shard's thread only.
  const std::vector<std::string>& events() const { return events_; }
  uint64_t cursor() const { return cursor_; }

 private:
  Shard& shard_;
  std::function<void()> on_first_pump_;
  std::vector<std::string> events_;  // "pump:<log head>" or "status", in order
};

FeedEvent Price(int n) { return FeedEvent::Price(Frame::Message("price " + std::to_string(n))); }

class ShardTest : public ::testing::Test {
 protected:
  static constexpr int kClients = 300;

  ShardTest() : shard_(0, config_, counters_, front_door_, metrics_, [] { return GatewayStats{}; }) {}
  ~ShardTest() override { shard_.Stop(); }

  // Clients join before the shard's thread starts; client `trigger` runs
  // `mid_pass` during its first pump, i.e. in the middle of the first pass.
  void StartWithClients(int trigger, std::function<void()> mid_pass) {
    for (int i = 0; i < kClients; ++i) {
      clients_.push_back(std::make_unique<RecordingClient>(shard_, i == trigger ? mid_pass : nullptr));
      shard_.Add(clients_.back().get());
    }
    shard_.Start();
  }

  // Runs `work` on the shard's thread and returns what it returns.
  template <typename Work>
  auto OnShardThread(Work work) {
    std::promise<decltype(work())> done;
    boost::asio::post(shard_.io(), [&] { done.set_value(work()); });
    return done.get_future().get();
  }

  // Every client's record once each has reached `head`, read on the shard's thread.
  std::vector<std::vector<std::string>> RecordsOnceAllReach(uint64_t head) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto reached = OnShardThread([&]() -> std::optional<std::vector<std::vector<std::string>>> {
        std::vector<std::vector<std::string>> records;
        for (const auto& client : clients_) {
          if (client->cursor() < head) return std::nullopt;
          records.push_back(client->events());
        }
        return records;
      });
      if (reached) return *reached;
      std::this_thread::sleep_for(milliseconds(5));
    }
    ADD_FAILURE() << "clients did not all reach log head " << head;
    return {};
  }

  // Each client's cursor; on the shard's thread only.
  std::vector<uint64_t> Cursors() const {
    std::vector<uint64_t> cursors;
    for (const auto& client : clients_) cursors.push_back(client->cursor());
    return cursors;
  }

  GatewayConfig config_;
  GatewayCounters counters_;
  FrontDoor front_door_{.gate = ConnectionGate({}), .chain = AdmissionChain({}, *OriginPolicy::Create({}))};
  GatewayMetrics metrics_;
  Shard shard_;
  std::vector<std::unique_ptr<RecordingClient>> clients_;
};

TEST_F(ShardTest, APriceArrivingDuringAPassReachesTheClientsNotYetPumpedInThatPass) {
  StartWithClients(/*trigger=*/10, [&] { shard_.Deliver(Price(2)); });
  shard_.Deliver(Price(1));
  const auto records = RecordsOnceAllReach(2);
  ASSERT_EQ(records.size(), kClients);
  // The first pass took price 2 at its next check: the clients from there
  // on were pumped once and got both prices; those before got price 1 in
  // the first pass and price 2 in the next.
  EXPECT_EQ(records.front(), (std::vector<std::string>{"pump:1", "pump:2"}));
  EXPECT_EQ(records.back(), (std::vector<std::string>{"pump:2"})) << "the last client waited for another pass";
  int pumped_once = 0;
  for (const auto& record : records) pumped_once += record.size() == 1;
  EXPECT_GE(pumped_once, kClients - 64 - 10);
}

TEST_F(ShardTest, WhatArrivesAfterAStatusDoesNotOvertakeIt) {
  StartWithClients(/*trigger=*/10, [&] {
    shard_.Deliver(Price(2));
    shard_.Deliver(FeedEvent::Status(UpstreamState::kReconnecting, Frame::Message("status")));
    shard_.Deliver(Price(3));
  });
  shard_.Deliver(Price(1));
  const auto records = RecordsOnceAllReach(3);
  ASSERT_EQ(records.size(), kClients);
  for (const auto& record : records) {
    // Price 2 may come in the first pass; price 3 only after the status.
    const auto status = std::find(record.begin(), record.end(), "status");
    ASSERT_NE(status, record.end());
    for (auto event = record.begin(); event != status; ++event) EXPECT_NE(*event, "pump:3");
    EXPECT_EQ(std::find(status, record.end(), "pump:2"), record.end()) << "price 2 only reached a client after the status";
  }
  EXPECT_EQ(records.back().front(), "pump:2") << "the last client got price 2 in the first pass";
}

// A handler that a connection burst queues ahead of the pass timer (an
// accept, a handshake) calls DeliverDuePrices first: once a pass is due, the
// price the upstream delivered meanwhile reaches every client before the
// handler goes on, not after the whole queue.
TEST_F(ShardTest, DeliverDuePricesRunsADuePassInsideTheCallingHandler) {
  StartWithClients(/*trigger=*/-1, nullptr);
  shard_.Deliver(Price(1));
  RecordsOnceAllReach(1);
  const std::vector<uint64_t> cursors = OnShardThread([&] {
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(config_.fanout_interval) + milliseconds(5));
    shard_.Deliver(Price(2));  // its drain is posted behind this handler
    shard_.DeliverDuePrices();
    return Cursors();
  });
  EXPECT_EQ(cursors, std::vector<uint64_t>(kClients, 2));
}

TEST_F(ShardTest, DeliverDuePricesLeavesAPassThatIsNotDueToItsTimer) {
  config_.fanout_interval = absl::Hours(1);  // the first pass is due at once, the next in an hour
  StartWithClients(/*trigger=*/-1, nullptr);
  shard_.Deliver(Price(1));
  RecordsOnceAllReach(1);
  const std::vector<uint64_t> cursors = OnShardThread([&] {
    shard_.Deliver(Price(2));
    shard_.DeliverDuePrices();
    return Cursors();
  });
  EXPECT_EQ(cursors, std::vector<uint64_t>(kClients, 1));
}

}  // namespace
}  // namespace stockfeed::ws_gateway

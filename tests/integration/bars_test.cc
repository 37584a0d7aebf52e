// Bars over real sockets: GetBars of the real price_service (simulator mode)
// against the raw updates of its own stream.
#include <map>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/process.h"
#include "support/system.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;
constexpr int64_t kSecondUs = 1'000'000;

int64_t Floor(int64_t t, int64_t interval) { return t / interval * interval; }

struct Expected {
  double open = 0, high = 0, low = 0, close = 0;
  uint64_t count = 0;
};

class SimulatorBarsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    service_ = std::make_unique<ChildProcess>(
        Binaries::PriceService(),
        std::vector<std::string>{"--listen=127.0.0.1:" + std::to_string(port_), "--rate=300", "--seed=5",
                                 "--session_start=00:00 UTC", "--admin_listen=127.0.0.1:0"},
        TestOutputDir() + "/price_service.log");
    ASSERT_TRUE(WaitForPort(port_, seconds(10))) << service_->Log();
    stub_ = v1::PriceFeed::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }

  grpc::Status GetBars(const v1::GetBarsRequest& request, v1::GetBarsResponse& response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + seconds(10));
    return stub_->GetBars(&context, request, &response);
  }

  int port_ = 0;
  std::unique_ptr<ChildProcess> service_;
  std::unique_ptr<v1::PriceFeed::Stub> stub_;
};

TEST_F(SimulatorBarsTest, OneSecondBarsAgreeWithTheStreamedUpdates) {
  // Every update for a few seconds, with no gap (sequences consecutive).
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(30));
  auto reader = stub_->Subscribe(&context, v1::SubscribeRequest());
  std::vector<v1::PriceUpdate> updates;
  v1::PriceUpdate update;
  while (reader->Read(&update)) {
    if (!updates.empty()) {
      ASSERT_EQ(update.sequence(), updates.back().sequence() + 1);
    }
    updates.push_back(update);
    if (update.event_time_us() - updates.front().event_time_us() > 4 * kSecondUs) break;
  }
  context.TryCancel();
  ASSERT_GT(updates.size(), 100u);

  // Whole seconds inside what the stream saw: the service's bars there must
  // be exactly the updates the stream carried.
  const int64_t from = Floor(updates.front().event_time_us(), kSecondUs) + kSecondUs;
  const int64_t to = Floor(updates.back().event_time_us(), kSecondUs);
  std::map<int64_t, Expected> expected;
  for (const v1::PriceUpdate& u : updates) {
    if (u.symbol() != "AAPL" || u.source() != "finnhub" || u.event_time_us() < from || u.event_time_us() >= to) {
      continue;
    }
    const int64_t bin = Floor(u.event_time_us(), kSecondUs);
    auto [it, fresh] = expected.try_emplace(bin, Expected{u.price(), u.price(), u.price(), u.price(), 0});
    it->second.high = std::max(it->second.high, u.price());
    it->second.low = std::min(it->second.low, u.price());
    it->second.close = u.price();
    ++it->second.count;
  }
  ASSERT_GE(expected.size(), 2u);

  v1::GetBarsRequest request;
  request.set_symbol("AAPL");
  request.set_source("finnhub");
  request.set_interval_seconds(1);
  request.set_from_us(from);
  request.set_to_us(to);
  v1::GetBarsResponse response;
  const grpc::Status status = GetBars(request, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(static_cast<size_t>(response.bars_size()), expected.size());
  int i = 0;
  for (const auto& [start, e] : expected) {
    const v1::Bar& bar = response.bars(i++);
    EXPECT_EQ(bar.start_time_us(), start);
    EXPECT_EQ(bar.open(), e.open);
    EXPECT_EQ(bar.high(), e.high);
    EXPECT_EQ(bar.low(), e.low);
    EXPECT_EQ(bar.close(), e.close);
    EXPECT_EQ(bar.update_count(), e.count);
  }
}

TEST_F(SimulatorBarsTest, SessionReferenceIsTheFirstPriceSinceTheSessionStart) {
  v1::GetBarsRequest request;
  request.set_symbol("MSFT");
  request.set_source("alpha_vantage");
  request.set_interval_seconds(60);
  v1::GetBarsResponse response;
  ASSERT_TRUE(Eventually([&] { return GetBars(request, response).ok() && response.bars_size() > 0; }, seconds(10)));
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_EQ(response.session_start_us(), Floor(now_us, 86'400 * kSecondUs));
  EXPECT_EQ(response.session_time_zone(), "UTC");

  // The service started after midnight, so the reference is the first minute bar's open.
  request.set_from_us(response.session_start_us());
  request.set_limit(5000);
  v1::GetBarsResponse today;
  ASSERT_TRUE(GetBars(request, today).ok());
  ASSERT_GT(today.bars_size(), 0);
  EXPECT_GT(today.session_open(), 0);
  EXPECT_EQ(today.session_open(), today.bars(0).open());
}

TEST_F(SimulatorBarsTest, BadRequestsAreInvalidArgumentAndUnknownPairsEmpty) {
  v1::GetBarsRequest request;
  request.set_symbol("AAPL");
  request.set_source("finnhub");
  request.set_interval_seconds(7);
  v1::GetBarsResponse response;
  grpc::Status status = GetBars(request, response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("interval_seconds=7"), std::string::npos) << status.error_message();

  request.set_interval_seconds(60);
  request.set_symbol("NOPE");
  status = GetBars(request, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.bars_size(), 0);
  EXPECT_EQ(response.session_open(), 0);
}

TEST(PriceServiceSessionFlag, ABadSessionStartFailsWithAClearMessage) {
  ChildProcess service(Binaries::PriceService(), {"--session_start=25:00 UTC"}, TestOutputDir() + "/bad.log");
  EXPECT_EQ(service.Wait(seconds(10)), 1);
  EXPECT_NE(service.Log().find("--session_start='25:00 UTC'"), std::string::npos) << service.Log();
}

}  // namespace
}  // namespace stockfeed::testing

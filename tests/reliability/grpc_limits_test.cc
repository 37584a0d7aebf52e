// Oversized gRPC requests against the real price_service: refused with a
// clear status, no giant log line, and the service keeps serving; sent
// over and over, they cost the gateway's clients behind it nothing.
#include <atomic>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "probe.h"
#include "proc_stats.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/grpc_subscribe.h"
#include "support/process.h"
#include "support/system.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

// The 600,000 symbols in one filter: 77 MB per stream and a 3 MB
// log line before the message-size cap.
v1::SubscribeRequest HugeFilter() {
  v1::SubscribeRequest request;
  for (int i = 0; i < 600'000; ++i) request.add_symbols("S" + std::to_string(i));
  return request;
}

// Small enough for the message-size cap, more names than --max_filter_names.
v1::SubscribeRequest TooManyNames() {
  v1::SubscribeRequest request;
  for (int i = 0; i < 1000; ++i) request.add_symbols("S" + std::to_string(i));
  for (int i = 0; i < 25; ++i) request.add_sources("src" + std::to_string(i));
  return request;
}

std::unique_ptr<v1::PriceFeed::Stub> StubFor(int port) {
  return v1::PriceFeed::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

grpc::Status SubscribeStatus(v1::PriceFeed::Stub& stub, const v1::SubscribeRequest& request,
                             seconds deadline = seconds(10)) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  return FirstSubscribeUpdate(stub, context, request);
}

class GrpcLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    service_ = std::make_unique<ChildProcess>(
        STOCKFEED_PRICE_SERVICE_PATH,
        std::vector<std::string>{"--listen=127.0.0.1:" + std::to_string(port_), "--rate=200",
                                 "--admin_listen=127.0.0.1:0"},
        TestOutputDir() + "/price_service.log");
    ASSERT_TRUE(WaitForPort(port_, seconds(10))) << service_->Log();
    stub_ = StubFor(port_);
  }

  void ExpectStillServing() {
    v1::SubscribeRequest plain;
    plain.add_symbols("AAPL");
    EXPECT_TRUE(SubscribeStatus(*stub_, plain).ok()) << service_->Log();
    EXPECT_TRUE(service_->running());
  }

  size_t LongestLogLine() {
    std::istringstream log(service_->Log());
    size_t longest = 0;
    for (std::string line; std::getline(log, line);) longest = std::max(longest, line.size());
    return longest;
  }

  int port_ = 0;
  std::unique_ptr<ChildProcess> service_;
  std::unique_ptr<v1::PriceFeed::Stub> stub_;
};

TEST_F(GrpcLimitsTest, AHugeFilterIsRefusedByMessageSize) {
  const int64_t rss_before = bench::ProcessRssKib(service_->pid());
  const grpc::Status status = SubscribeStatus(*stub_, HugeFilter());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  ExpectStillServing();
  EXPECT_LT(LongestLogLine(), 2048u);
  EXPECT_LT(bench::ProcessRssKib(service_->pid()) - rss_before, 32 << 10);
}

TEST_F(GrpcLimitsTest, TooManyNamesUnderTheSizeLimitAreAnInvalidArgument) {
  const grpc::Status status = SubscribeStatus(*stub_, TooManyNames());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("--max_filter_names"), std::string::npos) << status.error_message();

  v1::GetLatestRequest latest;
  for (int i = 0; i < 1025; ++i) latest.add_symbols("S" + std::to_string(i));
  v1::GetLatestResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(stub_->GetLatest(&context, latest, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ExpectStillServing();
}

TEST_F(GrpcLimitsTest, ALargeAcceptedFilterLogsOneShortLine) {
  v1::SubscribeRequest request;
  for (int i = 0; i < 1024; ++i) request.add_symbols("SYMBOL" + std::to_string(i));
  EXPECT_EQ(SubscribeStatus(*stub_, request, seconds(2)).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "a valid filter of unknown symbols streams (nothing) until the deadline";
  EXPECT_NE(service_->Log().find("1024 in all"), std::string::npos) << service_->Log();
  EXPECT_LT(LongestLogLine(), 2048u);
}

// The 5 MB filter and filters past --max_filter_names, sent back to back
// straight to the service behind a gateway: each refused with its status,
// while a WebSocket client of the gateway (its prices come through the
// service) is as timely as on a quiet system and the service's memory stays
// bounded and comes back (gRPC frees each 5 MB request into a thread's
// arena; price_service's HeapReleaser hands it back).
TEST(GrpcLimitsUnderLoadTest, RepeatedOversizedFiltersCostOthersNothing) {
  System system({.rate = 1000, .gateway_args = SmallFeedLogArgs()});
  WaitForFullFeedLog(1000);
  const v1::SubscribeRequest oversized = HugeFilter();
  const v1::SubscribeRequest too_many = TooManyNames();
  std::atomic<int> refused{0}, wrongly_answered{0};
  const Impact impact = MeasureImpact(system.service(), system.gateway_port(), "/ws?protocol=v1",
                                      [&](const std::atomic<bool>& stop) {
    const std::unique_ptr<v1::PriceFeed::Stub> stub = StubFor(system.service_port());
    for (bool send_oversized = true; !stop.load(); send_oversized = !send_oversized) {
      const grpc::StatusCode expected =
          send_oversized ? grpc::StatusCode::RESOURCE_EXHAUSTED : grpc::StatusCode::INVALID_ARGUMENT;
      const grpc::Status status = SubscribeStatus(*stub, send_oversized ? oversized : too_many);
      if (status.error_code() == expected) {
        ++refused;
      } else {
        ++wrongly_answered;
      }
    }
  });
  ExpectContained(system.service(), impact);
  std::cout << refused.load() << " oversized filters refused, " << wrongly_answered.load() << " otherwise answered\n";
  EXPECT_GE(refused.load(), 100) << "the adversary hardly sent anything";
  EXPECT_EQ(wrongly_answered.load(), 0);
  EXPECT_TRUE(system.gateway().running()) << system.gateway().Log();
}

}  // namespace
}  // namespace stockfeed::testing

// Oversized gRPC requests against the real price_service: refused with a
// clear status, no giant log line, and the service keeps serving.
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "probe.h"
#include "proc_stats.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/process.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

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
    stub_ = v1::PriceFeed::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }

  grpc::Status SubscribeStatus(const v1::SubscribeRequest& request, seconds deadline = seconds(10)) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    auto reader = stub_->Subscribe(&context, request);
    v1::PriceUpdate update;
    if (reader->Read(&update)) {
      context.TryCancel();
      reader->Finish();
      return grpc::Status::OK;
    }
    return reader->Finish();
  }

  void ExpectStillServing() {
    v1::SubscribeRequest plain;
    plain.add_symbols("AAPL");
    EXPECT_TRUE(SubscribeStatus(plain).ok()) << service_->Log();
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
  // The 600,000 symbols: 77 MB per stream and a 3 MB log line before.
  const int64_t rss_before = bench::ProcessRssKib(service_->pid());
  v1::SubscribeRequest request;
  for (int i = 0; i < 600'000; ++i) request.add_symbols("S" + std::to_string(i));
  const grpc::Status status = SubscribeStatus(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  ExpectStillServing();
  EXPECT_LT(LongestLogLine(), 2048u);
  EXPECT_LT(bench::ProcessRssKib(service_->pid()) - rss_before, 32 << 10);
}

TEST_F(GrpcLimitsTest, TooManyNamesUnderTheSizeLimitAreAnInvalidArgument) {
  v1::SubscribeRequest request;
  for (int i = 0; i < 1000; ++i) request.add_symbols("S" + std::to_string(i));
  for (int i = 0; i < 25; ++i) request.add_sources("src" + std::to_string(i));
  const grpc::Status status = SubscribeStatus(request);
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
  EXPECT_EQ(SubscribeStatus(request, seconds(2)).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << "a valid filter of unknown symbols streams (nothing) until the deadline";
  EXPECT_NE(service_->Log().find("1024 in all"), std::string::npos) << service_->Log();
  EXPECT_LT(LongestLogLine(), 2048u);
}

}  // namespace
}  // namespace stockfeed::testing

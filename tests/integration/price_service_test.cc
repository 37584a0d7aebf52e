// price_service over real gRPC: the real binary on a free port.
#include <set>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "protos/grpc_reflection_subset.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/process.h"
#include "support/system.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

class PriceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    service_ = std::make_unique<ChildProcess>(
        Binaries::PriceService(),
        std::vector<std::string>{"--listen=127.0.0.1:" + std::to_string(port_), "--rate=200", "--seed=3",
                                 "--admin_listen=127.0.0.1:0"},
        TestOutputDir() + "/price_service.log");
    ASSERT_TRUE(WaitForPort(port_, seconds(10))) << service_->Log();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials());
    stub_ = v1::PriceFeed::NewStub(channel_);
  }

  std::vector<v1::PriceUpdate> Read(const v1::SubscribeRequest& request, size_t count) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + seconds(10));
    auto reader = stub_->Subscribe(&context, request);
    std::vector<v1::PriceUpdate> updates;
    v1::PriceUpdate update;
    while (updates.size() < count && reader->Read(&update)) updates.push_back(update);
    context.TryCancel();
    return updates;
  }

  int port_ = 0;
  std::unique_ptr<ChildProcess> service_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PriceFeed::Stub> stub_;
};

TEST_F(PriceServiceTest, SubscribeWithASymbolFilterGetsOnlyThatSymbol) {
  v1::SubscribeRequest request;
  request.add_symbols("MSFT");
  const std::vector<v1::PriceUpdate> updates = Read(request, 30);
  ASSERT_EQ(updates.size(), 30u);
  uint64_t last = 0;
  for (const v1::PriceUpdate& update : updates) {
    EXPECT_EQ(update.symbol(), "MSFT");
    EXPECT_GT(update.sequence(), last);
    EXPECT_FALSE(update.epoch().empty());
    EXPECT_EQ(update.kind(), v1::UPDATE_KIND_LIVE);
    EXPECT_GT(update.price(), 0);
    last = update.sequence();
  }
}

TEST_F(PriceServiceTest, UnfilteredStreamHasConsecutiveSequencesAndSnapshotComesFirst) {
  v1::SubscribeRequest request;
  request.set_snapshot(true);
  const std::vector<v1::PriceUpdate> updates = Read(request, 100);
  ASSERT_EQ(updates.size(), 100u);
  size_t i = 0;
  std::set<std::pair<std::string, std::string>> keys;
  for (; i < updates.size() && updates[i].kind() == v1::UPDATE_KIND_SNAPSHOT; ++i) {
    EXPECT_TRUE(keys.emplace(updates[i].symbol(), updates[i].source()).second) << "one snapshot entry per pair";
  }
  EXPECT_GT(keys.size(), 0u);
  for (size_t j = i + 1; j < updates.size(); ++j) {
    EXPECT_EQ(updates[j].sequence(), updates[j - 1].sequence() + 1);
  }
}

TEST_F(PriceServiceTest, ResumeReplaysExactlyWhatWasMissed) {
  const std::vector<v1::PriceUpdate> first = Read(v1::SubscribeRequest(), 5);
  ASSERT_EQ(first.size(), 5u);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  v1::SubscribeRequest resume;
  resume.set_after_sequence(first.back().sequence());
  resume.set_epoch(first.back().epoch());
  const std::vector<v1::PriceUpdate> replay = Read(resume, 40);
  ASSERT_EQ(replay.size(), 40u);
  EXPECT_EQ(replay.front().sequence(), first.back().sequence() + 1);
  EXPECT_EQ(replay.front().kind(), v1::UPDATE_KIND_REPLAY);
  for (size_t j = 1; j < replay.size(); ++j) EXPECT_EQ(replay[j].sequence(), replay[j - 1].sequence() + 1);

  v1::SubscribeRequest other_epoch;
  other_epoch.set_after_sequence(3);
  other_epoch.set_epoch("not-this-one");
  const std::vector<v1::PriceUpdate> fresh = Read(other_epoch, 1);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh.front().kind(), v1::UPDATE_KIND_SNAPSHOT);
}

TEST_F(PriceServiceTest, InvalidFiltersAreRejectedWithInvalidArgument) {
  v1::SubscribeRequest request;
  request.add_symbols("no spaces allowed");
  grpc::ClientContext context;
  auto reader = stub_->Subscribe(&context, request);
  v1::PriceUpdate update;
  EXPECT_FALSE(reader->Read(&update));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("symbol"), std::string::npos);
}

TEST_F(PriceServiceTest, GetLatestAndListSymbolsDescribeTheFeed) {
  ASSERT_TRUE(Eventually([&] {
    grpc::ClientContext context;
    v1::ListSymbolsResponse response;
    return stub_->ListSymbols(&context, v1::ListSymbolsRequest(), &response).ok() && response.symbols_size() == 6 &&
           response.sources_size() == 2;
  }, seconds(10)));
  grpc::ClientContext context;
  v1::GetLatestRequest request;
  request.add_sources("finnhub");
  v1::GetLatestResponse response;
  ASSERT_TRUE(stub_->GetLatest(&context, request, &response).ok());
  EXPECT_FALSE(response.epoch().empty());
  EXPECT_GT(response.last_sequence(), 0u);
  ASSERT_GT(response.updates_size(), 0);
  for (const v1::PriceUpdate& update : response.updates()) EXPECT_EQ(update.source(), "finnhub");
}

TEST_F(PriceServiceTest, HealthIsServingAndReflectionListsTheService) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  for (const char* service : {"", "stockfeed.v1.PriceFeed"}) {
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&context, request, &response).ok()) << service;
    EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING) << service;
  }

  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  grpc::ClientContext context;
  auto stream = reflection->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::set<std::string> names;
  for (const auto& service : response.list_services_response().service()) names.insert(service.name());
  EXPECT_TRUE(names.contains("stockfeed.v1.PriceFeed"));
  EXPECT_TRUE(names.contains("grpc.health.v1.Health"));
}

TEST(PriceServiceFlags, BadFlagsFailWithAClearMessage) {
  const std::string dir = TestOutputDir();
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"--rate=-1"}, "--rate=-1 must be > 0"},
      {{"--source=kafka"}, "--source='kafka' is not a source"},
      {{"--symbols=AAPL,AAPL"}, "'AAPL' given twice"},
      {{"--symbols=bad symbol"}, "invalid symbol"},
      {{"--listen=1.2.3.4"}, "missing ':PORT'"},
      {{"--volatility=9"}, "--volatility=9"},
      {{"--rate=abc"}, "rate"},
  };
  int n = 0;
  for (const auto& [args, message] : cases) {
    ChildProcess service(Binaries::PriceService(), args, dir + "/case" + std::to_string(++n) + ".log");
    EXPECT_EQ(service.Wait(seconds(10)), 1) << args[0];
    EXPECT_NE(service.Log().find(message), std::string::npos) << service.Log();
  }
}

TEST(PriceServiceSignals, SigtermShutsDownCleanlyWithExitZero) {
  const int port = FreePort();
  ChildProcess service(Binaries::PriceService(), {"--listen=127.0.0.1:" + std::to_string(port), "--admin_listen=127.0.0.1:0"},
                       TestOutputDir() + "/price_service.log");
  ASSERT_TRUE(WaitForPort(port, seconds(10)));
  service.Signal(SIGTERM);
  EXPECT_EQ(service.Wait(seconds(10)), 0) << service.Log();
  EXPECT_NE(service.Log().find("received SIGTERM"), std::string::npos);
}

}  // namespace
}  // namespace stockfeed::testing

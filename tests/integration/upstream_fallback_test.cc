// A new ws_gateway against a price_service from before SubscribeBatched: it
// falls back to Subscribe on the same replica and resumes exactly as before
// (after_sequence + epoch). The old service is a gRPC server in this test
// that implements Subscribe only; SubscribeBatched answers UNIMPLEMENTED, as
// the generated service does for a method it does not have.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kEpoch[] = "old-service-epoch";

// Subscribe only: 200 updates/s of one numbering that survives restarts of
// the server, resuming after `after_sequence` when the epoch matches.
class OldPriceFeed final : public v1::PriceFeed::Service {
 public:
  grpc::Status Subscribe(grpc::ServerContext* context, const v1::SubscribeRequest* request,
                         grpc::ServerWriter<v1::PriceUpdate>* writer) override {
    uint64_t sequence = 0;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(*request);
      sequence = request->epoch() == kEpoch && request->after_sequence() > 0 ? request->after_sequence()
                                                                             : published_;
    }
    while (!context->IsCancelled()) {
      {
        std::lock_guard lock(mu_);
        published_ = std::max(published_, sequence + 1);
      }
      v1::PriceUpdate update;
      update.set_symbol("AAPL");
      update.set_source("finnhub");
      update.set_price(100.0 + static_cast<double>(sequence % 100));
      update.set_event_time_us(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
      update.set_sequence(++sequence);
      update.set_epoch(kEpoch);
      update.set_kind(v1::UPDATE_KIND_LIVE);
      if (!writer->Write(update)) break;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return grpc::Status::OK;
  }

  std::vector<v1::SubscribeRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::mutex mu_;
  std::vector<v1::SubscribeRequest> requests_;
  uint64_t published_ = 0;  // the highest sequence written so far
};

std::unique_ptr<grpc::Server> Serve(OldPriceFeed& service, int port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  return builder.BuildAndStart();
}

// Reads `count` prices (not snapshot values) and returns their sequences;
// stops early at a status message saying the upstream is lost.
std::vector<uint64_t> ReadPrices(WsClient& client, size_t count) {
  std::vector<uint64_t> sequences;
  while (sequences.size() < count) {
    std::optional<json::value> frame = client.ReadJson(seconds(10));
    if (!frame) break;
    if (IsType(*frame, "status") && frame->as_object().at("upstream") == "reconnecting") break;
    if (IsType(*frame, "price") && !frame->as_object().contains("snapshot")) {
      sequences.push_back(Seq(frame->as_object()));
    }
  }
  return sequences;
}

TEST(UpstreamFallbackTest, AnOldServiceIsReadWithSubscribeAndResumedExactly) {
  const std::string dir = TestOutputDir();
  OldPriceFeed old_service;
  const int service_port = FreePort();
  std::unique_ptr<grpc::Server> server = Serve(old_service, service_port);
  ASSERT_TRUE(server);

  const int gateway_port = FreePort();
  ChildProcess gateway(Binaries::Gateway(),
                       {"--listen=127.0.0.1:" + std::to_string(gateway_port), "--web_root=" + Binaries::WebRoot(),
                        "--threads=1", "--upstream=127.0.0.1:" + std::to_string(service_port),
                        // Passes far apart: the last prices before the service goes away
                        // are still waiting for one when the gateway learns it has gone,
                        // and must reach the client before the "reconnecting" status.
                        "--fanout_interval=500ms"},
                       dir + "/ws_gateway.log");
  ASSERT_TRUE(WaitForPort(gateway_port, seconds(10))) << gateway.Log();
  WsClient client(gateway_port, "/ws?protocol=v1");
  std::vector<uint64_t> before = ReadPrices(client, 100);
  ASSERT_EQ(before.size(), 100u) << gateway.Log();
  EXPECT_NE(gateway.Log().find("has no SubscribeBatched"), std::string::npos) << gateway.Log();

  // The old service goes away (the client hears so after its last price)
  // and comes back on the same port.
  server->Shutdown(std::chrono::system_clock::now() + milliseconds(200));
  server->Wait();
  const std::vector<uint64_t> rest = ReadPrices(client, 1'000'000);
  before.insert(before.end(), rest.begin(), rest.end());
  for (size_t j = 1; j < before.size(); ++j) ASSERT_EQ(before[j], before[j - 1] + 1);
  server = Serve(old_service, service_port);
  ASSERT_TRUE(server);

  const std::vector<uint64_t> after = ReadPrices(client, 50);
  ASSERT_EQ(after.size(), 50u) << gateway.Log();
  EXPECT_EQ(after.front(), before.back() + 1) << "gap or duplicate across the reconnect";
  for (size_t j = 1; j < after.size(); ++j) ASSERT_EQ(after[j], after[j - 1] + 1);

  // Each Subscribe the gateway sent resumed from exactly what it had: the
  // first from nothing, the second after the last price it received.
  const std::vector<v1::SubscribeRequest> requests = old_service.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].after_sequence(), 0u);
  EXPECT_TRUE(requests[0].snapshot());
  EXPECT_EQ(requests[1].after_sequence(), before.back());
  EXPECT_EQ(requests[1].epoch(), kEpoch);
  EXPECT_TRUE(requests[1].snapshot());
  server->Shutdown(std::chrono::system_clock::now() + milliseconds(200));
}

}  // namespace
}  // namespace stockfeed::testing

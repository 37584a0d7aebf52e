// Bars over real sockets: GetBars of the real price_service (simulator mode)
// against the raw updates of its own stream, and the gateway's
// GET /api/v1/bars against the raw updates the gateway itself forwarded.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/process.h"
#include "support/raw_http.h"
#include "support/system.h"
#include "support/ws_client.h"

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

TEST(SimulatorBackfill, BarsCoverThePastAtStart) {
  const int port = FreePort();
  ChildProcess service(Binaries::PriceService(),
                       {"--listen=127.0.0.1:" + std::to_string(port), "--rate=20", "--backfill=10m",
                        "--admin_listen=127.0.0.1:0"},
                       TestOutputDir() + "/backfill.log");
  ASSERT_TRUE(WaitForPort(port, seconds(10))) << service.Log();
  auto stub = v1::PriceFeed::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  v1::GetBarsRequest request;
  request.set_symbol("AAPL");
  request.set_source("finnhub");
  request.set_interval_seconds(60);
  v1::GetBarsResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->GetBars(&context, request, &response).ok());
  // 20 prices/s over 12 pairs for 10 minutes: every minute has bars.
  ASSERT_GE(response.bars_size(), 10);
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(response.bars(0).start_time_us(), now_us - 9 * 60 * kSecondUs);
  for (const v1::Bar& bar : response.bars()) {
    EXPECT_GT(bar.update_count(), 0u);
    EXPECT_LE(bar.low(), std::min(bar.open(), bar.close()));
    EXPECT_GE(bar.high(), std::max(bar.open(), bar.close()));
  }
}

// GET /api/v1/bars on the real gateway in front of the real service.
class GatewayBarsTest : public ::testing::Test {
 protected:
  static std::string BarsTarget(const std::string& query) { return "/api/v1/bars?" + query; }
  void WaitReady() {
    ASSERT_TRUE(Eventually([&] { return HttpGet(system_.gateway_port(), "/readyz").status == 200; }, seconds(15)))
        << system_.gateway().Log();
  }
  System system_{{.rate = 300, .service_args = {"--seed=7"}}};
};

TEST_F(GatewayBarsTest, BarsAgreeWithTheUpdatesTheGatewayForwarded) {
  WaitReady();
  WsClient client(system_.gateway_port(), "/?protocol=v1");
  std::vector<boost::json::object> prices;
  int64_t first_us = 0;
  while (true) {
    std::optional<boost::json::object> price = client.ReadUntilType("price", seconds(10));
    ASSERT_TRUE(price);
    // Connected before the gateway's first upstream snapshot, a client gets
    // that snapshot's prices first: latest values, their seqs not consecutive.
    if (price->contains("snapshot")) continue;
    if (!prices.empty()) {
      ASSERT_EQ(Seq(*price), Seq(prices.back()) + 1);
    }
    const int64_t t = price->at("event_time_us").to_number<int64_t>();
    if (first_us == 0) first_us = t;
    prices.push_back(std::move(*price));
    if (t - first_us > 4 * kSecondUs) break;
  }
  const int64_t from_s = first_us / kSecondUs + 1;
  const int64_t to_s = prices.back().at("event_time_us").to_number<int64_t>() / kSecondUs;
  std::map<int64_t, Expected> expected;
  for (const boost::json::object& p : prices) {
    const int64_t t = p.at("event_time_us").to_number<int64_t>();
    if (p.at("symbol") != "NVDA" || p.at("source") != "alpha_vantage" || t < from_s * kSecondUs ||
        t >= to_s * kSecondUs) {
      continue;
    }
    const double price = p.at("price").to_number<double>();
    auto [it, fresh] = expected.try_emplace(t / kSecondUs, Expected{price, price, price, price, 0});
    it->second.high = std::max(it->second.high, price);
    it->second.low = std::min(it->second.low, price);
    it->second.close = price;
    ++it->second.count;
  }
  ASSERT_GE(expected.size(), 2u);

  const HttpResult result =
      HttpGet(system_.gateway_port(), BarsTarget("symbol=NVDA&source=alpha_vantage&interval=1s&from=" +
                                                 std::to_string(from_s) + "&to=" + std::to_string(to_s)));
  ASSERT_EQ(result.status, 200) << result.body;
  EXPECT_EQ(result.content_type, "application/json");
  // The range has ended: cacheable.
  EXPECT_EQ(result.cache_control, "public, max-age=300");
  const boost::json::object body = boost::json::parse(result.body).as_object();
  EXPECT_EQ(body.at("interval_seconds").to_number<int>(), 1);
  EXPECT_EQ(body.at("session").at("time_zone"), "UTC");
  const boost::json::array& bars = body.at("bars").as_array();
  ASSERT_EQ(bars.size(), expected.size()) << result.body;
  size_t i = 0;
  for (const auto& [second, e] : expected) {
    const boost::json::object& bar = bars[i++].as_object();
    EXPECT_EQ(bar.at("time").to_number<int64_t>(), second);
    EXPECT_EQ(bar.at("open").to_number<double>(), e.open);
    EXPECT_EQ(bar.at("high").to_number<double>(), e.high);
    EXPECT_EQ(bar.at("low").to_number<double>(), e.low);
    EXPECT_EQ(bar.at("close").to_number<double>(), e.close);
    EXPECT_EQ(bar.at("count").to_number<uint64_t>(), e.count);
  }
}

TEST_F(GatewayBarsTest, ABatchAnswersEveryPairAsItsOwnRequestWould) {
  WaitReady();
  std::this_thread::sleep_for(seconds(3));  // a few seconds of bars
  // Ended two seconds ago: both answers are final.
  const int64_t to_s =
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch()).count() - 2;
  const std::string range = "&interval=1s&from=" + std::to_string(to_s - 3) + "&to=" + std::to_string(to_s);
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"NVDA", "alpha_vantage"}, {"AAPL", "finnhub"}, {"NOPE", "finnhub"}, {"AAPL", "alpha_vantage"}};
  std::string list;
  for (const auto& [symbol, source] : pairs) list += (list.empty() ? "" : ",") + symbol + ":" + source;
  const HttpResult batch = HttpGet(system_.gateway_port(), BarsTarget("pairs=" + list + range));
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.cache_control, "public, max-age=300");
  const boost::json::object body = boost::json::parse(batch.body).as_object();
  EXPECT_EQ(body.at("interval_seconds").to_number<int>(), 1);
  const boost::json::array& results = body.at("results").as_array();
  ASSERT_EQ(results.size(), pairs.size());
  size_t with_bars = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    SCOPED_TRACE(pairs[i].first + ":" + pairs[i].second);
    const HttpResult single = HttpGet(system_.gateway_port(),
                                      BarsTarget("symbol=" + pairs[i].first + "&source=" + pairs[i].second + range));
    ASSERT_EQ(single.status, 200) << single.body;
    const boost::json::object alone = boost::json::parse(single.body).as_object();
    const boost::json::object& result = results[i].as_object();
    EXPECT_EQ(result.at("symbol"), alone.at("symbol"));
    EXPECT_EQ(result.at("source"), alone.at("source"));
    EXPECT_EQ(result.at("session"), alone.at("session"));
    EXPECT_EQ(result.at("bars"), alone.at("bars"));
    if (!alone.at("bars").as_array().empty()) ++with_bars;
  }
  EXPECT_EQ(with_bars, 3u);  // all but the unknown pair, whose answer is empty
}

TEST_F(GatewayBarsTest, BadBatchesAreClear400s) {
  WaitReady();
  std::string sixty_five;
  for (int i = 0; i < 65; ++i) sixty_five += (i ? ",S" : "S") + std::to_string(i) + ":sim";
  const std::pair<std::string, std::string> cases[] = {
      {"pairs=AAPL&interval=1m", "comma-separated list of symbol:source"},
      {"pairs=" + sixty_five + "&interval=1h&limit=1", "more than 64 symbol:source pairs"},
      {"pairs=AAPL:finnhub,MSFT:finnhub,NVDA:finnhub&interval=1s&limit=4000", "at most 10000 bars"},
      {"pairs=AAPL:finnhub&symbol=AAPL&source=finnhub&interval=1m", "not both"},
      // What only the service can tell, for any pair, fails the whole batch in its words.
      {"pairs=AAPL:finnhub,MSFT:finnhub&interval=1m&from=99999999999", "invalid_query"},
  };
  for (const auto& [query, message] : cases) {
    SCOPED_TRACE(query.substr(0, 80));
    const HttpResult result = HttpGet(system_.gateway_port(), BarsTarget(query));
    EXPECT_EQ(result.status, 400);
    EXPECT_EQ(result.content_type, "application/json");
    EXPECT_NE(result.body.find(message), std::string::npos) << result.body;
  }
}

TEST_F(GatewayBarsTest, BadQueriesAreClear400s) {
  WaitReady();
  const std::pair<std::string, std::string> cases[] = {
      {"source=finnhub&interval=1m", "'symbol' is required"},
      {"symbol=AAPL&source=finnhub&interval=2m", "'interval' must be 1s, 1m, 5m or 1h"},
      {"symbol=AAPL&source=finnhub&interval=1m&limit=0", "'limit' must be an integer from 1 to 5000"},
      {"symbol=AAPL&source=finnhub&interval=1m&from=20&to=10", "'from' must be before 'to'"},
      {"symbol=AAPL&source=finnhub&interval=1m&from=yesterday", "'from' must be a time in Unix seconds"},
      {"symbol=AA%ZZ&source=finnhub&interval=1m", "percent-encoding"},
  };
  for (const auto& [query, message] : cases) {
    SCOPED_TRACE(query);
    const HttpResult result = HttpGet(system_.gateway_port(), BarsTarget(query));
    EXPECT_EQ(result.status, 400);
    EXPECT_EQ(result.content_type, "application/json");
    EXPECT_NE(result.body.find(message), std::string::npos) << result.body;
  }
  // What only the service can tell (a range in the future) keeps its words.
  const HttpResult future =
      HttpGet(system_.gateway_port(), BarsTarget("symbol=AAPL&source=finnhub&interval=1m&from=99999999999"));
  EXPECT_EQ(future.status, 400) << future.body;
  EXPECT_NE(future.body.find("invalid_query"), std::string::npos) << future.body;
  // Other methods are refused as on every other route.
  const std::string put = RawRequest(system_.gateway_port(),
                                     "PUT /api/v1/bars?symbol=AAPL&source=finnhub&interval=1m HTTP/1.1\r\n"
                                     "Host: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(put), 405) << put;
}

TEST_F(GatewayBarsTest, EntityTagRevalidatesAndHeadHasNoBody) {
  WaitReady();
  const std::string target = BarsTarget("symbol=AAPL&source=finnhub&interval=1s&from=1000&to=2000");
  const std::string response = RawRequest(
      system_.gateway_port(), "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(StatusOf(response), 200) << response;
  const size_t at = response.find("ETag: ");
  ASSERT_NE(at, std::string::npos) << response;
  const std::string etag = response.substr(at + 6, response.find("\r\n", at) - at - 6);
  const std::string again = RawRequest(system_.gateway_port(), "GET " + target +
                                                                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: " +
                                                                   etag + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(again), 304) << again;
  const std::string head = RawRequest(
      system_.gateway_port(), "HEAD " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(head), 200) << head;
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");
}

TEST_F(GatewayBarsTest, NoUpstreamIs503AndBarsComeBackWithIt) {
  WaitReady();
  const std::string target = BarsTarget("symbol=AAPL&source=finnhub&interval=1m");
  ASSERT_EQ(HttpGet(system_.gateway_port(), target).status, 200);
  system_.KillService();
  ASSERT_TRUE(Eventually([&] { return HttpGet(system_.gateway_port(), target).status == 503; }, seconds(15)));
  const HttpResult down = HttpGet(system_.gateway_port(), target);
  EXPECT_EQ(down.status, 503);
  EXPECT_NE(down.body.find("upstream_unavailable"), std::string::npos) << down.body;
  system_.StartService();
  EXPECT_TRUE(Eventually([&] { return HttpGet(system_.gateway_port(), target).status == 200; }, seconds(15)))
      << system_.gateway().Log();
}

TEST(GatewayBarsAuth, TokenAuthCoversBars) {
  // Not in TestOutputDir(): System empties that.
  const std::string secret =
      (std::filesystem::temp_directory_path() / ("stockfeed-bars-secret-" + std::to_string(::getpid()))).string();
  std::ofstream(secret) << "a-secret-of-at-least-thirty-two-bytes-length";
  System system({.gateway_args = {"--jwt_hs256_secret_file=" + secret}});
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/healthz").status == 200; }, seconds(15)));
  const HttpResult result = HttpGet(system.gateway_port(), "/api/v1/bars?symbol=AAPL&source=finnhub&interval=1m");
  EXPECT_EQ(result.status, 401) << result.body;
  std::filesystem::remove(secret);
}

TEST(PriceServiceSessionFlag, ABadSessionStartFailsWithAClearMessage) {
  ChildProcess service(Binaries::PriceService(), {"--session_start=25:00 UTC"}, TestOutputDir() + "/bad.log");
  EXPECT_EQ(service.Wait(seconds(10)), 1);
  EXPECT_NE(service.Log().find("--session_start='25:00 UTC'"), std::string::npos) << service.Log();
}

}  // namespace
}  // namespace stockfeed::testing

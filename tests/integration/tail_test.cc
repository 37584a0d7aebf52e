// stockfeed_tail, the real binary, against a real price_service.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/process.h"
#include "support/system.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

struct Line {
  uint64_t seq;
  std::string epoch;
  std::string kind;
};

// The tail's stdout and stderr share one log; prices are the lines that are JSON objects.
std::vector<Line> Prices(const std::string& log) {
  std::vector<Line> lines;
  std::istringstream in(log);
  for (std::string text; std::getline(in, text);) {
    if (text.empty() || text[0] != '{') continue;
    const boost::json::object object = boost::json::parse(text).as_object();
    lines.push_back({object.at("seq").to_number<uint64_t>(), std::string(object.at("epoch").as_string()),
                     std::string(object.at("kind").as_string())});
  }
  return lines;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestOutputDir();
    port_ = FreePort();
    StartService();
  }

  void StartService() {
    service_ = std::make_unique<ChildProcess>(
        Binaries::PriceService(),
        std::vector<std::string>{"--listen=127.0.0.1:" + std::to_string(port_), "--rate=100", "--seed=5",
                                 "--admin_listen=127.0.0.1:0"},
        dir_ + "/price_service." + std::to_string(++service_starts_) + ".log");
    ASSERT_TRUE(WaitForPort(port_, seconds(10))) << service_->Log();
    stub_ = v1::PriceFeed::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }

  std::unique_ptr<ChildProcess> Tail(std::vector<std::string> args) {
    args.insert(args.begin(), "--target=127.0.0.1:" + std::to_string(port_));
    return std::make_unique<ChildProcess>(STOCKFEED_TAIL_PATH, std::move(args),
                                          dir_ + "/tail." + std::to_string(++tail_runs_) + ".log");
  }

  // Runs the tail to completion; returns its log.
  std::string RunTail(std::vector<std::string> args, int expected_exit = 0) {
    std::unique_ptr<ChildProcess> tail = Tail(std::move(args));
    const std::optional<int> code = tail->Wait(seconds(60));
    EXPECT_EQ(code, expected_exit) << tail->Log();
    return tail->Log();
  }

  uint64_t LastSequence() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + seconds(10));
    v1::GetLatestResponse response;
    EXPECT_TRUE(stub_->GetLatest(&context, v1::GetLatestRequest(), &response).ok());
    return response.last_sequence();
  }

  std::string dir_;
  int port_ = 0;
  int service_starts_ = 0;
  int tail_runs_ = 0;
  std::unique_ptr<ChildProcess> service_;
  std::unique_ptr<v1::PriceFeed::Stub> stub_;
};

TEST_F(TailTest, RestartedWithStateFilePrintsExactlyTheMissedHundredFirst) {
  const std::string state = dir_ + "/position";
  const std::vector<Line> first = Prices(RunTail({"--state_file=" + state, "--count=20"}));
  ASSERT_EQ(first.size(), 20u);
  const uint64_t stopped_at = first.back().seq;
  EXPECT_EQ(ReadFile(state), "epoch=" + first.back().epoch + "\nsequence=" + std::to_string(stopped_at) + "\n");

  ASSERT_TRUE(Eventually([&] { return LastSequence() >= stopped_at + 100; }, seconds(30)));
  const std::vector<Line> second = Prices(RunTail({"--state_file=" + state, "--count=100"}));
  ASSERT_EQ(second.size(), 100u);
  for (size_t i = 0; i < second.size(); ++i) {
    EXPECT_EQ(second[i].seq, stopped_at + 1 + i) << "line " << i;
    EXPECT_EQ(second[i].kind, "replay") << "line " << i;
    EXPECT_EQ(second[i].epoch, first.back().epoch);
  }
  EXPECT_EQ(ReadFile(state), "epoch=" + first.back().epoch + "\nsequence=" + std::to_string(stopped_at + 100) + "\n");
}

TEST_F(TailTest, SigtermSavesThePositionOfTheLastPrintedPrice) {
  const std::string state = dir_ + "/position";
  std::unique_ptr<ChildProcess> tail = Tail({"--state_file=" + state});
  ASSERT_TRUE(Eventually([&] { return Prices(tail->Log()).size() >= 30; }, seconds(30))) << tail->Log();
  tail->Signal(SIGTERM);
  ASSERT_EQ(tail->Wait(seconds(10)), 0) << tail->Log();
  const std::vector<Line> first = Prices(tail->Log());
  EXPECT_EQ(ReadFile(state), "epoch=" + first.back().epoch + "\nsequence=" + std::to_string(first.back().seq) + "\n");

  const std::vector<Line> second = Prices(RunTail({"--state_file=" + state, "--count=50"}));
  ASSERT_EQ(second.size(), 50u);
  for (size_t i = 0; i < second.size(); ++i) EXPECT_EQ(second[i].seq, first.back().seq + 1 + i);
}

TEST_F(TailTest, FromSeqResumesAndCountStops) {
  ASSERT_TRUE(Eventually([&] { return LastSequence() >= 60; }, seconds(30)));
  const std::vector<Line> lines = Prices(RunTail({"--from_seq=10", "--count=40"}));
  ASSERT_EQ(lines.size(), 40u);
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i].seq, 11 + i);
}

TEST_F(TailTest, ReconnectsAfterTheServiceRestartsAndReportsTheNewEpoch) {
  std::unique_ptr<ChildProcess> tail = Tail({"--backoff_max=500ms"});
  ASSERT_TRUE(Eventually([&] { return Prices(tail->Log()).size() >= 10; }, seconds(30))) << tail->Log();
  const std::string old_epoch = Prices(tail->Log()).front().epoch;
  service_->Signal(SIGKILL);
  service_->Wait(seconds(5));
  StartService();
  ASSERT_TRUE(Eventually([&] { return !Prices(tail->Log()).empty() && Prices(tail->Log()).back().epoch != old_epoch; },
                         seconds(30)))
      << tail->Log();
  const std::string log = tail->Log();
  EXPECT_NE(log.find("stream lost"), std::string::npos) << log;
  EXPECT_NE(log.find("epoch changed from '" + old_epoch + "'"), std::string::npos) << log;
  // Within each epoch the unfiltered live stream stays strictly consecutive
  // (the new epoch starts with a snapshot, ordered by symbol, not sequence).
  const std::vector<Line> lines = Prices(log);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].epoch == lines[i - 1].epoch && lines[i].kind == "live" && lines[i - 1].kind == "live") {
      EXPECT_EQ(lines[i].seq, lines[i - 1].seq + 1) << "line " << i;
    }
  }
  tail->Signal(SIGINT);
  EXPECT_EQ(tail->Wait(seconds(10)), 0);
}

TEST_F(TailTest, LatestAndSymbols) {
  ASSERT_TRUE(Eventually([&] { return LastSequence() >= 50; }, seconds(30)));
  const std::vector<Line> latest = Prices(RunTail({"latest", "--symbols=AAPL"}));
  EXPECT_EQ(latest.size(), 2u) << "AAPL from two sources";
  for (const Line& line : latest) EXPECT_EQ(line.kind, "snapshot");
  const std::string symbols = RunTail({"symbols"});
  EXPECT_NE(symbols.find(R"({"symbols":["AAPL","AMZN","GOOGL","MSFT","NVDA","TSLA"],"sources":["alpha_vantage","finnhub"]})"),
            std::string::npos)
      << symbols;
  const std::string csv = RunTail({"latest", "--format=csv", "--sources=finnhub"});
  EXPECT_EQ(csv.rfind("seq,epoch,kind,symbol,source,price,event_time_us\n", 0), 0u) << csv;
}

TEST_F(TailTest, BadFlagsAndUnreachableServiceGiveClearErrors) {
  EXPECT_NE(RunTail({"--format=xml"}, 2).find("--format: unknown format 'xml'"), std::string::npos);
  EXPECT_NE(RunTail({"--symbols=A PL"}, 2).find("--symbols"), std::string::npos);
  EXPECT_NE(RunTail({"latest", "--count=3"}, 2).find("streaming only"), std::string::npos);
  EXPECT_NE(RunTail({"follow"}, 2).find("unknown command 'follow'"), std::string::npos);
  const std::string state = dir_ + "/corrupt";
  std::ofstream(state) << "nonsense";
  EXPECT_NE(RunTail({"--state_file=" + state}, 1).find("is not a position"), std::string::npos);

  service_->Signal(SIGKILL);
  service_->Wait(seconds(5));
  EXPECT_NE(RunTail({"--connect_timeout=1s"}, 1).find("unreachable"), std::string::npos);
  EXPECT_NE(RunTail({"symbols", "--connect_timeout=1s"}, 1).find("unreachable"), std::string::npos);
}

}  // namespace
}  // namespace stockfeed::testing

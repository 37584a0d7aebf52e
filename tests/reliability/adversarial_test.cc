// Adversarial clients against the real binaries. Each test measures a
// well-behaved client's p99 latency on a quiet gateway, then again while the
// adversary runs, and asserts (support/probe.h): the gateway stays up, the
// p99 stays within 2x of the quiet run, memory stays bounded, and it returns
// near the baseline after the adversary leaves.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "burst.h"
#include "gtest/gtest.h"
#include "probe.h"
#include "proc_stats.h"
#include "support/raw_http.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<std::string> ManySymbols(int count) {
  std::vector<std::string> symbols;
  for (int i = 0; i < count; ++i) symbols.push_back(absl::StrCat("S", 1000 + i));
  return symbols;
}

std::string SymbolsJson(const std::vector<std::string>& symbols) {
  return absl::StrCat("[\"", absl::StrJoin(symbols, "\",\""), "\"]");
}

// The pattern from the issue: many symbols with deep history, subscribed
// and unsubscribed ten times a second, by clients that never read and by
// clients that do.
TEST(AdversarialTest, HistoryAmplificationIsBoundedInBytesAndRate) {
  const std::vector<std::string> symbols = ManySymbols(256);
  std::vector<std::string> gateway_args = SmallFeedLogArgs();
  gateway_args.push_back("--history_depth=20");
  System system({.rate = 2000, .service_args = {"--symbols=" + absl::StrJoin(symbols, ",")},
                 .gateway_args = gateway_args});
  WaitForFullFeedLog(2000);  // also fills 256 symbols x 20 prices of history
  // Each client keeps the first symbol and adds and drops the other 255, so
  // every subscribe asks for their history anew.
  const std::vector<std::string> churned(symbols.begin() + 1, symbols.end());
  const std::string subscribe =
      absl::StrCat(R"({"type":"subscribe","history":20,"symbols":)", SymbolsJson(churned), "}");
  const std::string unsubscribe = absl::StrCat(R"({"type":"unsubscribe","symbols":)", SymbolsJson(churned), "}");
  std::atomic<int> limited_replies{0}, truncated_histories{0};

  const std::string probe_target =
      "/ws?protocol=v1&symbols=" + absl::StrJoin(symbols.begin(), symbols.begin() + 32, ",");
  const Impact impact = MeasureImpact(system.gateway(), system.gateway_port(), probe_target,
                                      [&](const std::atomic<bool>& stop) {
    std::vector<std::thread> clients;
    for (int i = 0; i < 5; ++i) {
      const bool reads = i >= 3;
      clients.emplace_back([&, reads] {
        try {
          WsClient client(system.gateway_port(), "/ws?protocol=v1&symbols=" + symbols[0],
                          /*receive_buffer_bytes=*/reads ? 0 : 4096);
          while (!stop.load()) {
            client.Send(subscribe);
            client.Send(unsubscribe);
            const auto next = std::chrono::steady_clock::now() + milliseconds(100);
            // A reader takes the replies to both (the second "subscribed"
            // and what follows it end them); prices come in between.
            for (int acks = 0; reads && acks < 2;) {
              std::optional<boost::json::value> reply = client.ReadJson(seconds(2));
              if (!reply) break;
              if (!reply->is_object()) continue;
              const boost::json::object& object = reply->as_object();
              if (IsType(*reply, "subscribed")) ++acks;
              if (IsType(*reply, "error") && object.at("code") == "reply_rate_limited") ++limited_replies;
              if (IsType(*reply, "history") && object.contains("truncated")) ++truncated_histories;
            }
            std::this_thread::sleep_until(next);
          }
        } catch (const std::exception&) {
          // Disconnected for going past its budget: that is the policy.
        }
      });
    }
    for (std::thread& client : clients) client.join();
  });
  ExpectContained(system.gateway(), impact);
  EXPECT_GT(truncated_histories.load(), 0) << "history replies were not capped by --max_history_bytes";
  EXPECT_GT(limited_replies.load(), 0) << "history requests were not limited in rate";
}

// Clients that connect and never read, on a busy feed: they are conflated
// or dropped, and cost nobody else anything.
TEST(AdversarialTest, NeverReadingClientsAtAHighRateCostOthersNothing) {
  System system({.rate = 5000, .gateway_args = SmallFeedLogArgs()});
  WaitForFullFeedLog(5000);
  const Impact impact =
      MeasureImpact(system.gateway(), system.gateway_port(), "/ws?protocol=v1", [&](const std::atomic<bool>& stop) {
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 50 && !stop.load(); ++i) {
      clients.push_back(std::make_unique<WsClient>(system.gateway_port(), i % 2 ? "/ws?protocol=v1&history=100" : "/",
                                                   /*receive_buffer_bytes=*/4096));
    }
    while (!stop.load()) std::this_thread::sleep_for(milliseconds(50));
  });
  ExpectContained(system.gateway(), impact);
}

// One client sending pings as fast as it can and reading nothing: pings
// count toward --control_rate, so it is sent close 1008; as it never
// answers, it is cut off when the close handshake times out.
TEST(AdversarialTest, PingFloodIsClosedByTheMessageRateLimit) {
  std::vector<std::string> gateway_args = SmallFeedLogArgs();
  gateway_args.push_back("--handshake_timeout=2s");  // also bounds the close handshake
  System system({.rate = 1000, .gateway_args = gateway_args});
  WaitForFullFeedLog(1000);
  std::atomic<int> pings_sent{0};
  std::atomic<bool> cut_off{false};
  const Impact impact =
      MeasureImpact(system.gateway(), system.gateway_port(), "/ws?protocol=v1", [&](const std::atomic<bool>& stop) {
    try {
      WsClient client(system.gateway_port(), "/ws?protocol=v1");
      while (!stop.load()) {
        client.Ping();
        ++pings_sent;
      }
    } catch (const std::exception&) {
      cut_off = true;
    }
  });
  ExpectContained(system.gateway(), impact);
  EXPECT_TRUE(cut_off.load()) << "a client sent " << pings_sent.load() << " pings and was never cut off";
  EXPECT_NE(system.gateway().Log().find("too many messages"), std::string::npos) << system.gateway().Log();
}

// The issue's burst: 300 upgrades at once against --max_connections=100,
// once a second, each burst holding what it got until the next. At most 100
// get in, the rest are answered 503 at accept; a client already connected
// keeps getting prices as timely as on a quiet gateway (p99 within 2x) and
// the gateway's memory stays bounded. The upgrades ask for one symbol, so
// what is measured is the burst (accepts, refusals, handshakes, closes),
// not the cost of serving 100 more full-feed clients. The test's own client
// (300 connects a second) competes with the gateway for the cores: at load
// average 1-3 the attacked p99 came out within 10% of the quiet one, but at
// load average 11-19 it measured 2.2-10x (when this test only printed it),
// so a failure on a loaded machine says more about the machine than the
// gateway: check `uptime` and rerun before concluding anything.
TEST(AdversarialTest, ConnectionBurstsPastTheLimitAreAnsweredAndCostOthersNothing) {
  std::vector<std::string> gateway_args = SmallFeedLogArgs();
  gateway_args.push_back("--max_connections=100");
  System system({.rate = 1000, .gateway_args = gateway_args});
  WaitForFullFeedLog(1000);
  const int port = system.gateway_port();
  std::atomic<int> upgraded{0}, refused{0}, unanswered{0};
  const Impact impact = MeasureImpact(system.gateway(), port, "/ws?protocol=v1", [&](const std::atomic<bool>& stop) {
    while (!stop.load()) {
      const auto next = std::chrono::steady_clock::now() + seconds(1);
      UpgradeBurst burst(port, 300, "/ws?protocol=v1&symbols=AAPL");
      const UpgradeBurst::Answers answers = burst.Read(seconds(10));
      upgraded += answers.upgraded;
      refused += answers.refused;
      unanswered += answers.other;
      std::this_thread::sleep_until(next);
    }
  });
  ExpectContained(system.gateway(), impact);
  std::cout << upgraded.load() << " upgraded, " << refused.load() << " refused, " << unanswered.load()
            << " unanswered\n";
  EXPECT_GT(refused.load(), 0) << "the bursts never went past the limit";
  EXPECT_EQ(unanswered.load(), 0);
}

// Slowloris: 500 connections send a request head one byte a second and never
// finish it. Each is cut at --handshake_timeout; while they hold their
// sockets, and when they are all cut at once, a connected client's prices
// are as timely as on a quiet gateway.
TEST(AdversarialTest, SlowlorisCostsOthersNothing) {
  std::vector<std::string> gateway_args = SmallFeedLogArgs();
  gateway_args.push_back("--handshake_timeout=4s");
  System system({.rate = 1000, .gateway_args = gateway_args});
  WaitForFullFeedLog(1000);
  const int port = system.gateway_port();
  const std::string head = UpgradeRequest(port, "/ws");
  constexpr int kSlowClients = 500;
  int cut = 0;
  const Impact impact = MeasureImpact(system.gateway(), port, "/ws?protocol=v1", [&](const std::atomic<bool>&) {
    // Runs past the measured window on purpose: the mass cut at 4 s is in it.
    std::vector<std::unique_ptr<RawConnection>> slow;
    for (int i = 0; i < kSlowClients; ++i) slow.push_back(std::make_unique<RawConnection>(port));
    const auto give_up = std::chrono::steady_clock::now() + seconds(12);
    for (size_t byte = 0; byte + 4 < head.size() && std::chrono::steady_clock::now() < give_up; ++byte) {
      int open = 0;
      for (auto& connection : slow) open += connection->Send(std::string(1, head[byte])) ? 1 : 0;
      if (open == 0) break;
      std::this_thread::sleep_for(seconds(1));
    }
    for (auto& connection : slow) cut += connection->ClosedWithin(milliseconds(10)) ? 1 : 0;
  });
  ExpectContained(system.gateway(), impact);
  EXPECT_EQ(cut, kSlowClients) << "slow heads must be cut at --handshake_timeout";
}

// A client that asks for more than it reads goes past its byte budget and
// is disconnected, by policy, long before the write-stall timeout.
TEST(AdversarialTest, ClientPastItsByteBudgetIsDisconnected) {
  System system({.rate = 1000,
                 .gateway_args = {"--max_client_queue_bytes=65536", "--reply_bytes_per_second=65536",
                                  "--max_history_bytes=32768", "--send_buffer_bytes=4096",
                                  "--write_stall_timeout=1h"}});
  std::this_thread::sleep_for(seconds(1));
  WsClient client(system.gateway_port(), "/ws?protocol=v1", /*receive_buffer_bytes=*/4096);
  bool disconnected = Eventually(
      [&] {
        try {
          client.Send(R"({"type":"unsubscribe","symbols":["AAPL","MSFT","NVDA"]})");
          client.Send(R"({"type":"subscribe","symbols":["AAPL","MSFT","NVDA"],"history":100})");
          std::this_thread::sleep_for(milliseconds(100));
          return system.gateway().Log().find("--max_client_queue_bytes") != std::string::npos;
        } catch (const std::exception&) {
          return true;
        }
      },
      seconds(30));
  EXPECT_TRUE(disconnected) << system.gateway().Log();
  EXPECT_NE(system.gateway().Log().find("unread output past --max_client_queue_bytes"), std::string::npos);
  EXPECT_TRUE(system.gateway().running());
}

}  // namespace
}  // namespace stockfeed::testing

// The gateway's protocol for real clients (docs/protocol.md): history,
// max rate, limits, heartbeats and slow consumers, against the real binaries.
#include <cctype>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/raw_http.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;


void WaitReady(System& system) {
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(15)))
      << system.gateway().Log();
}

int ActiveConnections(int port) {
  const std::string body = HttpGet(port, "/stats").body;
  return json::parse(body).as_object().at("active_connections").to_number<int>();
}

TEST(ProtocolTest, SubscribeSendsHistoryOldestFirstBeforeLiveUpdates) {
  System system({.rate = 100});
  WaitReady(system);
  std::this_thread::sleep_for(milliseconds(1500));  // let some history accumulate

  WsClient client(system.gateway_port(), "/ws?protocol=v1&symbols=MSFT");
  ASSERT_TRUE(client.ReadUntilType("snapshot"));
  client.Send(R"({"type":"subscribe","symbols":["AAPL"],"history":5})");
  ASSERT_TRUE(client.ReadUntilType("subscribed"));
  std::optional<json::object> history = client.ReadUntilType("history");
  ASSERT_TRUE(history);
  const json::array& prices = history->at("prices").as_array();
  ASSERT_EQ(prices.size(), 5u) << json::serialize(*history);
  uint64_t last = 0;
  for (const json::value& price : prices) {
    EXPECT_EQ(price.as_object().at("symbol"), "AAPL");
    EXPECT_GT(Seq(price.as_object()), last) << "history must be oldest first";
    last = Seq(price.as_object());
  }
  // Live AAPL prices that follow are newer than the history.
  for (int seen = 0; seen < 3;) {
    std::optional<json::value> message = client.ReadJson();
    ASSERT_TRUE(message);
    if (!IsType(*message, "price") || message->as_object().at("symbol") != "AAPL") continue;
    EXPECT_GT(Seq(message->as_object()), last);
    ++seen;
  }

  client.Send(R"({"type":"subscribe","symbols":["NVDA"],"history":101})");
  std::optional<json::object> error = client.ReadUntilType("error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->at("code"), "invalid_message");
}

TEST(ProtocolTest, MaxRateConflatesToTheLatestValuesAtMostThatOften) {
  System system({.rate = 400});
  WaitReady(system);
  WsClient client(system.gateway_port(), "/ws?protocol=v1&max_rate=2");
  ASSERT_TRUE(client.ReadUntilType("snapshot"));
  int prices = 0;
  const auto end = std::chrono::steady_clock::now() + seconds(2);
  while (std::chrono::steady_clock::now() < end) {
    std::optional<json::value> message = client.ReadJson(seconds(2));
    ASSERT_TRUE(message);
    if (IsType(*message, "price")) ++prices;
  }
  // Unlimited, 2 s at 400/s would be ~800 prices; at 2 deliveries/s of at
  // most one price per symbol/source (12 pairs) it is at most ~5 x 12.
  EXPECT_GT(prices, 0);
  EXPECT_LE(prices, 60);
}

TEST(ProtocolTest, ControlMessageFloodClosesWith1008) {
  System system({.gateway_args = {"--control_rate=5", "--control_burst=10"}});
  WaitReady(system);
  WsClient client(system.gateway_port(), "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("connected"));
  for (int i = 0; i < 50; ++i) client.Send(R"({"type":"ping"})");
  while (client.Read(seconds(5))) {
  }
  EXPECT_EQ(client.close_code(), 1008);
}

// A masked client text frame (zero mask key: the payload goes as is).
std::string ClientTextFrame(const std::string& payload) {
  return std::string{'\x81', static_cast<char>(0x80 | payload.size())} + std::string(4, '\0') + payload;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

TEST(ProtocolTest, MessagesArrivingTogetherAreAllAnsweredWhileTheClientThenStaysSilent) {
  // Between messages the gateway holds no read; messages that arrive in one
  // segment, before and after the handshake completes, must still all be read.
  System system({.rate = 1});
  WaitReady(system);
  RawConnection client(system.gateway_port());
  ASSERT_TRUE(client.Send(UpgradeRequest(system.gateway_port(), "/ws?protocol=v1&symbols=NONE")));
  ASSERT_NE(client.ReadAll(seconds(5), /*stop_at_head_end=*/true).find(" 101 "), std::string::npos);
  ASSERT_TRUE(client.Send(ClientTextFrame(R"({"type":"ping","id":"a"})") +
                          ClientTextFrame(R"({"type":"ping","id":"b"})") +
                          ClientTextFrame(R"({"type":"ping","id":"c"})")));
  std::string received;
  ASSERT_TRUE(Eventually([&] {
    received += client.ReadAll(milliseconds(200));
    return Count(received, R"("type":"pong")") >= 3;
  }, seconds(10))) << received;

  // A pong (taken without Beast) with a message behind it, after a quiet
  // spell: nothing else will wake the connection, so the message must be
  // found behind the pong.
  std::this_thread::sleep_for(milliseconds(300));
  ASSERT_TRUE(client.Send(std::string{'\x8a', '\x80'} + std::string(4, '\0') +
                          ClientTextFrame(R"({"type":"ping","id":"d"})")));
  received.clear();
  EXPECT_TRUE(Eventually([&] {
    received += client.ReadAll(milliseconds(200));
    return received.find(R"("id":"d")") != std::string::npos;
  }, seconds(5))) << "the message behind the pong was not read: " << received;
}

TEST(ProtocolTest, BadConnectParametersAreRefusedWithHttp400AndAReason) {
  System system;
  WaitReady(system);
  for (const char* target : {"/ws?protocol=v9", "/ws?symbols=bad%20symbol", "/ws?after_seq=-1",
                             "/ws?history=1000", "/ws?max_rate=abc", "/ws?symbols=%zz"}) {
    EXPECT_THROW(WsClient(system.gateway_port(), target), std::exception) << target;
  }
  EXPECT_THROW(WsClient(system.gateway_port(), "/elsewhere"), std::exception);
  EXPECT_EQ(ActiveConnections(system.gateway_port()), 0);
}

TEST(ProtocolTest, IdleClientsArePingedAndThoseThatDoNotAnswerAreClosed) {
  System system({.rate = 1, .gateway_args = {"--idle_timeout=1s"}});
  WaitReady(system);
  WsClient reader(system.gateway_port(), "/ws?protocol=v1&symbols=NONE");
  WsClient silent(system.gateway_port(), "/ws?protocol=v1&symbols=NONE");
  ASSERT_TRUE(silent.ReadUntilType("snapshot"));
  ASSERT_TRUE(reader.ReadUntilType("snapshot"));
  // Reads pending for 3.5 s: the reader answers the server's pings (and
  // sends nothing else); the silent client answers nothing. Feed news (the
  // epoch, if the reader came before the first price; a status) may arrive.
  const auto end = std::chrono::steady_clock::now() + milliseconds(3500);
  for (auto now = std::chrono::steady_clock::now(); now < end; now = std::chrono::steady_clock::now()) {
    const std::optional<json::value> news =
        reader.ReadJson(std::chrono::duration_cast<milliseconds>(end - now));
    if (!news) break;
    EXPECT_TRUE(IsType(*news, "epoch") || IsType(*news, "status")) << json::serialize(*news);
  }
  EXPECT_FALSE(reader.closed());
  EXPECT_EQ(ActiveConnections(system.gateway_port()), 1) << "the answering client was dropped too";
  // The silent client finds what was sent before it was dropped, then the end.
  const auto silent_end = std::chrono::steady_clock::now() + seconds(5);
  while (!silent.closed() && std::chrono::steady_clock::now() < silent_end) {
    if (std::optional<json::value> news = silent.ReadJson(seconds(1))) {
      EXPECT_TRUE(IsType(*news, "epoch") || IsType(*news, "status")) << json::serialize(*news);
    }
  }
  EXPECT_TRUE(silent.closed()) << "the silent client was not dropped";
}

// Both ways a fan-out pass writes: batched through io_uring (the default)
// and one sendmsg per client.
class StalledReaderTest : public ::testing::TestWithParam<bool> {};

TEST_P(StalledReaderTest, AStalledReaderIsConflatedThenDroppedWhileHealthyClientsStayContinuous) {
  System system({.rate = 3000,
                 .gateway_args = {"--send_buffer_bytes=16384", "--max_backlog=500", "--write_stall_timeout=2s",
                                  GetParam() ? "--io_uring=true" : "--io_uring=false"}});
  WaitReady(system);
  WsClient stalled(system.gateway_port(), "/ws?protocol=v1", /*receive_buffer_bytes=*/4096);
  ASSERT_TRUE(stalled.ReadUntilType("connected"));
  WsClient paused(system.gateway_port(), "/ws?protocol=v1", /*receive_buffer_bytes=*/4096);
  ASSERT_TRUE(paused.ReadUntilType("connected"));
  WsClient healthy(system.gateway_port(), "/ws?protocol=v1&batch=1");

  // The healthy client reads everything, with no gap, while the others stall.
  uint64_t last = 0, received = 0;
  const auto end = std::chrono::steady_clock::now() + milliseconds(1500);
  while (std::chrono::steady_clock::now() < end) {
    std::optional<json::value> frame = healthy.ReadJson();
    ASSERT_TRUE(frame);
    const json::array items = frame->is_array() ? frame->as_array() : json::array{*frame};
    for (const json::value& item : items) {
      if (!IsType(item, "price") || item.as_object().contains("snapshot")) continue;
      const uint64_t seq = Seq(item.as_object());
      if (last != 0) {
        ASSERT_EQ(seq, last + 1) << "healthy client saw a gap";
      }
      last = seq;
      ++received;
    }
  }
  EXPECT_GT(received, 2000u);

  // The paused client resumes reading: it is told it was conflated, then
  // continues from the latest values rather than the stale backlog.
  std::optional<json::object> conflated = paused.ReadUntilType("conflated", seconds(10));
  ASSERT_TRUE(conflated);
  EXPECT_GT(conflated->at("skipped").to_number<uint64_t>(), 500u);

  // The stalled client never reads: past --write_stall_timeout it is dropped.
  EXPECT_TRUE(Eventually([&] { return ActiveConnections(system.gateway_port()) == 2; }, seconds(10)))
      << ActiveConnections(system.gateway_port());
  EXPECT_NE(system.gateway().Log().find("client stopped reading"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(PassWrites, StalledReaderTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "IoUring" : "Sendmsg";
                         });

TEST(ProtocolTest, PermessageDeflateIsNegotiatedOnlyWhenEnabledAndDecodes) {
  System plain;
  WaitReady(plain);
  WsClient uncompressed(plain.gateway_port(), "/", 0, /*offer_deflate=*/true);
  EXPECT_EQ(uncompressed.extensions(), "") << "compression is off by default";

  System compressed({.gateway_args = {"--permessage_deflate"}});
  WaitReady(compressed);
  for (const char* target : {"/", "/ws?protocol=v1&batch=1"}) {
    WsClient client(compressed.gateway_port(), target, 0, /*offer_deflate=*/true);
    EXPECT_NE(client.extensions().find("permessage-deflate"), std::string::npos);
    EXPECT_NE(client.extensions().find("server_no_context_takeover"), std::string::npos);
    uint64_t last = 0;
    for (int live = 0; live < 20;) {
      std::optional<json::value> message = client.ReadJson();
      ASSERT_TRUE(message) << target;
      if (!IsType(*message, "price") || message->as_object().contains("snapshot")) continue;
      const uint64_t seq = Seq(message->as_object());
      if (last != 0) {
        EXPECT_EQ(seq, last + 1) << target;
      }
      last = seq;
      ++live;
    }
  }
  // A client that does not offer it still gets plain frames from the same gateway.
  WsClient no_offer(compressed.gateway_port());
  EXPECT_EQ(no_offer.extensions(), "");
  EXPECT_TRUE(no_offer.ReadUntilType("price"));
}

// A v1 client that enforces increasing seq within an epoch learns of the
// new epoch (the simulator restarted, numbering from 1) before its first
// price: every price before the notice increases and belongs to the old
// epoch (at most the last seq the gateway had from it, which it logs when it
// asks to resume), so a new-epoch price slipping ahead of the notice would
// either go back in seq or pass that last seq. The client may connect while
// the gateway is still taking in its first snapshot: those values follow as
// prices too, and price_service sends them in sequence order.
TEST(ProtocolTest, ANewEpochIsAnnouncedBeforeItsFirstPrice) {
  System system({.rate = 1000});
  WaitReady(system);
  WsClient client(system.gateway_port(), "/ws?protocol=v1&symbols=AAPL");
  std::optional<json::object> welcome = client.ReadUntilType("connected");
  ASSERT_TRUE(welcome);
  const std::string first_epoch(welcome->at("epoch").as_string());
  uint64_t last_seq = 0;
  while (last_seq < 500) {
    std::optional<json::object> price = client.ReadUntilType("price");
    ASSERT_TRUE(price);
    last_seq = Seq(*price);
  }

  system.KillService();
  system.StartService();
  std::optional<std::string> new_epoch;
  std::vector<uint64_t> before_notice;
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (!new_epoch && std::chrono::steady_clock::now() < deadline) {
    std::optional<json::value> message = client.ReadJson(seconds(5));
    if (!message) continue;
    if (IsType(*message, "epoch")) new_epoch = std::string(message->as_object().at("epoch").as_string());
    if (IsType(*message, "price")) before_notice.push_back(Seq(message->as_object()));
  }
  ASSERT_TRUE(new_epoch) << "no epoch message after the restart";
  EXPECT_NE(*new_epoch, first_epoch);
  std::optional<json::object> after = client.ReadUntilType("price", seconds(10));
  ASSERT_TRUE(after) << "prices must follow the notice";

  // The last resume that named the first epoch: after the restart the
  // gateway may resubscribe within the new one too.
  const std::string log = system.gateway().Log();
  const std::string marker = "resume after seq ";
  const size_t named = log.rfind("of epoch '" + first_epoch + "'");
  ASSERT_NE(named, std::string::npos) << log;
  const size_t at = log.rfind(marker, named);
  ASSERT_NE(at, std::string::npos) << log;
  uint64_t old_last = 0;
  for (size_t i = at + marker.size(); i < log.size() && std::isdigit(static_cast<unsigned char>(log[i])); ++i) {
    old_last = old_last * 10 + static_cast<uint64_t>(log[i] - '0');
  }
  for (uint64_t seq : before_notice) {
    EXPECT_GT(seq, last_seq) << "seq went back before the epoch notice";
    EXPECT_LE(seq, old_last) << "a price of the new epoch came before the epoch notice";
    last_seq = seq;
  }
}

}  // namespace
}  // namespace stockfeed::testing

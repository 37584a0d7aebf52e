// GET /api/v1/stream (Server-Sent Events), /api/v1/latest and
// /api/v1/symbols on the real gateway: a real curl, a raw client that
// resumes with Last-Event-ID, slow clients conflated and dropped.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/process.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct SseEvent {
  std::string event;
  std::string data;
  std::optional<uint64_t> id;
};

// Splits an event stream (after the HTTP head) into events; a trailing
// partial event stays in `buffer`.
std::vector<SseEvent> TakeEvents(std::string& buffer) {
  std::vector<SseEvent> events;
  size_t end;
  while ((end = buffer.find("\n\n")) != std::string::npos) {
    SseEvent event;
    std::istringstream block(buffer.substr(0, end));
    buffer.erase(0, end + 2);
    for (std::string line; std::getline(block, line);) {
      if (line.rfind("event: ", 0) == 0) event.event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) event.data += line.substr(6);
      if (line.rfind("id: ", 0) == 0) event.id = std::stoull(line.substr(4));
      if (line == ":") event.event = ":";  // heartbeat comment
    }
    events.push_back(std::move(event));
  }
  return events;
}

// A raw HTTP client holding one event stream; can stop reading (a slow client).
class SseClient {
 public:
  SseClient(int port, const std::string& target, const std::string& extra_headers = "",
            int receive_buffer_bytes = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer_bytes > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) throw std::runtime_error("connect");
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" +
                                extra_headers + "\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      throw std::runtime_error("send");
    }
  }
  ~SseClient() { ::close(fd_); }

  // The response head ("HTTP/1.1 200 OK\r\n…"), once read.
  const std::string& head() const { return head_; }
  bool closed() const { return closed_; }

  // The next event (heartbeats included); nullopt on timeout or close.
  std::optional<SseEvent> Next(milliseconds timeout = seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pending_.empty()) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || closed_) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[65536];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        closed_ = true;  // like curl or a browser: the stream ended, hang up
        ::shutdown(fd_, SHUT_RDWR);
        continue;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
      if (head_.empty()) {
        const size_t end = buffer_.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        head_ = buffer_.substr(0, end + 4);
        buffer_.erase(0, end + 4);
      }
      for (SseEvent& event : TakeEvents(buffer_)) pending_.push_back(std::move(event));
    }
    SseEvent event = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return event;
  }

  std::optional<SseEvent> NextOf(const std::string& name, milliseconds timeout = seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::optional<SseEvent> event = Next(std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()));
      if (!event) return std::nullopt;
      if (event->event == name) return event;
    }
    return std::nullopt;
  }

 private:
  int fd_ = -1;
  std::string head_, buffer_;
  std::vector<SseEvent> pending_;
  bool closed_ = false;
};

uint64_t PriceSeq(const SseEvent& event) { return json::parse(event.data).as_object().at("seq").to_number<uint64_t>(); }

// A price the gateway replays from price_service's snapshot (the latest value
// per symbol and source, after a new epoch): their seqs skip by design.
bool FromSnapshot(const SseEvent& event) {
  const json::value parsed = json::parse(event.data);
  const json::value* flag = parsed.as_object().if_contains("snapshot");
  return flag != nullptr && flag->as_bool();
}

void WaitReady(System& system) {
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(15)))
      << system.gateway().Log();
}

json::object Stats(int port) { return json::parse(HttpGet(port, "/stats").body).as_object(); }

TEST(SseTest, CurlReceivesConsecutivePricesWithSeqAsId) {
  System system({.rate = 100});
  WaitReady(system);
  const std::string dir = TestOutputDir();
  ChildProcess curl("/usr/bin/curl",
                    {"-sN", "-D", dir + "/head.txt", "-o", dir + "/body.txt", "--max-time", "30",
                     "http://127.0.0.1:" + std::to_string(system.gateway_port()) + "/api/v1/stream"},
                    dir + "/curl.log");
  std::vector<SseEvent> prices;
  const auto read_prices = [&] {
    std::ifstream in(dir + "/body.txt");
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    prices.clear();
    for (SseEvent& event : TakeEvents(body)) {
      if (event.event == "price") prices.push_back(std::move(event));
    }
    return prices.size() >= 100;
  };
  ASSERT_TRUE(Eventually(read_prices, seconds(30))) << curl.Log();
  EXPECT_EQ(Stats(system.gateway_port()).at("sse_clients").to_number<int>(), 1);
  curl.Signal(SIGTERM);
  curl.Wait(seconds(5));

  std::ifstream head_file(dir + "/head.txt");
  const std::string head((std::istreambuf_iterator<char>(head_file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Type: text/event-stream"), std::string::npos) << head;
  // A stream that opens before the gateway has its first upstream snapshot
  // gets that snapshot's prices first, in increasing seq; live prices after
  // them are consecutive.
  size_t live = 0;
  for (size_t i = 0; i < prices.size(); ++i) {
    ASSERT_TRUE(prices[i].id.has_value());
    EXPECT_EQ(*prices[i].id, PriceSeq(prices[i])) << "the id is the price's seq";
    if (i == 0) continue;
    if (FromSnapshot(prices[i])) {
      EXPECT_TRUE(FromSnapshot(prices[i - 1])) << "a snapshot price after live ones, line " << i;
      EXPECT_GT(*prices[i].id, *prices[i - 1].id) << "snapshot prices in seq order, line " << i;
    } else if (FromSnapshot(prices[i - 1])) {
      EXPECT_GT(*prices[i].id, *prices[i - 1].id) << "live prices continue after the snapshot, line " << i;
    } else {
      EXPECT_EQ(*prices[i].id, *prices[i - 1].id + 1) << "unfiltered: consecutive, line " << i;
      ++live;
    }
  }
  EXPECT_GE(live, 50u) << "most of the prices read are live";
  EXPECT_TRUE(Eventually([&] { return Stats(system.gateway_port()).at("sse_clients").to_number<int>() == 0; },
                         seconds(10)));
}

TEST(SseTest, StartsWithConnectedStatusAndASnapshotWhoseIdIsThePosition) {
  System system({.rate = 100});
  WaitReady(system);
  SseClient client(system.gateway_port(), "/api/v1/stream?symbols=AAPL,MSFT&sources=finnhub");
  ASSERT_TRUE(client.NextOf("connected"));
  ASSERT_TRUE(client.NextOf("status"));
  std::optional<SseEvent> snapshot = client.NextOf("snapshot");
  ASSERT_TRUE(snapshot && snapshot->id);
  const json::object body = json::parse(snapshot->data).as_object();
  EXPECT_EQ(body.at("seq").to_number<uint64_t>(), *snapshot->id);
  EXPECT_EQ(client.head().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  for (int i = 0; i < 20; ++i) {
    std::optional<SseEvent> price = client.NextOf("price");
    ASSERT_TRUE(price);
    const json::object object = json::parse(price->data).as_object();
    EXPECT_TRUE(object.at("symbol") == "AAPL" || object.at("symbol") == "MSFT");
    EXPECT_EQ(object.at("source"), "finnhub");
    EXPECT_GT(*price->id, *snapshot->id);
  }
}

TEST(SseTest, LastEventIdResumesWithNoGapAndNoDuplicate) {
  System system({.rate = 200});
  WaitReady(system);
  uint64_t last = 0;
  {
    SseClient first(system.gateway_port(), "/api/v1/stream");
    for (int i = 0; i < 50; ++i) {
      std::optional<SseEvent> price = first.NextOf("price");
      ASSERT_TRUE(price);
      last = *price->id;
    }
  }  // disconnects
  std::this_thread::sleep_for(milliseconds(500));  // ~100 updates pass meanwhile
  SseClient second(system.gateway_port(), "/api/v1/stream", "Last-Event-ID: " + std::to_string(last) + "\r\n");
  std::optional<SseEvent> resumed = second.NextOf("resumed");
  ASSERT_TRUE(resumed);
  EXPECT_EQ(json::parse(resumed->data).as_object().at("from_seq").to_number<uint64_t>(), last + 1);
  for (int i = 0; i < 200; ++i) {
    std::optional<SseEvent> event = second.Next();
    ASSERT_TRUE(event);
    ASSERT_NE(event->event, "snapshot") << "a resumed stream has no snapshot";
    if (event->event != "price") continue;
    ASSERT_EQ(*event->id, last + 1) << "gap or duplicate after resume";
    last = *event->id;
  }

  // after_seq in the URL does the same; a position the gateway no longer
  // holds (another epoch) gets a resync and a fresh snapshot.
  SseClient by_query(system.gateway_port(), "/api/v1/stream?after_seq=" + std::to_string(last));
  ASSERT_TRUE(by_query.NextOf("resumed"));
  SseClient other_epoch(system.gateway_port(), "/api/v1/stream?after_seq=5&epoch=sim-elsewhere");
  ASSERT_TRUE(other_epoch.NextOf("resync"));
  ASSERT_TRUE(other_epoch.NextOf("snapshot"));
}

TEST(SseTest, ANewEpochIsAnnouncedBeforeItsFirstPrice) {
  System system({.rate = 1000});
  WaitReady(system);
  SseClient client(system.gateway_port(), "/api/v1/stream?symbols=AAPL");
  std::optional<SseEvent> connected = client.NextOf("connected");
  ASSERT_TRUE(connected);
  const std::string first_epoch(json::parse(connected->data).as_object().at("epoch").as_string());
  uint64_t last_seq = 0;
  while (last_seq < 500) {
    std::optional<SseEvent> price = client.NextOf("price");
    ASSERT_TRUE(price);
    last_seq = PriceSeq(*price);
  }

  system.KillService();
  system.StartService();
  std::optional<SseEvent> notice;
  std::vector<uint64_t> before_notice;
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (!notice && std::chrono::steady_clock::now() < deadline) {
    std::optional<SseEvent> event = client.Next(seconds(5));
    if (!event) continue;
    if (event->event == "epoch") notice = std::move(event);
    else if (event->event == "price") before_notice.push_back(PriceSeq(*event));
  }
  ASSERT_TRUE(notice) << "no epoch event after the restart";
  EXPECT_FALSE(notice->id.has_value()) << "the notice does not move Last-Event-ID";
  const json::object body = json::parse(notice->data).as_object();
  EXPECT_EQ(body.at("type"), "epoch");
  EXPECT_NE(body.at("epoch").as_string(), first_epoch);
  std::optional<SseEvent> after = client.NextOf("price");
  ASSERT_TRUE(after) << "prices must follow the notice";

  // The gateway logs where the old epoch ended: nothing past it may precede the notice.
  const std::string log = system.gateway().Log();
  const std::string marker = "resume after seq ";
  const size_t at = log.rfind(marker);
  ASSERT_NE(at, std::string::npos) << log;
  const uint64_t old_last = std::stoull(log.substr(at + marker.size(), 20));
  for (uint64_t seq : before_notice) {
    EXPECT_GT(seq, last_seq) << "seq went back before the epoch notice";
    EXPECT_LE(seq, old_last) << "a price of the new epoch came before the epoch notice";
    last_seq = seq;
  }
}

TEST(SseTest, QuietStreamGetsHeartbeatComments) {
  System system({.rate = 50, .gateway_args = {"--idle_timeout=2s"}});
  WaitReady(system);
  SseClient client(system.gateway_port(), "/api/v1/stream?symbols=NOSUCH");
  ASSERT_TRUE(client.NextOf("snapshot"));
  int heartbeats = 0;
  for (int i = 0; i < 2; ++i) {
    if (client.NextOf(":", seconds(5))) ++heartbeats;
  }
  EXPECT_EQ(heartbeats, 2);
  EXPECT_FALSE(client.closed()) << "a quiet SSE client is kept, not timed out";
}

TEST(SseTest, SlowClientsAreConflatedThenDroppedLikeWebSocketClients) {
  System system({.rate = 3000,
                 .gateway_args = {"--send_buffer_bytes=16384", "--max_backlog=500", "--write_stall_timeout=2s"}});
  WaitReady(system);
  SseClient stalled(system.gateway_port(), "/api/v1/stream", "", /*receive_buffer_bytes=*/4096);
  SseClient paused(system.gateway_port(), "/api/v1/stream", "", /*receive_buffer_bytes=*/4096);
  ASSERT_TRUE(paused.NextOf("connected"));
  // Both stop reading. Two seconds of 3000/s overflow any socket buffer.
  std::this_thread::sleep_for(milliseconds(1500));
  std::optional<SseEvent> conflated = paused.NextOf("conflated", seconds(10));
  ASSERT_TRUE(conflated);
  EXPECT_GT(json::parse(conflated->data).as_object().at("skipped").to_number<uint64_t>(), 500u);
  // After the notice: the latest values (ids still increasing), then live.
  uint64_t last = 0;
  for (int i = 0; i < 50; ++i) {
    std::optional<SseEvent> price = paused.NextOf("price");
    ASSERT_TRUE(price);
    EXPECT_GT(*price->id, last);
    last = *price->id;
  }
  EXPECT_TRUE(Eventually([&] { return system.gateway().Log().find("dropping SSE client") != std::string::npos; },
                         seconds(15)))
      << system.gateway().Log();
  EXPECT_NE(system.gateway().Log().find("client stopped reading"), std::string::npos);
}

TEST(SseTest, BadRequestsGetAJsonErrorAndNoStream) {
  System system;
  WaitReady(system);
  const int port = system.gateway_port();
  for (const char* target : {"/api/v1/stream?symbols=bad%20symbol", "/api/v1/stream?after_seq=-1",
                             "/api/v1/stream?symbols=%zz"}) {
    const HttpResult result = HttpGet(port, target);
    EXPECT_EQ(result.status, 400) << target;
    EXPECT_EQ(result.content_type, "application/json") << target;
  }
  SseClient bad_id(port, "/api/v1/stream", "Last-Event-ID: abc\r\n");
  bad_id.Next(seconds(2));
  EXPECT_EQ(bad_id.head().rfind("HTTP/1.1 400", 0), 0u) << bad_id.head();
  EXPECT_EQ(HttpGet(port, "/api/v1/nothing").status, 404);
  EXPECT_EQ(Stats(port).at("sse_clients").to_number<int>(), 0);
}

TEST(SseTest, TheFrontDoorsChecksApplyToStreamsToo) {
  System system;
  WaitReady(system);
  const int port = system.gateway_port();
  SseClient foreign(port, "/api/v1/stream", "Origin: https://evil.example\r\n");
  foreign.Next(seconds(2));
  EXPECT_EQ(foreign.head().rfind("HTTP/1.1 403", 0), 0u) << foreign.head();
  SseClient own(port, "/api/v1/stream", "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\n");
  EXPECT_TRUE(own.NextOf("snapshot"));
  EXPECT_EQ(own.head().rfind("HTTP/1.1 200", 0), 0u) << own.head();
}

TEST(SseTest, LatestAndSymbolsAnswerFromTheGatewaysLatestValues) {
  System system({.rate = 200});
  WaitReady(system);
  const int port = system.gateway_port();
  ASSERT_TRUE(Eventually([&] { return Stats(port).at("seq").to_number<uint64_t>() > 100; }, seconds(15)));
  const HttpResult latest = HttpGet(port, "/api/v1/latest?symbols=AAPL,NVDA");
  ASSERT_EQ(latest.status, 200) << latest.body;
  EXPECT_EQ(latest.content_type, "application/json");
  const json::object snapshot = json::parse(latest.body).as_object();
  EXPECT_EQ(snapshot.at("type"), "snapshot");
  const json::array& prices = snapshot.at("prices").as_array();
  EXPECT_EQ(prices.size(), 4u) << "two symbols from two sources";
  for (const json::value& price : prices) {
    EXPECT_TRUE(price.at("symbol") == "AAPL" || price.at("symbol") == "NVDA");
  }
  EXPECT_EQ(HttpGet(port, "/api/v1/latest?symbols=a%20b").status, 400);

  const HttpResult symbols = HttpGet(port, "/api/v1/symbols");
  ASSERT_EQ(symbols.status, 200);
  EXPECT_EQ(symbols.body,
            R"({"symbols":["AAPL","AMZN","GOOGL","MSFT","NVDA","TSLA"],"sources":["alpha_vantage","finnhub"]})"
            "\n");
}

TEST(SseTest, ShutdownEndsStreamsAndTheGatewayExitsCleanly) {
  System system;
  WaitReady(system);
  SseClient client(system.gateway_port(), "/api/v1/stream");
  ASSERT_TRUE(client.NextOf("snapshot"));
  system.gateway().Signal(SIGTERM);
  EXPECT_TRUE(client.NextOf("shutdown"));
  // Then the stream ends: the gateway half-closes, the client sees the end.
  while (client.Next(seconds(5))) {
  }
  EXPECT_TRUE(client.closed());
  EXPECT_EQ(system.gateway().Wait(seconds(10)), 0) << system.gateway().Log();
  EXPECT_EQ(system.gateway().Log().find("drain timeout"), std::string::npos) << system.gateway().Log();
}

}  // namespace
}  // namespace stockfeed::testing

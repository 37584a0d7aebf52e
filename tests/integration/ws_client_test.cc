// The test client itself: every call has a deadline, whatever the server does.
#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

// A WebSocket server that only pings, as fast as it can, and never sends a
// message: the client's read answers each ping with a pong and reads on.
class PingingServer {
 public:
  PingingServer() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~PingingServer() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }

 private:
  void Serve() {
    websocket::stream<tcp::socket> ws(acceptor_.accept());
    ws.accept();
    tcp::socket& socket = ws.next_layer();
    socket.non_blocking(true);
    static constexpr char kPing[] = {'\x89', '\x00'};
    char discard[4096];
    while (!stop_) {
      boost::system::error_code ec;
      socket.write_some(net::buffer(kPing, sizeof kPing), ec);
      while (socket.read_some(net::buffer(discard), ec) > 0) {
      }
      if (ec && ec != net::error::would_block) return;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(WsClientTest, AReadTimesOutWhileTheServerKeepsPinging) {
  // A timed-out read used to be cancelled once and then waited for: with
  // Beast between two socket operations (a pong just written, the next read
  // not yet started) the cancel missed, Beast read on and waited for a
  // message that never came, and the test hung until ctest's timeout. Under
  // a ping flood the cancel nearly always misses, so this hung every time.
  PingingServer server;
  WsClient client(server.port(), "/");
  for (int i = 0; i < 50 && !client.closed(); ++i) {
    const auto before = std::chrono::steady_clock::now();
    EXPECT_FALSE(client.Read(std::chrono::milliseconds(5)).has_value());
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(3)) << "read " << i;
  }
  // The client may have closed its socket to end a read no cancel could stop.
  EXPECT_FALSE(client.Read(std::chrono::milliseconds(5)).has_value());
}

}  // namespace
}  // namespace stockfeed::testing

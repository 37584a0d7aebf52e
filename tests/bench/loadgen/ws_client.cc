#include "ws_client.h"

#include <time.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

namespace stockfeed::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

int64_t RealtimeMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

WsClient::WsClient(boost::asio::io_context& ioc, const ClientTarget& target,
                   WorkerTallies& tallies, ConnectionCounters& counters, bool stallable)
    : ws_(ioc),
      stall_timer_(ioc),
      target_(target),
      tallies_(tallies),
      counters_(counters),
      stallable_(stallable) {}

void WsClient::Start() {
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(ws_).async_connect(
      target_.endpoint,
      [self = shared_from_this()](beast::error_code ec) { self->OnConnect(ec); });
}

void WsClient::OnConnect(beast::error_code ec) {
  if (ec) return Fail();
  beast::get_lowest_layer(ws_).socket().set_option(boost::asio::ip::tcp::no_delay(true));
  // The websocket stream manages its own (disabled) timeouts from here on.
  beast::get_lowest_layer(ws_).expires_never();
  auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.handshake_timeout = std::chrono::seconds(30);
  ws_.set_option(timeouts);
  ws_.read_message_max(16 * 1024 * 1024);
  if (target_.offer_deflate) {
    websocket::permessage_deflate deflate;
    deflate.client_enable = true;
    ws_.set_option(deflate);
  }
  ws_.async_handshake(target_.host_header, target_.target,
                      [self = shared_from_this()](beast::error_code hec) { self->OnHandshake(hec); });
}

void WsClient::OnHandshake(beast::error_code ec) {
  if (ec) return Fail();
  opened_ = true;
  counters_.opened.fetch_add(1, std::memory_order_relaxed);
  Read();
}

void WsClient::Read() {
  ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->OnRead(ec, n);
  });
}

void WsClient::OnRead(beast::error_code ec, std::size_t) {
  if (ec) return Fail();
  auto& tally = stallable_ ? tallies_.stalled : tallies_.healthy;
  if (ws_.got_text()) {
    const auto data = buffer_.cdata();
    tally.OnFrame(std::string_view(static_cast<const char*>(data.data()), data.size()),
                  RealtimeMicros(), seq_);
  } else {
    ++tally.frames;
    ++tally.other_messages;
  }
  buffer_.consume(buffer_.size());

  if (stallable_ && !stalled_once_) {
    const int64_t now = SteadyNanos();
    const int64_t start = counters_.stall_start_ns.load(std::memory_order_relaxed);
    const int64_t end = counters_.stall_end_ns.load(std::memory_order_relaxed);
    if (now >= start && now < end) {
      // Stop reading: the server sees a client whose socket buffers fill up.
      stalled_once_ = true;
      stall_timer_.expires_after(std::chrono::nanoseconds(end - now));
      stall_timer_.async_wait([self = shared_from_this()](beast::error_code tec) {
        if (!tec) self->Read();
      });
      return;
    }
  }
  Read();
}

void WsClient::Fail() {
  if (counters_.stopping.load(std::memory_order_relaxed)) return;
  if (!opened_) {
    counters_.failed.fetch_add(1, std::memory_order_relaxed);
  } else if (stallable_) {
    counters_.closed_stalled.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.closed_healthy.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace stockfeed::bench

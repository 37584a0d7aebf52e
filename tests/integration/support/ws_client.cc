#include "ws_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <stdexcept>

namespace stockfeed::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

struct WsClient::Impl {
  net::io_context io;
  websocket::stream<tcp::socket> ws{io};
  beast::flat_buffer buffer;
  bool closed = false;
  std::string extensions;

  // Runs the io_context until `done` or the timeout. On timeout the
  // operation is cancelled, and that too has a deadline.
  bool RunUntil(const bool& done, std::chrono::milliseconds timeout) {
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(10));
      if (io.stopped()) io.restart();
    }
    if (done) return true;
    // A cancel stops only the socket operation pending at that moment. Beast
    // may be between two (its pong to a server ping written, the completion
    // queued) and start another read after it: cancel until the operation
    // ends, and past a second close the socket, which ends it for sure.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!done) {
      beast::error_code ignored;
      if (std::chrono::steady_clock::now() < give_up) {
        beast::get_lowest_layer(ws).cancel(ignored);
      } else {
        beast::get_lowest_layer(ws).close(ignored);
        closed = true;
      }
      io.run_for(std::chrono::milliseconds(10));
      if (io.stopped()) io.restart();
    }
    return false;
  }

  // Runs one operation started by `start(on_done)` to completion within
  // `timeout`; throws on an error or the timeout.
  template <typename Start>
  void Run(const char* what, std::chrono::milliseconds timeout, Start start) {
    bool done = false;
    beast::error_code result;
    start([&](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    if (!RunUntil(done, timeout)) throw std::runtime_error(std::string(what) + " timed out");
    if (result) throw beast::system_error(result, what);
  }
};

// No single step of a test client waits longer than this.
constexpr std::chrono::seconds kStepTimeout{10};

WsClient::WsClient(int port, const std::string& target, int receive_buffer_bytes, bool offer_deflate)
    : impl_(std::make_unique<Impl>()) {
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
  impl_->ws.next_layer().open(tcp::v4());
  if (receive_buffer_bytes > 0) {
    impl_->ws.next_layer().set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
  }
  impl_->Run("connect", kStepTimeout,
              [&](auto on_done) { impl_->ws.next_layer().async_connect(endpoint, on_done); });
  if (offer_deflate) {
    websocket::permessage_deflate deflate;
    deflate.client_enable = true;
    impl_->ws.set_option(deflate);
  }
  websocket::response_type response;
  impl_->Run("WebSocket handshake", kStepTimeout, [&](auto on_done) {
    impl_->ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), target, on_done);
  });
  impl_->extensions = std::string(response[beast::http::field::sec_websocket_extensions]);
}

WsClient::~WsClient() = default;

void WsClient::Send(const std::string& text) {
  impl_->ws.text(true);
  impl_->Run("send", kStepTimeout, [&](auto on_done) { impl_->ws.async_write(net::buffer(text), on_done); });
}

void WsClient::SendBinary(const std::string& data) {
  impl_->ws.binary(true);
  impl_->Run("send", kStepTimeout, [&](auto on_done) { impl_->ws.async_write(net::buffer(data), on_done); });
}

void WsClient::Ping() {
  impl_->Run("ping", kStepTimeout, [&](auto on_done) { impl_->ws.async_ping({}, on_done); });
}

std::optional<std::string> WsClient::Read(std::chrono::milliseconds timeout) {
  if (impl_->closed) return std::nullopt;
  bool done = false;
  beast::error_code result;
  impl_->buffer.clear();
  impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
    result = ec;
    done = true;
  });
  if (!impl_->RunUntil(done, timeout)) return std::nullopt;
  if (result) {
    if (result == websocket::error::closed || result == net::error::eof ||
        result == net::error::connection_reset) {
      impl_->closed = true;
    }
    return std::nullopt;
  }
  return beast::buffers_to_string(impl_->buffer.data());
}

std::optional<boost::json::value> WsClient::ReadJson(std::chrono::milliseconds timeout) {
  std::optional<std::string> text = Read(timeout);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(*text, ec);
  if (ec) throw std::runtime_error("server sent invalid JSON: " + *text);
  return value;
}

std::optional<boost::json::object> WsClient::ReadUntilType(const std::string& type,
                                                           std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    std::optional<boost::json::value> value = ReadJson(left);
    if (!value) return std::nullopt;
    if (value->is_object() && value->as_object().contains("type") &&
        value->as_object().at("type") == type.c_str()) {
      return value->as_object();
    }
  }
  return std::nullopt;
}

int WsClient::close_code() const { return static_cast<int>(impl_->ws.reason().code); }

bool WsClient::closed() const { return impl_->closed; }

const std::string& WsClient::extensions() const { return impl_->extensions; }

void WsClient::Close() {
  bool done = false;
  impl_->ws.async_close(websocket::close_code::normal, [&](beast::error_code) { done = true; });
  impl_->RunUntil(done, kStepTimeout);
}

bool IsType(const boost::json::value& value, const char* type) {
  return value.is_object() && value.as_object().contains("type") && value.as_object().at("type") == type;
}

uint64_t Seq(const boost::json::object& price) { return price.at("seq").to_number<uint64_t>(); }

HttpResult HttpGet(int port, const std::string& target) {
  // Asynchronous, so that the stream's deadline applies (it does not to
  // synchronous calls): a server that never answers fails the call.
  net::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(kStepTimeout);
  beast::http::request<beast::http::empty_body> request{beast::http::verb::get, target, 11};
  request.set(beast::http::field::host, "127.0.0.1");
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> response;
  beast::error_code result;
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
                       [&](beast::error_code connected) {
    if (connected) {
      result = connected;
      return;
    }
    beast::http::async_write(stream, request, [&](beast::error_code written, std::size_t) {
      if (written) {
        result = written;
        return;
      }
      beast::http::async_read(stream, buffer, response, [&](beast::error_code read, std::size_t) { result = read; });
    });
  });
  io.run();
  if (result) throw beast::system_error(result, "GET " + target);
  return HttpResult{static_cast<int>(response.result_int()),
                    std::string(response[beast::http::field::content_type]),
                    std::string(response[beast::http::field::cache_control]), response.body()};
}

}  // namespace stockfeed::testing

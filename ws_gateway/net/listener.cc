#include "listener.h"

#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "http_session.h"
#include "shard.h"
#include "spdlog/spdlog.h"

namespace stockfeed::ws_gateway {

Listener::Listener(std::vector<Shard*> shards)
    : shards_(std::move(shards)), acceptor_(shards_.front()->io()), retry_timer_(shards_.front()->io()) {}

absl::Status Listener::Listen(const HostPort& address) {
  error_code ec;
  const auto ip = boost::asio::ip::make_address(address.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--listen: '", address.host, "' is not an IP address"));
  const tcp::endpoint endpoint(ip, address.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address.ToString(), ": ", ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();
  return absl::OkStatus();
}

void Listener::Start() {
  boost::asio::post(acceptor_.get_executor(), [this] { Accept(); });
}

void Listener::Stop() {
  boost::asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
  });
}

void Listener::Accept() {
  Shard& shard = *shards_[next_shard_];
  next_shard_ = (next_shard_ + 1) % shards_.size();
  acceptor_.async_accept(shard.io(), [this, &shard](const error_code& ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors or similar: pause instead of spinning.
      spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const error_code& e) {
        if (!e) Accept();
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // replies must not wait for Nagle
    if (shard.config().send_buffer_bytes > 0) {
      socket.set_option(boost::asio::socket_base::send_buffer_size(
                            static_cast<int>(shard.config().send_buffer_bytes)),
                        ignored);
    }
    boost::asio::post(shard.io(), [&shard, socket = std::move(socket)]() mutable {
      std::make_shared<HttpSession>(shard, std::move(socket))->Start();
    });
    Accept();
  });
}

}  // namespace stockfeed::ws_gateway

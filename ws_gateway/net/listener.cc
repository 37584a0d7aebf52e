#include "listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/messages.h"
#include "http_session.h"
#include "shard.h"
#include "spdlog/spdlog.h"
#include "tls_front.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::ws_gateway {

Listener::Listener(std::vector<Shard*> shards, TlsFront* tls)
    : shards_(std::move(shards)),
      tls_(tls),
      acceptor_(shards_.front()->io()),
      retry_timer_(shards_.front()->io()),
      spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

Listener::~Listener() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

namespace {

// Answers a refused connection at once, without reading or waiting: a short
// response fits the empty send buffer of a new socket, and a refused socket
// must not cost a descriptor for longer than this. Whatever the client
// already sent is drained first, so the caller's close is a FIN, not a reset
// that could discard the answer. `fd` is non-blocking.
void SendRefusal(int fd, int status, const char* code, const char* reason) {
  const std::string body = EncodeError(code, reason) + "\n";
  const std::string message =
      absl::StrCat("HTTP/1.1 ", status, status == 429 ? " Too Many Requests" : " Service Unavailable",
                   "\r\nServer: stockfeed-ws-gateway\r\nContent-Type: application/json\r\nRetry-After: 1"
                   "\r\nConnection: close\r\nContent-Length: ",
                   body.size(), "\r\n\r\n", body);
  ::send(fd, message.data(), message.size(), MSG_NOSIGNAL);
  char drain[4096];
  while (::recv(fd, drain, sizeof drain, MSG_DONTWAIT) > 0) {
  }
}

}  // namespace

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
  if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // lost to a race last time
  Shard& shard = *shards_[next_shard_];
  next_shard_ = (next_shard_ + 1) % shards_.size();
  acceptor_.async_accept(shard.io(), [this, &shard](const error_code& ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if ((ec == boost::asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system) &&
        RefuseWithSpareDescriptor()) {
      Accept();
      return;
    }
    if (ec) {
      // Out of file descriptors or similar: pause instead of spinning.
      spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const error_code& e) {
        if (!e) Accept();
      });
      return;
    }
    shards_.front()->DeliverDuePrices();
    error_code ignored;
    ConnectionGate::Slot slot;
    if (!Admit(socket, slot)) {
      Accept();
      return;
    }
    socket.set_option(tcp::no_delay(true), ignored);  // replies must not wait for Nagle
    if (shard.config().send_buffer_bytes > 0) {
      socket.set_option(boost::asio::socket_base::send_buffer_size(
                            static_cast<int>(shard.config().send_buffer_bytes)),
                        ignored);
    }
    if (tls_ != nullptr) {
      const tcp::endpoint peer = socket.remote_endpoint(ignored);
      boost::asio::post(shard.io(), [this, &shard, peer, socket = std::move(socket), slot = std::move(slot)]() mutable {
        // A handshake's crypto is the dearest set-up step: prices that are
        // due go out before each one (why: Shard::DeliverDuePrices).
        tls_->Accept(std::move(socket), shard.config().handshake_timeout, shard.config().write_stall_timeout,
                     peer.address().to_string(), [&shard] { shard.DeliverDuePrices(); },
                     [&shard, peer, slot = std::move(slot)](tcp::socket plain) mutable {
                       std::make_shared<HttpSession>(shard, std::move(plain), std::move(slot), peer)->Start();
                     });
      });
    } else {
      boost::asio::post(shard.io(), [&shard, socket = std::move(socket), slot = std::move(slot)]() mutable {
        std::make_shared<HttpSession>(shard, std::move(socket), std::move(slot))->Start();
      });
    }
    Accept();
  });
}


bool Listener::Admit(tcp::socket& socket, ConnectionGate::Slot& slot) {
  error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return false;  // already gone
  const std::string address = peer.address().to_string();
  FrontDoor& door = shards_.front()->front_door();
  const absl::Time now = absl::Now();
  const ConnectionGate::Verdict verdict = door.gate.TryReserve(address, now, slot);
  if (verdict == ConnectionGate::Verdict::kAdmitted) return true;

  shards_.front()->events().rejected.For(verdict == ConnectionGate::Verdict::kFull          ? "connection_limit"
                                           : verdict == ConnectionGate::Verdict::kAddressFull ? "address_limit"
                                                                                              : "connection_rate")
      .Add();
  uint64_t suppressed = 0;
  const int status = StatusFor(verdict);
  if (door.refusals_log.ShouldLog(address, ReasonFor(verdict), now, suppressed)) {
    spdlog::warn("refusing connection: peer={} status={} reason={} open={} suppressed_since_last={}", address,
                 status, ReasonFor(verdict), door.gate.open(), suppressed);
  }
  // A TLS client cannot read a plain answer before its handshake: just close.
  if (tls_ != nullptr) {
    socket.close(ec);
    return false;
  }
  socket.non_blocking(true, ec);
  SendRefusal(socket.native_handle(), status,
              status == 429 ? "too_many_connections_from_address" : "too_many_connections", ReasonFor(verdict));
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
  return false;
}

bool Listener::RefuseWithSpareDescriptor() {
  if (spare_fd_ < 0) return false;
  ::close(spare_fd_);
  const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    shards_.front()->events().rejected.For("descriptor_limit").Add();
    // A TLS client cannot read a plain answer before its handshake: just close.
    if (tls_ == nullptr) SendRefusal(fd, 503, "too_many_connections", "the gateway is out of file descriptors");
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  FrontDoor& door = shards_.front()->front_door();
  uint64_t suppressed = 0;
  if (door.refusals_log.ShouldLog("", "out of file descriptors", absl::Now(), suppressed)) {
    spdlog::warn("refusing connection: status=503 reason=out of file descriptors open={} suppressed_since_last={}; "
                 "raise the open-file limit or lower --max_connections",
                 door.gate.open(), suppressed);
  }
  return true;
}

}  // namespace stockfeed::ws_gateway

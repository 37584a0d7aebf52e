#include "tls_front.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace stockfeed::ws_gateway {
namespace {

namespace ssl = boost::asio::ssl;
using local_socket = boost::asio::local::stream_protocol::socket;

// How long a closing TLS connection may take to exchange close_notify.
constexpr std::chrono::seconds kShutdownTimeout{2};
constexpr size_t kRelayBuffer = 16 * 1024;  // one TLS record

absl::StatusOr<std::shared_ptr<ssl::context>> MakeContext(const std::string& cert_file, const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--tls_cert_file: cannot use ", cert_file, ": ", ec.message()));
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--tls_key_file: cannot use ", key_file, ": ", ec.message()));
  return context;
}

// One TLS connection: the handshake, then bytes relayed between the TLS
// stream and our end of the socket pair. Lives on its shard's thread, kept
// alive by its pending operations.
class TlsRelay : public std::enable_shared_from_this<TlsRelay> {
 public:
  TlsRelay(std::shared_ptr<ssl::context> context, tcp::socket socket, std::string peer,
           std::chrono::steady_clock::duration write_stall_timeout)
      : context_(std::move(context)),
        tls_(std::move(socket), *context_),
        inner_(tls_.get_executor()),
        timer_(tls_.get_executor()),
        write_timer_(tls_.get_executor()),
        peer_(std::move(peer)),
        write_stall_timeout_(write_stall_timeout) {}

  void Start(absl::Duration timeout, absl::AnyInvocable<void(tcp::socket)> on_ready) {
    timer_.expires_after(absl::ToChronoNanoseconds(timeout));
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->Close();  // the handshake did not finish in time
    });
    tls_.async_handshake(ssl::stream_base::server, [self = shared_from_this(), on_ready = std::move(on_ready)](
                                                       const error_code& ec) mutable { self->OnHandshake(ec, on_ready); });
  }

 private:
  void OnHandshake(const error_code& ec, absl::AnyInvocable<void(tcp::socket)>& on_ready) {
    timer_.cancel();
    if (ec) {
      spdlog::debug("tls handshake failed: peer={} error={}", peer_, ec.message());
      Close();
      return;
    }
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      spdlog::warn("tls: no socket pair for peer={}: {}", peer_, std::strerror(errno));
      Close();
      return;
    }
    error_code assign_error;
    inner_.assign(boost::asio::local::stream_protocol(), pair[0], assign_error);
    tcp::socket plain(tls_.get_executor());
    plain.assign(tcp::v4(), pair[1], assign_error);
    on_ready(std::move(plain));
    ReadClient();
    ReadApp();
  }

  // Client → gateway: decrypted bytes into the pair.
  void ReadClient() {
    if (app_done_) {
      StartShutdown();
      return;
    }
    client_reading_ = true;
    tls_.async_read_some(boost::asio::buffer(from_client_),
                         [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
                           self->client_reading_ = false;
                           if (ec) {
                             if (self->app_done_) {
                               self->StartShutdown();
                             } else {
                               // The client left: the session sees an end of stream.
                               error_code ignored;
                               self->inner_.shutdown(local_socket::shutdown_send, ignored);
                             }
                             return;
                           }
                           boost::asio::async_write(self->inner_, boost::asio::buffer(self->from_client_, bytes),
                                                    [self](const error_code& e, std::size_t) {
                                                      if (e) return self->Close();
                                                      self->ReadClient();
                                                    });
                         });
  }

  // Gateway → client: what the session wrote, encrypted.
  void ReadApp() {
    inner_.async_read_some(boost::asio::buffer(to_client_),
                           [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
                             if (ec) {
                               // The session closed its end: say close_notify, then close.
                               self->app_done_ = true;
                               error_code ignored;
                               if (self->client_reading_) {
                                 self->tls_.next_layer().cancel(ignored);
                               } else {
                                 self->StartShutdown();
                               }
                               return;
                             }
                             // A client that stops reading is dropped by the same rule
                             // as a plain one; otherwise this write, and the relay, would
                             // outlive the session that gave up on it.
                             self->write_timer_.expires_after(self->write_stall_timeout_);
                             self->write_timer_.async_wait([self](const error_code& e) {
                               if (!e) self->Close();
                             });
                             boost::asio::async_write(self->tls_, boost::asio::buffer(self->to_client_, bytes),
                                                      [self](const error_code& e, std::size_t) {
                                                        self->write_timer_.cancel();
                                                        if (e) return self->Close();
                                                        self->ReadApp();
                                                      });
                           });
  }

  void StartShutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    timer_.expires_after(kShutdownTimeout);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->Close();
    });
    tls_.async_shutdown([self = shared_from_this()](const error_code&) { self->Close(); });
  }

  void Close() {
    error_code ignored;
    timer_.cancel();
    write_timer_.cancel();
    tls_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    tls_.next_layer().close(ignored);
    inner_.close(ignored);
  }

  std::shared_ptr<ssl::context> context_;  // the certificate this connection was made with
  ssl::stream<tcp::socket> tls_;
  local_socket inner_;
  boost::asio::steady_timer timer_;        // handshake, then close_notify deadline
  boost::asio::steady_timer write_timer_;  // the write to the client in flight
  const std::string peer_;
  const std::chrono::steady_clock::duration write_stall_timeout_;
  bool client_reading_ = false;
  bool app_done_ = false;
  bool shutting_down_ = false;
  std::array<char, kRelayBuffer> from_client_;
  std::array<char, kRelayBuffer> to_client_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TlsFront>> TlsFront::Load(std::string cert_file, std::string key_file) {
  absl::StatusOr<std::shared_ptr<ssl::context>> context = MakeContext(cert_file, key_file);
  if (!context.ok()) return context.status();
  return std::unique_ptr<TlsFront>(new TlsFront(std::move(cert_file), std::move(key_file), *std::move(context)));
}

TlsFront::TlsFront(std::string cert_file, std::string key_file, std::shared_ptr<ssl::context> context)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), context_(std::move(context)) {}

TlsFront::~TlsFront() = default;

absl::Status TlsFront::Reload() {
  absl::StatusOr<std::shared_ptr<ssl::context>> context = MakeContext(cert_file_, key_file_);
  if (!context.ok()) return context.status();
  std::lock_guard lock(mu_);
  context_ = *std::move(context);
  return absl::OkStatus();
}

std::shared_ptr<ssl::context> TlsFront::current() {
  std::lock_guard lock(mu_);
  return context_;
}

void TlsFront::Accept(tcp::socket socket, absl::Duration timeout, absl::Duration write_stall_timeout,
                      std::string peer, absl::AnyInvocable<void(tcp::socket plain)> on_ready) {
  std::make_shared<TlsRelay>(current(), std::move(socket), std::move(peer),
                             absl::ToChronoNanoseconds(write_stall_timeout))
      ->Start(timeout, std::move(on_ready));
}

}  // namespace stockfeed::ws_gateway

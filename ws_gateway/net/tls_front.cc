#include "tls_front.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

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
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION);
  // Buffers only while a record is in flight; a retried write may come from
  // another buffer (the relay copies it out of its scratch space).
  SSL_CTX_set_mode(context->native_handle(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--tls_cert_file: cannot use ", cert_file, ": ", ec.message()));
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--tls_key_file: cannot use ", key_file, ": ", ec.message()));
  return context;
}

// What an OpenSSL call on a non-blocking socket asks for next.
enum class TlsIo { kWantRead, kWantWrite, kPeerClosed, kFailed };

TlsIo Classify(SSL* ssl, int result) {
  switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
      return TlsIo::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return TlsIo::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return TlsIo::kPeerClosed;
    default:
      return TlsIo::kFailed;
  }
}

// One transfer at a time per thread: every relay runs on its shard's thread
// and copies its bytes on before it returns, so an idle relay holds none.
std::array<char, kRelayBuffer>& Scratch() {
  thread_local std::array<char, kRelayBuffer> scratch;
  return scratch;
}

// A socket BIO that sends with MSG_NOSIGNAL. OpenSSL's own socket BIO
// write()s, and a write to a connection the client has reset raises
// SIGPIPE, which ends the process.
int NoSignalWrite(BIO* bio, const char* data, int size) {
  const ssize_t sent = ::send(BIO_get_fd(bio, nullptr), data, static_cast<size_t>(size), MSG_NOSIGNAL);
  BIO_clear_retry_flags(bio);
  if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(bio);
  return static_cast<int>(sent);
}

int NoSignalRead(BIO* bio, char* data, int size) {
  const ssize_t got = ::recv(BIO_get_fd(bio, nullptr), data, static_cast<size_t>(size), 0);
  BIO_clear_retry_flags(bio);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(bio);
  if (got == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // as OpenSSL's socket BIO: BIO_eof() reports it
  return static_cast<int>(got);
}

int NoSignalPuts(BIO* bio, const char* text) { return NoSignalWrite(bio, text, static_cast<int>(std::strlen(text))); }

// The socket BIO's own method with the three calls above; created once, on
// first use, and kept for the life of the process.
const BIO_METHOD* NoSignalSocketMethod() {
  static BIO_METHOD* const method = [] {
    const BIO_METHOD* socket = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "socket without SIGPIPE");
    BIO_meth_set_write(m, NoSignalWrite);
    BIO_meth_set_read(m, NoSignalRead);
    BIO_meth_set_puts(m, NoSignalPuts);
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(socket));
    BIO_meth_set_create(m, BIO_meth_get_create(socket));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(socket));
    return m;
  }();
  return method;
}

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// One TLS connection: the handshake, then bytes relayed between the client
// and our end of the socket pair. OpenSSL works on the socket itself and the
// relay waits for readiness, so an idle connection costs its SSL state and
// nothing else: Asio's ssl::stream kept two 17 KiB buffers and a 34 KiB BIO
// pair per connection (about 98 KiB of RSS per idle client with our relay
// buffers). Lives on its shard's thread, kept alive by its pending waits.
class TlsRelay : public std::enable_shared_from_this<TlsRelay> {
 public:
  TlsRelay(std::shared_ptr<ssl::context> context, tcp::socket socket, std::string peer,
           std::chrono::steady_clock::duration write_stall_timeout)
      : context_(std::move(context)),
        socket_(std::move(socket)),
        ssl_(SSL_new(context_->native_handle())),
        inner_(socket_.get_executor()),
        timer_(socket_.get_executor()),
        write_timer_(socket_.get_executor()),
        peer_(std::move(peer)),
        write_stall_timeout_(write_stall_timeout) {}

  void Start(absl::Duration timeout, absl::AnyInvocable<void()> before_handshake_step,
             absl::AnyInvocable<void(tcp::socket)> on_ready) {
    error_code ec;
    socket_.native_non_blocking(true, ec);
    BIO* bio = ssl_ == nullptr || ec ? nullptr : BIO_new(NoSignalSocketMethod());
    if (bio == nullptr) {
      spdlog::warn("tls: cannot set up a connection for peer={}", peer_);
      Close();
      return;
    }
    BIO_set_fd(bio, socket_.native_handle(), BIO_NOCLOSE);
    SSL_set_bio(ssl_.get(), bio, bio);  // the SSL object owns it now
    SSL_set_accept_state(ssl_.get());
    before_handshake_step_ = std::move(before_handshake_step);
    on_ready_ = std::move(on_ready);
    timer_.expires_after(absl::ToChronoNanoseconds(timeout));
    timer_.async_wait([self = shared_from_this()](const error_code& e) {
      if (!e && !self->handshaken_) self->Close();  // the handshake did not finish in time
    });
    Handshake();
  }

 private:
  // Runs `step` again once the socket can do what OpenSSL asked for.
  void WaitThen(TlsIo want, void (TlsRelay::*step)()) {
    socket_.async_wait(want == TlsIo::kWantRead ? tcp::socket::wait_read : tcp::socket::wait_write,
                       [self = shared_from_this(), step](const error_code& ec) {
                         if (self->closed_) return;
                         if (ec) return self->Close();
                         ((*self).*step)();
                       });
  }

  void Handshake() {
    before_handshake_step_();
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_.get());
    if (result == 1) return OnHandshake();
    const TlsIo io = Classify(ssl_.get(), result);
    if (io == TlsIo::kWantRead || io == TlsIo::kWantWrite) return WaitThen(io, &TlsRelay::Handshake);
    const char* reason = ERR_reason_error_string(ERR_peek_error());
    spdlog::debug("tls handshake failed: peer={} error={}", peer_, reason != nullptr ? reason : "connection closed");
    Close();
  }

  void OnHandshake() {
    handshaken_ = true;
    before_handshake_step_ = nullptr;
    timer_.cancel();
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      spdlog::warn("tls: no socket pair for peer={}: {}", peer_, std::strerror(errno));
      Close();
      return;
    }
    error_code ec;
    inner_.assign(boost::asio::local::stream_protocol(), pair[0], ec);
    inner_.non_blocking(true, ec);
    tcp::socket plain(socket_.get_executor());
    plain.assign(tcp::v4(), pair[1], ec);
    std::exchange(on_ready_, nullptr)(std::move(plain));
    ReadClient();
    ReadApp();
  }

  // Client → gateway: decrypted bytes into the pair, until OpenSSL waits.
  void ReadClient() {
    while (!closed_ && !shutting_down_) {
      ERR_clear_error();
      const int read = SSL_read(ssl_.get(), Scratch().data(), static_cast<int>(Scratch().size()));
      if (read <= 0) {
        const TlsIo io = Classify(ssl_.get(), read);
        if (io == TlsIo::kWantRead || io == TlsIo::kWantWrite) {
          ReleaseBuffersIfIdle();
          return WaitThen(io, &TlsRelay::ReadClient);
        }
        // The client left: the session sees an end of stream, and its close
        // ends the relay (with close_notify if the client said goodbye).
        client_failed_ = io == TlsIo::kFailed;
        error_code ignored;
        inner_.shutdown(local_socket::shutdown_send, ignored);
        return;
      }
      error_code ec;
      const size_t written = inner_.write_some(boost::asio::buffer(Scratch().data(), read), ec);
      if (ec && ec != boost::asio::error::would_block) return Close();
      if (written < static_cast<size_t>(read)) {
        // The session is not reading: hold the rest until it does.
        to_app_.assign(Scratch().data() + written, read - written);
        boost::asio::async_write(inner_, boost::asio::buffer(to_app_), [self = shared_from_this()](const error_code& e, size_t) {
          std::string().swap(self->to_app_);
          if (e) return self->Close();
          self->ReadClient();
        });
        return;
      }
    }
  }

  // Gateway → client: what the session wrote, encrypted.
  void ReadApp() {
    inner_.async_wait(local_socket::wait_read, [self = shared_from_this()](const error_code& ec) {
      if (self->closed_) return;
      if (ec) return self->Close();
      self->RelayApp();
    });
  }

  void RelayApp() {
    while (!closed_ && !shutting_down_) {
      error_code ec;
      const size_t read = inner_.read_some(boost::asio::buffer(Scratch()), ec);
      if (ec == boost::asio::error::would_block) {
        ReleaseBuffersIfIdle();
        return ReadApp();
      }
      if (ec) {
        // The session closed its end: say close_notify, then close.
        return client_failed_ ? Close() : StartShutdown();
      }
      ERR_clear_error();
      const int result = SSL_write(ssl_.get(), Scratch().data(), static_cast<int>(read));
      if (result <= 0) {
        // OpenSSL wants the same bytes again once the socket is ready
        // (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them move out of Scratch).
        to_client_.assign(Scratch().data(), read);
        return WriteAgain(Classify(ssl_.get(), result));
      }
    }
  }

  void WriteAgain(TlsIo io) {
    if (io != TlsIo::kWantRead && io != TlsIo::kWantWrite) return Close();
    // A client that stops reading is dropped by the same rule as a plain
    // one; otherwise this write, and the relay, would outlive the session
    // that gave up on it.
    if (!write_waiting_) {
      write_waiting_ = true;
      write_timer_.expires_after(write_stall_timeout_);
      write_timer_.async_wait([self = shared_from_this()](const error_code& e) {
        if (!e) self->Close();
      });
    }
    WaitThen(io, &TlsRelay::RetryWrite);
  }

  void RetryWrite() {
    ERR_clear_error();
    const int result = SSL_write(ssl_.get(), to_client_.data(), static_cast<int>(to_client_.size()));
    if (result <= 0) return WriteAgain(Classify(ssl_.get(), result));
    write_waiting_ = false;
    write_timer_.cancel();
    std::string().swap(to_client_);
    RelayApp();
  }

  // OpenSSL keeps the buffers of the last handshake message or record it
  // handled (the session tickets it sends after the handshake, say) even with
  // SSL_MODE_RELEASE_BUFFERS: 13 KiB an idle connection. It refuses while a
  // record is half read or written.
  void ReleaseBuffersIfIdle() {
    if (to_client_.empty()) SSL_free_buffers(ssl_.get());
  }

  void StartShutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    timer_.expires_after(kShutdownTimeout);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (!ec) self->Close();
    });
    Shutdown();
  }

  // Sends close_notify and waits (up to kShutdownTimeout) for the client's,
  // so our last bytes are not lost to a reset.
  void Shutdown() {
    ERR_clear_error();
    const int result = SSL_shutdown(ssl_.get());
    if (result == 0) return WaitThen(TlsIo::kWantRead, &TlsRelay::Shutdown);
    if (result < 0) {
      const TlsIo io = Classify(ssl_.get(), result);
      if (io == TlsIo::kWantRead || io == TlsIo::kWantWrite) return WaitThen(io, &TlsRelay::Shutdown);
    }
    Close();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    timer_.cancel();
    write_timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    inner_.close(ignored);
  }

  std::shared_ptr<ssl::context> context_;  // the certificate this connection was made with
  tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;  // on socket_'s descriptor (BIO_NOCLOSE)
  local_socket inner_;
  boost::asio::steady_timer timer_;        // handshake, then close_notify deadline
  boost::asio::steady_timer write_timer_;  // a write to the client waiting for room
  const std::string peer_;
  const std::chrono::steady_clock::duration write_stall_timeout_;
  absl::AnyInvocable<void()> before_handshake_step_;
  absl::AnyInvocable<void(tcp::socket)> on_ready_;
  std::string to_app_;     // decrypted bytes the session has not taken yet
  std::string to_client_;  // bytes OpenSSL must be given again
  bool handshaken_ = false;
  bool client_failed_ = false;
  bool write_waiting_ = false;
  bool shutting_down_ = false;
  bool closed_ = false;
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
                      std::string peer, absl::AnyInvocable<void()> before_handshake_step,
                      absl::AnyInvocable<void(tcp::socket plain)> on_ready) {
  std::make_shared<TlsRelay>(current(), std::move(socket), std::move(peer),
                             absl::ToChronoNanoseconds(write_stall_timeout))
      ->Start(timeout, std::move(before_handshake_step), std::move(on_ready));
}

}  // namespace stockfeed::ws_gateway

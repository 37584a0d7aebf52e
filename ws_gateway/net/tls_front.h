#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "frame_socket.h"

namespace boost::asio::ssl {
class context;
}

namespace stockfeed::ws_gateway {

// TLS on the gateway's port (https:// and wss://, TLS 1.2+), kept off the
// plain path entirely. A TLS connection is handshaken here and then relayed
// through a local socket pair: the other end goes to an ordinary
// HttpSession, so the dashboard, WebSocket, SSE and /metrics run the same
// code and the same direct-writev fan-out as plain TCP, and a plain
// connection never pays anything for TLS. The relay costs a TLS client one
// extra local copy each way; backpressure holds (a client that stops reading
// fills the pair's buffer, and the usual conflation and stall rules apply).
class TlsFront {
 public:
  static absl::StatusOr<std::unique_ptr<TlsFront>> Load(std::string cert_file, std::string key_file);
  ~TlsFront();

  // Re-reads the certificate and key (SIGHUP): new connections use them,
  // open ones keep theirs. On error the previous ones stay.
  absl::Status Reload();

  // Runs the TLS handshake on `socket` within `timeout`; then calls
  // `on_ready` with the decrypted connection (a stream socket on the same
  // executor) and relays until either side closes, or a write to the
  // client makes no progress for `write_stall_timeout`. A failed or late
  // handshake just closes the socket. `before_handshake_step` runs before
  // each step of the handshake's crypto, so a burst of handshakes queued on
  // one thread can let other work of that thread go first.
  void Accept(tcp::socket socket, absl::Duration timeout, absl::Duration write_stall_timeout, std::string peer,
              absl::AnyInvocable<void()> before_handshake_step, absl::AnyInvocable<void(tcp::socket plain)> on_ready);

 private:
  TlsFront(std::string cert_file, std::string key_file, std::shared_ptr<boost::asio::ssl::context> context);
  std::shared_ptr<boost::asio::ssl::context> current();

  const std::string cert_file_;
  const std::string key_file_;
  std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;  // guarded by mu_
};

}  // namespace stockfeed::ws_gateway

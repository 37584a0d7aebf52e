#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "stockfeed/common/backoff.h"
#include "stockfeed/common/host_port.h"
#include "stockfeed/common/transport_settings.h"

namespace stockfeed::ws_gateway {

// Every limit and timeout of the gateway, in one place; main.cpp fills it
// from flags. docs/protocol.md documents the client-visible ones.
struct GatewayConfig {
  HostPort listen{"127.0.0.1", 8080};
  std::string web_root;
  // io threads; each owns a shard of the sessions and a copy of the feed log.
  int threads = 2;

  // Fan-out passes over a shard's sessions start at most this often. Frames
  // that arrive meanwhile go out together, several per write and syscall,
  // which is what keeps a loaded gateway efficient. An update that follows a
  // quiet spell goes out at once; zero writes every update as it comes.
  absl::Duration fanout_interval = absl::Milliseconds(4);
  // A pass hands its one-frame writes to the kernel through io_uring, 64 per
  // system call (net/send_batch.h); false, or a kernel that refuses
  // io_uring: one sendmsg per client.
  bool io_uring = true;
  // Price frames each shard keeps for resume and catching up.
  size_t log_capacity = 65536;
  // A client this many frames behind gets the latest value per
  // symbol/source instead of the backlog (conflation).
  size_t max_backlog = 4096;
  // Kernel send buffer per client (SO_SNDBUF); 0 keeps the kernel's default.
  // Smaller means slow clients are conflated sooner and cost less kernel memory.
  size_t send_buffer_bytes = 0;
  // A write pending this long means the client stopped reading: disconnect.
  absl::Duration write_stall_timeout = absl::Seconds(15);

  size_t max_connections = 18000;
  size_t max_message_bytes = 4096;        // incoming frames; larger → close 1009
  size_t max_symbols_per_connection = 256;
  // Offer permessage-deflate; prices are then compressed once per update.
  bool permessage_deflate = false;
  // Prices kept per symbol for history requests; also the most a client may ask for.
  size_t history_depth = 100;
  // Control messages a client may send: a token bucket; beyond it, close 1008.
  double control_rate = 20;
  double control_burst = 40;
  absl::Duration handshake_timeout = absl::Seconds(10);
  // No frame from the client for half to three quarters of this (see
  // heartbeat.h): ping; for all of it: close.
  absl::Duration idle_timeout = absl::Seconds(30);
  // SIGINT/SIGTERM: close frames go out, then the process exits within this.
  absl::Duration drain_timeout = absl::Seconds(5);

  // What one client may cost in bytes (docs/protocol.md, "Limits").
  // Output accepted for a client but not yet taken by its socket; a reply
  // that would go past it disconnects the client (prices never do: a client
  // behind on prices is conflated instead).
  size_t max_client_queue_bytes = 1 << 20;
  // Reply bytes (history, snapshot, stats) a client may ask for per second,
  // in bursts of up to max_client_queue_bytes; past it, the reply is refused.
  size_t reply_bytes_per_second = 256 << 10;
  // The largest history reply; past it every symbol's history is shortened.
  size_t max_history_bytes = 256 << 10;

  // Upstream: price_service replicas (each HOST:PORT may be a name that
  // resolves to several), failover and the one reconnect backoff.
  std::vector<HostPort> upstreams{{"127.0.0.1", 50051}};
  // The cap keeps a restarted service streamed from again within a second.
  Backoff::Options upstream_backoff{absl::Milliseconds(100), absl::Milliseconds(800)};
  // A replica silent this long (no update, health message or probe answer;
  // probed at half of it) is given up, as is a connect attempt.
  absl::Duration upstream_stall_timeout = absl::Seconds(10);

  // Front door (docs/security.md). max_connections above counts every
  // socket, HTTP and WebSocket, from accept to close.
  size_t max_connections_per_ip = 0;          // 0: no per-address limit
  double max_new_connections_per_second = 0;  // gateway-wide; 0: no cap
  size_t max_header_bytes = 8192;             // whole request head; beyond: 431
  size_t max_request_line_bytes = 4096;       // beyond: 414
  size_t max_header_count = 64;               // beyond: 431
  // Pages allowed to connect (exact origins, *.example.com patterns, "*");
  // empty: loopback pages. The gateway's own origin always is.
  std::vector<std::string> allowed_origins;
  // Token auth (JWT), on when any key file is given: "[kid=]path" each.
  std::vector<std::string> jwt_hs256_secret_files;
  std::vector<std::string> jwt_public_key_files;  // RS256 or ES256 (PEM)
  std::string jwt_audience;  // "aud" must hold it; empty: not checked
  std::string jwt_issuer;    // "iss" must equal it; empty: not checked
  // A client hears token_expiring this long before its token runs out.
  absl::Duration jwt_refresh_window = absl::Seconds(30);

  // The gRPC hop to price_service: TLS/mTLS and the bearer token (--upstream_tls_*, --upstream_token_file).
  ClientTransportSettings upstream_transport;
  // https:// and wss:// on --listen when both are set (PEM); re-read on SIGHUP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// File descriptors kept for everything but clients: listener, upstream
// channel, epoll and wake-up descriptors, log files.
inline constexpr size_t kReservedDescriptors = 64;
// --max_connections when not given: what the open-file limit leaves after
// the reserved descriptors.
size_t DefaultMaxConnections(uint64_t open_file_limit);
// Empty, or a warning that `max_connections` asks for more sockets than
// `open_file_limit` leaves after the reserved descriptors (connections past
// the limit then get 503 from the listener's spare descriptor, and the
// upstream may find no descriptor to reconnect with).
std::string OpenFileLimitWarning(size_t max_connections, uint64_t open_file_limit);

// Rejects settings that cannot work, naming the flag.
absl::Status Validate(const GatewayConfig& config);

}  // namespace stockfeed::ws_gateway

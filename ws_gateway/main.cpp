// ws_gateway: rebroadcasts the price service's gRPC stream to WebSocket
// browsers as JSON and serves the dashboard on the same port.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "stockfeed/common/cli.h"
#include "gateway.h"
#include "stockfeed/common/grpc_logging.h"
#include "stockfeed/common/logging.h"
#include "stockfeed/common/open_file_limit.h"
#include "spdlog/spdlog.h"

namespace gw = stockfeed::ws_gateway;

ABSL_FLAG(std::string, listen, "127.0.0.1:8080", "HTTP + WebSocket listen address HOST:PORT (port 0 = any)");
ABSL_FLAG(std::string, upstream, "127.0.0.1:50051",
          "price_service replicas: HOST:PORT[,HOST:PORT…]; a name resolving to several addresses lists them all");
ABSL_FLAG(std::string, web_root, "", "dashboard directory (default: the installed copy, else the repo's web/)");
ABSL_FLAG(int, threads, 0, "io threads (0 = one per core, at most 4)");
ABSL_FLAG(absl::Duration, fanout_interval, absl::Milliseconds(4),
          "start fan-out passes at most this often, so frames of a busy feed share writes (0 = every update at once)");
ABSL_FLAG(bool, io_uring, true,
          "send each fan-out pass's one-frame writes through io_uring, 64 per system call (false, or a kernel "
          "that refuses io_uring: one sendmsg per client)");
ABSL_FLAG(uint64_t, log_capacity, 65536, "price frames kept per io thread for resume");
ABSL_FLAG(uint64_t, max_backlog, 4096, "frames a client may fall behind before it is conflated");
ABSL_FLAG(uint64_t, send_buffer_bytes, 0, "kernel send buffer per client, SO_SNDBUF (0 = kernel default)");
ABSL_FLAG(absl::Duration, write_stall_timeout, absl::Seconds(15),
          "disconnect a client whose pending write makes no progress for this long");
ABSL_FLAG(uint64_t, max_connections, 0,
          "open client sockets at most, HTTP and WebSocket (503 beyond; 0 = the open-file limit less 64)");
ABSL_FLAG(uint64_t, max_message_bytes, 4096, "largest message a client may send (close 1009 beyond)");
ABSL_FLAG(uint64_t, max_symbols, 256, "symbols one connection may subscribe to");
ABSL_FLAG(uint64_t, history_depth, 100, "recent prices kept per symbol; the most a client may request");
ABSL_FLAG(double, control_rate, 20, "messages per second a client may send (token bucket; close 1008 beyond)");
ABSL_FLAG(double, control_burst, 40, "burst size of that token bucket");
ABSL_FLAG(absl::Duration, handshake_timeout, absl::Seconds(10), "HTTP request / WebSocket handshake timeout");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(30),
          "close a client silent this long (pinged after half to three quarters of it)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(5), "on SIGTERM, wait this long for clients to close");
ABSL_FLAG(absl::Duration, upstream_backoff_initial, absl::Milliseconds(100), "first upstream reconnect delay");
ABSL_FLAG(absl::Duration, upstream_backoff_max, absl::Milliseconds(800),
          "longest upstream reconnect delay, once every replica failed (the gateway's only reconnect backoff)");
ABSL_FLAG(absl::Duration, upstream_stall_timeout, absl::Seconds(10),
          "give up a replica (or a connect attempt) silent this long; a quiet one is probed at half of it");
ABSL_FLAG(bool, permessage_deflate, false,
          "offer WebSocket compression (RFC 7692); prices are compressed once per update");
ABSL_FLAG(uint64_t, max_connections_per_ip, 0, "open sockets per client address (429 beyond; 0 = no limit)");
ABSL_FLAG(double, max_new_connections_per_second, 0, "new sockets per second, gateway-wide (503 beyond; 0 = no cap)");
ABSL_FLAG(uint64_t, max_header_bytes, 8192, "largest HTTP request head (431 beyond)");
ABSL_FLAG(uint64_t, max_request_line_bytes, 4096, "longest HTTP request line (414 beyond)");
ABSL_FLAG(uint64_t, max_header_count, 64, "most HTTP header fields in a request (431 beyond)");
ABSL_FLAG(std::vector<std::string>, allowed_origins, {},
          "pages that may connect: origins (https://host[:port]), patterns (*.example.com), null (pages "
          "opened from disk) or *; empty = loopback pages and pages from disk; the gateway's own origin always may");
ABSL_FLAG(uint64_t, max_client_queue_bytes, 1 << 20,
          "output bytes a client may leave unread; a reply past it disconnects the client");
ABSL_FLAG(uint64_t, reply_bytes_per_second, 256 << 10,
          "history/snapshot/stats reply bytes a client may request per second (bursts up to max_client_queue_bytes)");
ABSL_FLAG(uint64_t, max_history_bytes, 256 << 10, "largest history reply; past it each symbol's history is shortened");
ABSL_FLAG(std::vector<std::string>, jwt_hs256_secret_file, {},
          "token auth: HS256 secret file(s), [kid=]path, comma-separated; re-read on SIGHUP");
ABSL_FLAG(std::vector<std::string>, jwt_public_key_file, {},
          "token auth: RS256/ES256 public key PEM file(s), [kid=]path, comma-separated; re-read on SIGHUP");
ABSL_FLAG(std::string, jwt_audience, "", "token auth: required \"aud\" (empty = not checked)");
ABSL_FLAG(std::string, jwt_issuer, "", "token auth: required \"iss\" (empty = not checked)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "serve https:// and wss:// with this certificate chain (PEM; TLS 1.2+); re-read on SIGHUP");
ABSL_FLAG(std::string, tls_key_file, "", "the TLS certificate's private key (PEM); re-read on SIGHUP");
ABSL_FLAG(std::string, upstream_tls_ca_file, "",
          "TLS to price_service: the CA its certificate is checked against (PEM); empty = plain gRPC");
ABSL_FLAG(std::string, upstream_tls_cert_file, "", "mutual TLS to price_service: this gateway's certificate (PEM)");
ABSL_FLAG(std::string, upstream_tls_key_file, "", "mutual TLS to price_service: the certificate's private key (PEM)");
ABSL_FLAG(std::string, upstream_tls_server_name, "",
          "the name price_service's certificate must carry (default: the host in --upstream)");
ABSL_FLAG(std::string, upstream_token_file, "",
          "a token sent to price_service on every call as 'authorization: Bearer' (needs TLS); re-read on SIGHUP");
ABSL_FLAG(absl::Duration, jwt_refresh_window, absl::Seconds(30),
          "token auth: send token_expiring this long before a client's token runs out");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error or off");
ABSL_FLAG(std::string, log_format, "text", "text or json (one JSON object per line)");
ABSL_FLAG(bool, access_log, true, "log one line per HTTP request (method, path, status, bytes, duration)");

namespace {

std::string DefaultWebRoot(const char* argv0) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::canonical("/proc/self/exe", ec);
  const fs::path installed = (ec ? fs::path(argv0) : exe).parent_path() / "../share/stockfeed/web";
  if (fs::exists(installed / "index.html", ec)) return fs::weakly_canonical(installed, ec).string();
  return STOCKFEED_SOURCE_WEB_ROOT;
}

}  // namespace

int main(int argc, char** argv) {
  constexpr absl::string_view kUsage =
      "Rebroadcasts stockfeed prices to WebSocket clients and serves the dashboard.";
  absl::SetProgramUsageMessage(kUsage);
  if (absl::Status s = stockfeed::PrepareCommandLine(argc, argv, "ws_gateway", kUsage); !s.ok()) {
    std::cerr << "ws_gateway: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::cerr << "ws_gateway: unexpected argument '" << positional[1] << "' (see --help)\n";
    return EXIT_FAILURE;
  }
  if (absl::Status s = stockfeed::InitLogging("ws_gateway", absl::GetFlag(FLAGS_log_level),
                                               absl::GetFlag(FLAGS_log_format), absl::GetFlag(FLAGS_access_log)); !s.ok()) {
    std::cerr << "ws_gateway: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  stockfeed::RouteGrpcLogging();

  gw::GatewayConfig config;
  absl::StatusOr<stockfeed::HostPort> listen = stockfeed::ParseHostPort(absl::GetFlag(FLAGS_listen));
  absl::StatusOr<std::vector<stockfeed::HostPort>> upstreams =
      stockfeed::ParseHostPortList(absl::GetFlag(FLAGS_upstream));
  for (const auto& [flag, status] : {std::pair{"--listen", listen.status()}, std::pair{"--upstream", upstreams.status()}}) {
    if (!status.ok()) {
      std::cerr << "ws_gateway: " << flag << ": " << status.message() << "\n";
      return EXIT_FAILURE;
    }
  }
  config.listen = *listen;
  config.upstreams = *upstreams;
  config.web_root = absl::GetFlag(FLAGS_web_root);
  if (config.web_root.empty()) config.web_root = DefaultWebRoot(argv[0]);
  const int threads = absl::GetFlag(FLAGS_threads);
  config.threads = threads > 0 ? threads : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  config.fanout_interval = absl::GetFlag(FLAGS_fanout_interval);
  config.io_uring = absl::GetFlag(FLAGS_io_uring);
  config.log_capacity = absl::GetFlag(FLAGS_log_capacity);
  config.max_backlog = absl::GetFlag(FLAGS_max_backlog);
  config.write_stall_timeout = absl::GetFlag(FLAGS_write_stall_timeout);
  config.send_buffer_bytes = absl::GetFlag(FLAGS_send_buffer_bytes);
  const uint64_t open_file_limit = stockfeed::RaiseOpenFileLimit();
  config.max_connections = absl::GetFlag(FLAGS_max_connections);
  if (config.max_connections == 0) config.max_connections = gw::DefaultMaxConnections(open_file_limit);
  if (const std::string warning = gw::OpenFileLimitWarning(config.max_connections, open_file_limit); !warning.empty()) {
    spdlog::warn("{}", warning);
  }
  config.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  config.max_symbols_per_connection = absl::GetFlag(FLAGS_max_symbols);
  config.history_depth = absl::GetFlag(FLAGS_history_depth);
  config.permessage_deflate = absl::GetFlag(FLAGS_permessage_deflate);
  config.control_rate = absl::GetFlag(FLAGS_control_rate);
  config.control_burst = absl::GetFlag(FLAGS_control_burst);
  config.handshake_timeout = absl::GetFlag(FLAGS_handshake_timeout);
  config.idle_timeout = absl::GetFlag(FLAGS_idle_timeout);
  config.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  config.max_connections_per_ip = absl::GetFlag(FLAGS_max_connections_per_ip);
  config.max_new_connections_per_second = absl::GetFlag(FLAGS_max_new_connections_per_second);
  config.max_header_bytes = absl::GetFlag(FLAGS_max_header_bytes);
  config.max_request_line_bytes = absl::GetFlag(FLAGS_max_request_line_bytes);
  config.max_header_count = absl::GetFlag(FLAGS_max_header_count);
  config.allowed_origins = absl::GetFlag(FLAGS_allowed_origins);
  config.max_client_queue_bytes = absl::GetFlag(FLAGS_max_client_queue_bytes);
  config.reply_bytes_per_second = absl::GetFlag(FLAGS_reply_bytes_per_second);
  config.max_history_bytes = absl::GetFlag(FLAGS_max_history_bytes);
  config.jwt_hs256_secret_files = absl::GetFlag(FLAGS_jwt_hs256_secret_file);
  config.jwt_public_key_files = absl::GetFlag(FLAGS_jwt_public_key_file);
  config.jwt_audience = absl::GetFlag(FLAGS_jwt_audience);
  config.jwt_issuer = absl::GetFlag(FLAGS_jwt_issuer);
  config.jwt_refresh_window = absl::GetFlag(FLAGS_jwt_refresh_window);
  config.upstream_backoff = {absl::GetFlag(FLAGS_upstream_backoff_initial), absl::GetFlag(FLAGS_upstream_backoff_max)};
  config.upstream_stall_timeout = absl::GetFlag(FLAGS_upstream_stall_timeout);
  config.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  config.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  config.upstream_transport = {.ca_file = absl::GetFlag(FLAGS_upstream_tls_ca_file),
                               .cert_file = absl::GetFlag(FLAGS_upstream_tls_cert_file),
                               .key_file = absl::GetFlag(FLAGS_upstream_tls_key_file),
                               .token_file = absl::GetFlag(FLAGS_upstream_token_file),
                               .server_name = absl::GetFlag(FLAGS_upstream_tls_server_name)};

  if (absl::Status s = gw::RunGateway(config); !s.ok()) {
    std::cerr << "ws_gateway: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

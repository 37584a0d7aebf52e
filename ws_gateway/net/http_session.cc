#include "http_session.h"

#include <atomic>
#include <chrono>
#include <variant>

#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "absl/strings/str_cat.h"
#include "core/admission.h"
#include "core/control_message.h"
#include "core/messages.h"
#include "api_routes.h"
#include "bars_route.h"
#include "request_head_of.h"
#include "session.h"
#include "shard.h"
#include "static_file_response.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/metrics_exposition.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::ws_gateway {
namespace {

namespace http = boost::beast::http;

constexpr uint64_t kMaxRequestBody = 8 * 1024;

template <typename Request>
http::message_generator TextResponse(const Request& request, http::status status,
                                     absl::string_view content_type, std::string body) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::server, "stockfeed-ws-gateway");
  response.set(http::field::content_type, std::string(content_type));
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

// Answers a request that is not a WebSocket upgrade. Separate from the socket
// code so that what the gateway serves reads in one place.
template <typename Request>
http::message_generator HandleRequest(const Request& request, const Shard& shard, http::status& status) {
  const auto answer = [&](http::status with, absl::string_view content_type, std::string body) {
    status = with;
    return TextResponse(request, with, content_type, std::move(body));
  };
  status = http::status::ok;
  const absl::string_view target(request.target().data(), request.target().size());
  const absl::string_view path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    auto response = answer(http::status::method_not_allowed, "text/plain", "GET or HEAD only\n");
    return response;
  }
  if (path == "/healthz") return answer(http::status::ok, "text/plain", "ok\n");
  if (path == "/readyz") {
    // Ready only while streaming from a replica that is not NOT_SERVING.
    const GatewayStats stats = shard.Stats();
    const bool ready = stats.upstream == UpstreamState::kConnected;
    return answer(ready ? http::status::ok : http::status::service_unavailable, "text/plain",
                        ready ? "ready\n" : absl::StrCat("upstream not ready (", stats.upstream_health, ")\n"));
  }
  if (path == "/metrics") {
    return answer(http::status::ok, metrics::kPrometheusContentType,
                        metrics::ExposePrometheusText(shard.events().registry()));
  }
  if (path == "/stats") {
    return answer(http::status::ok, "application/json", EncodeStats(shard.Stats()) + "\n");
  }
  if (std::optional<ApiResponse> api = HandleApiRequest(request, shard)) {
    return answer(static_cast<http::status>(api->status), "application/json", api->body + "\n");
  }

  return StaticFileResponse(request, shard.config().web_root, status);
}

absl::string_view View(boost::beast::string_view text) { return absl::string_view(text.data(), text.size()); }

template <typename Request>
bool IsGetOrHead(const Request& request) {
  return request.method() == http::verb::get || request.method() == http::verb::head;
}

}  // namespace

HttpSession::HttpSession(Shard& shard, tcp::socket socket, ConnectionGate::Slot slot,
                         std::optional<tcp::endpoint> peer)
    : shard_(shard), slot_(std::move(slot)), stream_(std::move(socket)) {
  error_code ec;
  const tcp::endpoint endpoint = peer ? *peer : stream_.socket().remote_endpoint(ec);
  // Every log line about this connection names it by address and a
  // process-unique id (Session inherits both).
  static std::atomic<uint64_t> next_id{0};
  peer_ = absl::StrCat(ec ? "unknown" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port()),
                       " conn=", ++next_id);
}

void HttpSession::Start() { Read(); }

void HttpSession::Read() {
  parser_.emplace();
  parser_->body_limit(kMaxRequestBody);
  parser_->header_limit(static_cast<std::uint32_t>(shard_.config().max_header_bytes));
  stream_.expires_after(absl::ToChronoNanoseconds(shard_.config().handshake_timeout));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const error_code& ec, std::size_t) { self->OnRead(ec); });
}

void HttpSession::OnRead(const error_code& ec) {
  shard_.DeliverDuePrices();
  if (ec == http::error::end_of_stream || ec == boost::beast::error::timeout ||
      ec == boost::asio::error::connection_reset || ec == boost::asio::error::eof) {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  if (ec) {
    // A malformed request gets a 400 (431 for an oversized head) before the
    // connection closes; the parser's words go to the log only.
    spdlog::debug("http read failed: peer={} error={}", peer_, ec.message());
    if (ec == http::error::header_limit) {
      Refuse({431, "header_too_large",
              absl::StrCat("the request head is larger than ", shard_.config().max_header_bytes, " bytes")});
    } else {
      Refuse({400, "bad_request", "malformed HTTP request"});
    }
    return;
  }
  std::variant<Admission, Rejection> admission = shard_.front_door().chain.Admit(HeadOf(parser_->get()), absl::Now());
  if (const Rejection* rejection = std::get_if<Rejection>(&admission)) {
    Refuse(*rejection);
    return;
  }
  if (boost::beast::websocket::is_upgrade(parser_->get())) {
    Upgrade(std::get<Admission>(std::move(admission)));
    return;
  }
  if (const std::optional<TokenClaims>& claims = std::get<Admission>(admission).claims) {
    std::variant<std::string, Rejection> scoped = ScopeDataRequest(*claims, View(parser_->get().target()));
    if (const Rejection* refused = std::get_if<Rejection>(&scoped)) {
      Refuse(*refused);
      return;
    }
    parser_->get().target(std::get<std::string>(scoped));
  }
  if (StartEventStream(shard_, stream_, slot_, parser_->get(), peer_)) return;
  if (IsBarsRequest(View(parser_->get().target())) && IsGetOrHead(parser_->get()) && shard_.bars_client()) {
    ServeBars(shared_from_this(), *shard_.bars_client(), parser_->release());
    return;
  }
  const bool keep_alive = parser_->get().keep_alive();
  http::status status;
  http::message_generator response = HandleRequest(parser_->get(), shard_, status);
  Reply(std::move(response), static_cast<unsigned>(status), keep_alive, parser_->get(),
        std::chrono::steady_clock::now());
}

void HttpSession::Reply(http::message_generator response, unsigned status, bool keep_alive, const Request& request,
                        std::chrono::steady_clock::time_point started) {
  // A reply that waited for price_service gets its own write deadline.
  stream_.expires_after(absl::ToChronoNanoseconds(shard_.config().handshake_timeout));
  boost::beast::async_write(stream_, std::move(response),
                            [self = shared_from_this(), keep_alive, method = std::string(request.method_string()),
                             target = std::string(request.target()), status,
                             started](const error_code& e, std::size_t bytes) {
                              LogAccess(self->peer_, method, target, status, bytes,
                                        std::chrono::steady_clock::now() - started);
                              self->OnWritten(e, keep_alive);
                            });
}

void HttpSession::Upgrade(Admission admission) {
  auto request = parser_->release();
  const absl::string_view target(request.target().data(), request.target().size());
  const auto reject = [&](absl::string_view reason, http::status status, std::string body) {
    shard_.events().rejected.For(reason).Add();
    request.keep_alive(false);
    const auto started = std::chrono::steady_clock::now();
    boost::beast::async_write(stream_, TextResponse(request, status, "application/json", std::move(body)),
                              [self = shared_from_this(), target = std::string(target), status, started](
                                  const error_code& e, std::size_t bytes) {
                                LogAccess(self->peer_, "GET", target, static_cast<unsigned>(status), bytes,
                                          std::chrono::steady_clock::now() - started);
                                self->OnWritten(e, false);
                              });
  };
  if (!IsWebSocketPath(target)) {
    reject("not_found", http::status::not_found, EncodeError("not_found", "WebSocket endpoints are / and /ws"));
    return;
  }
  if (shard_.draining()) {
    reject("shutting_down", http::status::service_unavailable, EncodeError("shutting_down", "the gateway is shutting down"));
    return;
  }
  std::variant<ConnectParams, ControlError> params =
      ParseConnectParams(target, shard_.config().max_symbols_per_connection, shard_.config().history_depth);
  if (auto* error = std::get_if<ControlError>(&params)) {
    reject("bad_request", http::status::bad_request, EncodeError(error->code, error->message));
    return;
  }
  ConnectParams connect = std::get<ConnectParams>(std::move(params));
  SessionAuth auth;
  if (admission.claims) {
    auth.refused_symbols = RestrictSymbols(*admission.claims, connect.symbols);
    auth.claims = std::move(admission.claims);
  }
  stream_.expires_never();
  // The 101 and everything after it belong to the WebSocket session.
  LogAccess(peer_, "GET", target, 101, 0, std::chrono::steady_clock::duration::zero());
  auto session = std::make_shared<Session>(shard_, stream_.release_socket(), std::move(slot_), std::move(connect),
                                           peer_, std::move(auth));
  session->Start(std::move(request));
}

void HttpSession::Refuse(const Rejection& rejection) {
  shard_.events().rejected.For(rejection.code).Add();
  uint64_t suppressed = 0;
  if (shard_.front_door().refusals_log.ShouldLog(slot_.address(), rejection.code, absl::Now(), suppressed)) {
    spdlog::warn("refusing request: peer={} status={} reason={} (similar refusals from this address since "
                 "the last line: {})",
                 peer_, rejection.status, rejection.code, suppressed);
  }
  http::response<http::string_body> response{static_cast<http::status>(rejection.status), 11};
  response.set(http::field::server, "stockfeed-ws-gateway");
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  if (rejection.status == 401) response.set(http::field::www_authenticate, "Bearer");
  response.body() = EncodeError(rejection.code, rejection.message) + "\n";
  response.keep_alive(false);
  response.prepare_payload();
  // A malformed request may have no method or target to name.
  const bool parsed = parser_ && parser_->is_header_done();
  std::string method = parsed ? std::string(parser_->get().method_string()) : "-";
  std::string target = parsed ? std::string(parser_->get().target()) : "-";
  const auto started = std::chrono::steady_clock::now();
  boost::beast::async_write(stream_, http::message_generator(std::move(response)),
                            [self = shared_from_this(), method = std::move(method), target = std::move(target),
                             status = rejection.status, started](const error_code& e, std::size_t bytes) {
                              LogAccess(self->peer_, method, target, static_cast<unsigned>(status), bytes,
                                        std::chrono::steady_clock::now() - started);
                              self->OnWritten(e, false);
                            });
}

void HttpSession::OnWritten(const error_code& ec, bool keep_alive) {
  if (ec || !keep_alive) {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  Read();
}

}  // namespace stockfeed::ws_gateway

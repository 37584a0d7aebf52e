#include "http_session.h"

#include <variant>

#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "core/control_message.h"
#include "core/messages.h"
#include "core/static_files.h"
#include "session.h"
#include "shard.h"
#include "spdlog/spdlog.h"
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
http::message_generator HandleRequest(const Request& request, const Shard& shard) {
  const absl::string_view target(request.target().data(), request.target().size());
  const absl::string_view path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    auto response = TextResponse(request, http::status::method_not_allowed, "text/plain", "GET or HEAD only\n");
    return response;
  }
  if (path == "/healthz") return TextResponse(request, http::status::ok, "text/plain", "ok\n");
  if (path == "/readyz") {
    const bool ready = shard.upstream_state() == UpstreamState::kConnected;
    return TextResponse(request, ready ? http::status::ok : http::status::service_unavailable,
                        "text/plain", ready ? "ready\n" : "upstream not connected\n");
  }
  if (path == "/stats") {
    return TextResponse(request, http::status::ok, "application/json", EncodeStats(shard.Stats()) + "\n");
  }

  const std::optional<std::string> file = ResolveStaticPath(shard.config().web_root, target);
  if (!file) return TextResponse(request, http::status::bad_request, "text/plain", "bad path\n");
  http::file_body::value_type body;
  error_code ec;
  body.open(file->c_str(), boost::beast::file_mode::scan, ec);
  if (ec) return TextResponse(request, http::status::not_found, "text/plain", "not found\n");

  http::response<http::file_body> response{http::status::ok, request.version()};
  response.set(http::field::server, "stockfeed-ws-gateway");
  response.set(http::field::content_type, std::string(ContentTypeFor(*file)));
  response.set(http::field::cache_control, std::string(CacheControlFor(path)));
  response.set("X-Content-Type-Options", "nosniff");
  response.keep_alive(request.keep_alive());
  if (request.method() == http::verb::head) {
    response.content_length(body.size());
    return http::response<http::empty_body>(response.base());
  }
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace

HttpSession::HttpSession(Shard& shard, tcp::socket socket)
    : shard_(shard), stream_(std::move(socket)) {
  error_code ec;
  const tcp::endpoint endpoint = stream_.socket().remote_endpoint(ec);
  peer_ = ec ? "unknown" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

void HttpSession::Start() { Read(); }

void HttpSession::Read() {
  parser_.emplace();
  parser_->body_limit(kMaxRequestBody);
  stream_.expires_after(absl::ToChronoNanoseconds(shard_.config().handshake_timeout));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const error_code& ec, std::size_t) { self->OnRead(ec); });
}

void HttpSession::OnRead(const error_code& ec) {
  if (ec == http::error::end_of_stream || ec == boost::beast::error::timeout ||
      ec == boost::asio::error::connection_reset || ec == boost::asio::error::eof) {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  if (ec) {
    spdlog::debug("http read failed: peer={} error={}", peer_, ec.message());
    // A malformed request gets a 400 before the connection closes.
    auto response = http::response<http::string_body>{http::status::bad_request, 11};
    response.set(http::field::content_type, "text/plain");
    response.body() = "bad request: " + ec.message() + "\n";
    response.keep_alive(false);
    response.prepare_payload();
    http::message_generator message(std::move(response));
    boost::beast::async_write(stream_, std::move(message),
                              [self = shared_from_this()](const error_code& e, std::size_t) {
                                self->OnWritten(e, false);
                              });
    return;
  }
  if (boost::beast::websocket::is_upgrade(parser_->get())) {
    Upgrade();
    return;
  }
  const bool keep_alive = parser_->get().keep_alive();
  boost::beast::async_write(stream_, HandleRequest(parser_->get(), shard_),
                            [self = shared_from_this(), keep_alive](const error_code& e, std::size_t) {
                              self->OnWritten(e, keep_alive);
                            });
}

void HttpSession::Upgrade() {
  auto request = parser_->release();
  const absl::string_view target(request.target().data(), request.target().size());
  const auto reject = [&](http::status status, std::string body) {
    request.keep_alive(false);
    boost::beast::async_write(stream_, TextResponse(request, status, "application/json", std::move(body)),
                              [self = shared_from_this()](const error_code& e, std::size_t) {
                                self->OnWritten(e, false);
                              });
  };
  if (!IsWebSocketPath(target)) {
    reject(http::status::not_found, EncodeError("not_found", "WebSocket endpoints are / and /ws"));
    return;
  }
  if (shard_.draining()) {
    reject(http::status::service_unavailable, EncodeError("shutting_down", "the gateway is shutting down"));
    return;
  }
  if (shard_.counters().active_connections.load() >= shard_.config().max_connections) {
    spdlog::warn("refusing client: peer={} reason=connection limit {} reached", peer_,
                 shard_.config().max_connections);
    reject(http::status::service_unavailable,
           EncodeError("too_many_connections", "the gateway is at its connection limit"));
    return;
  }
  std::variant<ConnectParams, ControlError> params =
      ParseConnectParams(target, shard_.config().max_symbols_per_connection, shard_.config().history_depth);
  if (auto* error = std::get_if<ControlError>(&params)) {
    reject(http::status::bad_request, EncodeError(error->code, error->message));
    return;
  }
  stream_.expires_never();
  auto session = std::make_shared<Session>(shard_, stream_.release_socket(),
                                           std::get<ConnectParams>(std::move(params)), peer_);
  session->Start(std::move(request));
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

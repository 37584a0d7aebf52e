#include "admin/admin_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"
#include "stockfeed/common/metrics_exposition.h"

namespace stockfeed::price_service {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr uint32_t kMaxRequestHead = 8 * 1024;
// Scrapers and probes open a connection or two; more is a misbehaving client.
constexpr int kMaxConnections = 64;

struct Reply {
  http::status status;
  std::string content_type;
  std::string body;
};

Reply Answer(const http::request<http::string_body>& request, const metrics::Registry& registry,
             const std::function<bool()>& serving) {
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    return {http::status::method_not_allowed, "text/plain", "GET or HEAD only\n"};
  }
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/metrics") {
    return {http::status::ok, std::string(metrics::kPrometheusContentType), metrics::ExposePrometheusText(registry)};
  }
  if (path == "/healthz") return {http::status::ok, "text/plain", "ok\n"};
  if (path == "/readyz") {
    return serving() ? Reply{http::status::ok, "text/plain", "ready\n"}
                     : Reply{http::status::service_unavailable, "text/plain", "price source not serving\n"};
  }
  return {http::status::not_found, "text/plain", "not found: /metrics, /healthz, /readyz\n"};
}

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const metrics::Registry& registry, const std::function<bool()>& serving,
             std::atomic<int>& open)
      : stream_(std::move(socket)), registry_(registry), serving_(serving), open_(open) {
    ++open_;
    error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "unknown" : absl::StrCat(peer.address().to_string(), ":", peer.port());
  }
  ~Connection() { --open_; }

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestHead);
    parser_->body_limit(kMaxRequestHead);
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](const error_code& ec, std::size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(const error_code& ec) {
    if (ec) {
      // A malformed request gets 400; a closed or silent one just ends.
      if (ec != http::error::end_of_stream && ec != boost::beast::error::timeout && ec != net::error::eof &&
          ec != net::error::connection_reset) {
        Write(http::status::bad_request, "text/plain", "bad request\n", false, 11, false);
      }
      return;
    }
    const http::request<http::string_body>& request = parser_->get();
    Reply reply = Answer(request, registry_, serving_);
    method_ = std::string(request.method_string());
    target_ = std::string(request.target());
    Write(reply.status, reply.content_type, std::move(reply.body), request.keep_alive(), request.version(),
          request.method() == http::verb::head);
  }

  void Write(http::status status, const std::string& content_type, std::string body, bool keep_alive,
             unsigned version, bool head) {
    response_ = {status, version};
    response_.set(http::field::server, "stockfeed-price-service");
    response_.set(http::field::content_type, content_type);
    response_.set(http::field::cache_control, "no-store");
    response_.keep_alive(keep_alive);
    response_.body() = std::move(body);
    response_.prepare_payload();
    if (head) response_.body().clear();
    const auto started = std::chrono::steady_clock::now();
    http::async_write(stream_, response_, [self = shared_from_this(), keep_alive, started](const error_code& ec,
                                                                                         std::size_t bytes) {
      LogAccess(self->peer_, self->method_, self->target_, self->response_.result_int(), bytes,
                std::chrono::steady_clock::now() - started);
      if (!ec && keep_alive) {
        self->Read();
        return;
      }
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  const metrics::Registry& registry_;
  const std::function<bool()>& serving_;
  std::atomic<int>& open_;
  std::string peer_;
  std::string method_ = "-", target_ = "-";  // of the request being answered
};

}  // namespace

struct AdminServer::Impl {
  Impl(const metrics::Registry& r, std::function<bool()> s) : registry(r), serving(std::move(s)) {}

  void Accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        if (open_connections.load() >= kMaxConnections) {
          error_code ignored;
          socket.close(ignored);
        } else {
          std::make_shared<Connection>(std::move(socket), registry, serving, open_connections)->Read();
        }
      }
      Accept();
    });
  }

  // Connections refer to these: they outlive the io_context, which destroys
  // the connections' pending handlers.
  const metrics::Registry& registry;
  const std::function<bool()> serving;
  std::atomic<int> open_connections{0};
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const HostPort& address,
                                                                const metrics::Registry& registry,
                                                                std::function<bool()> serving) {
  auto impl = std::make_unique<Impl>(registry, std::move(serving));
  error_code ec;
  const auto ip = net::ip::make_address(address.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("--admin_listen: '", address.host, "' is not an IP address"));
  const tcp::endpoint endpoint(ip, address.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR only lets us rebind past TIME_WAIT; a live listener still refuses us.
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("--admin_listen: cannot listen on ", address.ToString(), ": ", ec.message()));
  }
  const int port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  spdlog::info("admin HTTP (/metrics, /healthz, /readyz) on http://{}:{}", address.host, port);
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl), port));
}

AdminServer::AdminServer(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}

AdminServer::~AdminServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace stockfeed::price_service

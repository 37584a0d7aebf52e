// TLS on the gateway (https://, wss://) over real sockets against the real
// binaries, with certificates made here by openssl: the dashboard, /readyz,
// /metrics, SSE and WebSocket over TLS; a certificate swapped on disk plus
// SIGHUP while a client stays connected; bad certificates; the handshake
// deadline.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/process.h"
#include "support/raw_http.h"
#include "support/system.h"
#include "test_files.h"

namespace stockfeed::testing {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using std::chrono::seconds;

// A TLS connection that trusts only `ca` and checks the name "localhost".
class TlsConnection {
 public:
  // A small `receive_buffer_bytes` makes a client that stops reading stall quickly.
  TlsConnection(int port, const std::string& ca, int receive_buffer_bytes = 0)
      : context_(ssl::context::tls_client), stream_(io_, context_) {
    context_.load_verify_file(ca);
    stream_.next_layer().open(tcp::v4());
    if (receive_buffer_bytes > 0) {
      stream_.next_layer().set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
    }
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification("localhost"));
    SSL_set_tlsext_host_name(stream_.native_handle(), "localhost");
    stream_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    const timeval timeout{5, 0};  // every blocking read gives up after 5 s
    ::setsockopt(stream_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    stream_.handshake(ssl::stream_base::client);
  }
  ssl::stream<tcp::socket>& stream() { return stream_; }
  // The subject of the certificate the server presented.
  std::string PeerSubject() {
    X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
    if (cert == nullptr) return "";
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
    X509_free(cert);
    return name;
  }

 private:
  net::io_context io_;
  ssl::context context_;
  ssl::stream<tcp::socket> stream_;
};

struct HttpsResult {
  int status = 0;
  std::string body;
};
HttpsResult HttpsGet(int port, const std::string& ca, const std::string& target) {
  TlsConnection connection(port, ca);
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "localhost:" + std::to_string(port));
  request.keep_alive(false);
  http::write(connection.stream(), request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  boost::system::error_code ec;
  http::read(connection.stream(), buffer, response, ec);
  if (ec) return {};
  return {static_cast<int>(response.result_int()), response.body()};
}

// A wss:// client on /ws.
class WssClient {
 public:
  WssClient(int port, const std::string& ca, int receive_buffer_bytes = 0)
      : connection_(port, ca, receive_buffer_bytes), ws_(connection_.stream()) {
    ws_.handshake("localhost:" + std::to_string(port), "/ws");
  }
  // The next message with "type" == type; nullopt after a timeout or close.
  std::optional<boost::json::object> ReadUntilType(const std::string& type) {
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      boost::beast::flat_buffer buffer;
      boost::system::error_code ec;
      ws_.read(buffer, ec);
      if (ec) return std::nullopt;
      boost::json::value message = boost::json::parse(boost::beast::buffers_to_string(buffer.data()), ec);
      if (!ec && message.is_object() && message.as_object().contains("type") &&
          message.as_object().at("type") == type.c_str()) {
        return message.as_object();
      }
    }
    return std::nullopt;
  }
  std::string PeerSubject() { return connection_.PeerSubject(); }

 private:
  TlsConnection connection_;
  websocket::stream<ssl::stream<tcp::socket>&> ws_;
};

class GatewayTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates"; }
  void StartSystem(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--tls_cert_file=" + certs_.server_cert, "--tls_key_file=" + certs_.server_key};
    args.insert(args.end(), extra.begin(), extra.end());
    system_ = std::make_unique<System>(System::Options{.gateway_args = args});
    ASSERT_TRUE(Eventually([&] { return HttpsGet(port(), certs_.ca, "/readyz").status == 200; }, seconds(15)))
        << system_->gateway().Log();
  }
  int port() const { return system_->gateway_port(); }

  TestCertificates certs_;
  std::unique_ptr<System> system_;
};

TEST_F(GatewayTlsTest, HttpsAndWssServeTheDashboardProbesMetricsSseAndWebSocket) {
  StartSystem();
  EXPECT_NE(system_->gateway().Log().find("listening on https://"), std::string::npos);
  const HttpsResult page = HttpsGet(port(), certs_.ca, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  EXPECT_EQ(HttpsGet(port(), certs_.ca, "/metrics").status, 200);

  WssClient client(port(), certs_.ca);
  EXPECT_NE(client.PeerSubject().find("CN=localhost"), std::string::npos) << client.PeerSubject();
  EXPECT_TRUE(client.ReadUntilType("price").has_value());

  // SSE over TLS: the stream's first events arrive.
  TlsConnection sse(port(), certs_.ca);
  const std::string request = "GET /api/v1/stream HTTP/1.1\r\nHost: localhost\r\n\r\n";
  net::write(sse.stream(), net::buffer(request));
  std::string received;
  char chunk[4096];
  while (received.find("event: price") == std::string::npos) {
    boost::system::error_code ec;
    const size_t n = sse.stream().read_some(net::buffer(chunk), ec);
    if (ec) break;
    received.append(chunk, n);
  }
  EXPECT_NE(received.find("text/event-stream"), std::string::npos) << received;
  EXPECT_NE(received.find("event: price"), std::string::npos) << received;

  // Plain HTTP on the TLS port gets no answer, only a closed connection.
  RawConnection plain(port());
  plain.Send("GET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(plain.ReadAll(seconds(5)).find("HTTP/1.1"), std::string::npos);
}

TEST_F(GatewayTlsTest, ACertificateSwappedOnDiskAndSighupServesNewConnectionsWhileOldOnesStay) {
  StartSystem();
  WssClient old_client(port(), certs_.ca);
  ASSERT_TRUE(old_client.ReadUntilType("price").has_value());
  ASSERT_NE(old_client.PeerSubject().find("CN=localhost"), std::string::npos);

  // The operator's rotation: new files in place (written aside, renamed), then SIGHUP.
  const std::string staged_cert = certs_.dir.path() + "/rotated.pem", staged_key = certs_.dir.path() + "/rotated.key";
  certs_.Issue("rotated", staged_cert, staged_key, certs_.ca, certs_.ca_key);
  std::filesystem::rename(staged_key, certs_.server_key);
  std::filesystem::rename(staged_cert, certs_.server_cert);
  system_->gateway().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return system_->gateway().Log().find("TLS certificate reloaded") != std::string::npos; },
                         seconds(10)))
      << system_->gateway().Log();

  WssClient new_client(port(), certs_.ca);
  EXPECT_NE(new_client.PeerSubject().find("CN=rotated"), std::string::npos) << new_client.PeerSubject();
  EXPECT_TRUE(new_client.ReadUntilType("price").has_value());
  // The client from before the swap is still connected and still gets prices.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(old_client.ReadUntilType("price").has_value()) << i;
}

size_t OpenDescriptors(pid_t pid) {
  size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++count;
  }
  return count;
}

TEST(GatewayTlsStallTest, ATlsClientThatStopsReadingIsDroppedAndItsRelayClosed) {
  TestCertificates certs;
  ASSERT_TRUE(certs.ok());
  System system(System::Options{
      .rate = 3000,
      .gateway_args = {"--tls_cert_file=" + certs.server_cert, "--tls_key_file=" + certs.server_key,
                       "--send_buffer_bytes=16384", "--write_stall_timeout=2s"}});
  const int port = system.gateway_port();
  ASSERT_TRUE(Eventually([&] { return HttpsGet(port, certs.ca, "/readyz").status == 200; }, seconds(15)))
      << system.gateway().Log();
  // Settle, then count: the keep-alive probes above are closed.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const size_t baseline = OpenDescriptors(system.gateway().pid());
  {
    WssClient stalled(port, certs.ca, /*receive_buffer_bytes=*/4096);
    ASSERT_TRUE(stalled.ReadUntilType("price").has_value());
    EXPECT_GE(OpenDescriptors(system.gateway().pid()), baseline + 3) << "a TLS client holds its socket and a pair";
    // Stop reading: whichever of the session and the relay sees the stall first gives up after
    // --write_stall_timeout, and the other follows.
    ASSERT_TRUE(Eventually([&] { return system.gateway().Log().find("client disconnected") != std::string::npos; },
                           seconds(20)))
        << system.gateway().Log();
    EXPECT_TRUE(Eventually([&] { return OpenDescriptors(system.gateway().pid()) <= baseline; }, seconds(15)))
        << OpenDescriptors(system.gateway().pid()) << " descriptors open, " << baseline << " before the client";
  }
}

int64_t RssBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// What an idle TLS client costs the gateway: its session, OpenSSL's state
// and the relay. Buffers are held only while bytes move; with Asio's
// ssl::stream and fixed relay buffers it was about 98 KiB of RSS per client,
// now about 19 KiB (the SSL object alone is 7.6 KiB).
TEST_F(GatewayTlsTest, AnIdleTlsClientCostsTheGatewayLittleMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's allocator (redzones, a quarantine of freed blocks) makes RSS meaningless here";
#endif
  StartSystem();
  const pid_t gateway = system_->gateway().pid();
  std::vector<std::unique_ptr<WssClient>> clients;
  const auto open = [&](size_t count) {
    for (size_t i = 0; i < count; ++i) clients.push_back(std::make_unique<WssClient>(port(), certs_.ca));
    // Each has its welcome and its first prices before RSS is read.
    ASSERT_TRUE(clients.back()->ReadUntilType("price").has_value());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  };
  // Warm-up: the allocator's arenas and the shard's tables grow to size first.
  open(100);
  const int64_t before = RssBytes(gateway);
  constexpr size_t kMeasured = 400;
  open(kMeasured);
  const int64_t per_client = (RssBytes(gateway) - before) / static_cast<int64_t>(kMeasured);
  std::cout << "gateway RSS per idle TLS client: " << per_client << " bytes\n";
  EXPECT_LE(per_client, 32 * 1024);
}

TEST_F(GatewayTlsTest, ABrokenCertificateOnReloadKeepsTheOldOne) {
  StartSystem();
  WriteFile(certs_.server_cert, "not a certificate\n");
  system_->gateway().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return system_->gateway().Log().find("TLS certificate not reloaded") != std::string::npos; },
                         seconds(10)))
      << system_->gateway().Log();
  WssClient client(port(), certs_.ca);
  EXPECT_NE(client.PeerSubject().find("CN=localhost"), std::string::npos);
  EXPECT_TRUE(client.ReadUntilType("price").has_value());
}

TEST_F(GatewayTlsTest, BadCertificateFlagsAreStartupErrors) {
  const struct {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--tls_cert_file=" + certs_.server_cert}, "--tls_cert_file and --tls_key_file go together"},
      {{"--tls_cert_file=/nonexistent.pem", "--tls_key_file=" + certs_.server_key}, "--tls_cert_file: cannot use"},
      {{"--tls_cert_file=" + certs_.server_cert, "--tls_key_file=" + certs_.client_key}, "--tls_key_file: cannot use"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0", "--web_root=" + Binaries::WebRoot()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    ChildProcess gateway(Binaries::Gateway(), args, TestOutputDir() + "/ws_gateway.log");
    EXPECT_EQ(gateway.Wait(seconds(10)), 1) << c.message;
    EXPECT_NE(gateway.Log().find(c.message), std::string::npos) << gateway.Log();
  }
}

TEST_F(GatewayTlsTest, ASocketThatNeverStartsTheHandshakeIsClosedAtTheDeadline) {
  StartSystem({"--handshake_timeout=1s"});
  RawConnection silent(port());
  EXPECT_FALSE(silent.ClosedWithin(std::chrono::milliseconds(500)));
  EXPECT_TRUE(silent.ClosedWithin(seconds(8)));
}

}  // namespace
}  // namespace stockfeed::testing

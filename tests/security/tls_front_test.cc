// TlsFront on its own, over real sockets and a real OpenSSL client: the
// handshake, bytes both ways through the relay, close_notify when the
// gateway's side closes, a client that vanishes mid-stream, and the hook that
// runs before each handshake step.
#include "net/tls_front.h"

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "test_files.h"

namespace stockfeed::ws_gateway {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using testing::TestCertificates;

// A gateway-side io thread with a TlsFront that accepts one connection and
// hands the decrypted socket to the test.
class TlsFrontTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates";
    absl::StatusOr<std::unique_ptr<TlsFront>> front = TlsFront::Load(certs_.server_cert, certs_.server_key);
    ASSERT_TRUE(front.ok()) << front.status();
    front_ = *std::move(front);
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) {
      ASSERT_FALSE(ec) << ec.message();
      front_->Accept(std::move(socket), absl::Seconds(5), absl::Seconds(5), "test peer", [this] { ++steps_; },
                     [this](tcp::socket plain) { plain_.set_value(std::move(plain)); });
    });
    io_thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  TestCertificates certs_;
  std::unique_ptr<TlsFront> front_;
  net::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::thread io_thread_;
  std::atomic<int> steps_{0};
  std::promise<tcp::socket> plain_;
};

// A blocking TLS client that trusts the test CA.
class Client {
 public:
  Client(unsigned short port, const std::string& ca) : context_(ssl::context::tls_client), stream_(io_, context_) {
    context_.load_verify_file(ca);
    stream_.set_verify_mode(ssl::verify_peer);
    SSL_set_tlsext_host_name(stream_.native_handle(), "localhost");
    stream_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  void Handshake() { stream_.handshake(ssl::stream_base::client); }
  ssl::stream<tcp::socket>& stream() { return stream_; }

 private:
  net::io_context io_;
  ssl::context context_;
  ssl::stream<tcp::socket> stream_;
};

std::string ReadExactly(tcp::socket& socket, size_t size) {
  std::string bytes(size, '\0');
  net::read(socket, net::buffer(bytes));
  return bytes;
}

TEST_F(TlsFrontTest, RelaysBothWaysAndRunsTheHookBeforeEachHandshakeStep) {
  Client client(port(), certs_.ca);
  // Connected, nothing sent: the first step finds no ClientHello and waits.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (steps_.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(steps_.load(), 1);
  client.Handshake();
  std::future<tcp::socket> ready = plain_.get_future();
  ASSERT_EQ(ready.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  tcp::socket plain = ready.get();
  // The step that answers the ClientHello (key exchange and signature) ran it too.
  const int steps = steps_.load();
  EXPECT_GE(steps, 2);

  // Larger than one TLS record, so the relay loops and OpenSSL splits it.
  const std::string upload(40000, 'u');
  net::write(client.stream(), net::buffer(upload));
  EXPECT_EQ(ReadExactly(plain, upload.size()), upload);
  const std::string download(100000, 'd');
  std::thread writer([&] { net::write(plain, net::buffer(download)); });
  std::string received(download.size(), '\0');
  net::read(client.stream(), net::buffer(received));
  writer.join();
  EXPECT_EQ(received, download);
  EXPECT_EQ(steps_.load(), steps) << "the hook is for the handshake only";

  // The gateway's side closes: the client gets close_notify, a clean end.
  plain.close();
  char byte;
  error_code ec;
  client.stream().read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof) << ec.message() << " (stream_truncated: no close_notify)";
}

TEST_F(TlsFrontTest, TheClientLeavingEndsTheDecryptedStream) {
  std::optional<Client> client(std::in_place, port(), certs_.ca);
  client->Handshake();
  std::future<tcp::socket> ready = plain_.get_future();
  ASSERT_EQ(ready.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  tcp::socket plain = ready.get();
  SSL_shutdown(client->stream().native_handle());  // close_notify, without waiting for ours
  client.reset();
  error_code ec;
  char byte;
  plain.read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof) << ec.message();
}

TEST_F(TlsFrontTest, AClientThatVanishesMidStreamEndsTheRelayWithoutASignal) {
  Client client(port(), certs_.ca);
  client.Handshake();
  std::future<tcp::socket> ready = plain_.get_future();
  ASSERT_EQ(ready.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  tcp::socket plain = ready.get();
  const timeval timeout{5, 0};  // a relay that stopped reading fails the test, not hangs it
  ::setsockopt(plain.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  client.stream().next_layer().close();  // no close_notify; what the relay sends next gets a reset
  // The relay writes on into the reset connection: with write(2) under
  // OpenSSL that raised SIGPIPE and ended the whole process.
  const std::string chunk(64 * 1024, 'x');
  error_code ec;
  for (int i = 0; i < 200 && !ec; ++i) net::write(plain, net::buffer(chunk), ec);
  EXPECT_TRUE(ec == net::error::broken_pipe || ec == net::error::connection_reset) << ec.message();
}

}  // namespace
}  // namespace stockfeed::ws_gateway

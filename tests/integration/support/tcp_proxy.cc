#include "tcp_proxy.h"

#include <array>
#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace stockfeed::testing {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

// What the test asks of every connection; read on the io thread.
struct Faults {
  std::atomic<int64_t> delay_ms{0};
  std::atomic<bool> black_hole{false};
};

// Both directions of one proxied connection.
struct Link : std::enable_shared_from_this<Link> {
  Link(tcp::socket client_socket, net::io_context& io, const Faults& faults_in)
      : client(std::move(client_socket)), server(io), faults(faults_in), upstream_timer(io), downstream_timer(io) {}

  // One chunk in flight per direction, so a delay keeps the order.
  void Pipe(tcp::socket& from, tcp::socket& to, std::array<char, 16384>& buffer, net::steady_timer& timer) {
    from.async_read_some(net::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer, &timer](
                                                  const error_code& ec, std::size_t n) {
      if (ec) return self->Close();
      if (self->faults.black_hole) {
        self->black_holed = true;
        return self->Pipe(from, to, buffer, timer);  // dropped
      }
      timer.expires_after(std::chrono::milliseconds(self->faults.delay_ms.load()));
      timer.async_wait([self, &from, &to, &buffer, &timer, n](const error_code&) {
        net::async_write(to, net::buffer(buffer.data(), n), [self, &from, &to, &buffer, &timer](const error_code& e,
                                                                                              std::size_t) {
          if (e) return self->Close();
          self->Pipe(from, to, buffer, timer);
        });
      });
    });
  }

  void Close() {
    error_code ignored;
    client.close(ignored);
    server.close(ignored);
  }

  tcp::socket client;
  tcp::socket server;
  const Faults& faults;
  bool black_holed = false;  // lost bytes: cut when the black hole ends
  net::steady_timer upstream_timer, downstream_timer;
  std::array<char, 16384> upstream_buffer{};
  std::array<char, 16384> downstream_buffer{};
};

}  // namespace

struct TcpProxy::Impl {
  net::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
  tcp::endpoint target;
  Faults faults;
  std::vector<std::weak_ptr<Link>> links;  // io thread only
  std::thread thread;

  void Accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec) return;
      auto link = std::make_shared<Link>(std::move(socket), io, faults);
      links.push_back(link);
      link->server.async_connect(target, [link](const error_code& e) {
        if (e) return link->Close();
        link->Pipe(link->client, link->server, link->upstream_buffer, link->upstream_timer);
        link->Pipe(link->server, link->client, link->downstream_buffer, link->downstream_timer);
      });
      Accept();
    });
  }
};

TcpProxy::TcpProxy(int target_port) : impl_(std::make_unique<Impl>()) {
  impl_->target = tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(target_port));
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

TcpProxy::~TcpProxy() {
  impl_->io.stop();
  impl_->thread.join();
}

int TcpProxy::port() const { return impl_->acceptor.local_endpoint().port(); }

void TcpProxy::CutConnections() {
  std::promise<void> done;
  net::post(impl_->io, [this, &done] {
    for (const std::weak_ptr<Link>& weak : impl_->links) {
      if (auto link = weak.lock()) link->Close();
    }
    impl_->links.clear();
    done.set_value();
  });
  done.get_future().wait();
}

void TcpProxy::SetDelay(std::chrono::milliseconds delay) { impl_->faults.delay_ms = delay.count(); }

void TcpProxy::SetBlackHole(bool on) {
  std::promise<void> done;
  net::post(impl_->io, [this, on, &done] {
    impl_->faults.black_hole = on;
    if (!on) {
      for (const std::weak_ptr<Link>& weak : impl_->links) {
        if (auto link = weak.lock(); link && link->black_holed) link->Close();
      }
    }
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace stockfeed::testing

// FrameSocket over a real loopback TCP connection: queued bytes leave in
// order whether they go out in the direct write or after a partial one, and
// Beast's writes and errors complete the way Asio requires; reads stop at
// the end of each client frame.
#include "net/frame_socket.h"

#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>

namespace stockfeed::ws_gateway {
namespace {

struct Connection {
  net::io_context io;
  tcp::socket sender{io};
  tcp::socket receiver{io};

  Connection() {
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    sender.connect(acceptor.local_endpoint());
    receiver = acceptor.accept();
  }
};

// Reads exactly `size` bytes from `socket` on its own thread.
std::string ReadAll(tcp::socket& socket, size_t size) {
  std::string received(size, '\0');
  net::read(socket, net::buffer(received));
  return received;
}

TEST(FrameSocketTest, EverythingQueuedArrivesInOrderThroughPartialAndAsynchronousWrites) {
  Connection connection;
  // A small send buffer and a receiver that is not reading yet: the direct
  // write can only take part of the queue, the rest must go asynchronously.
  connection.sender.set_option(net::socket_base::send_buffer_size(4096));
  FrameSocket socket(std::move(connection.sender));
  auto owner = std::make_shared<int>(0);
  int idle_calls = 0;
  socket.Bind(owner, [&] { ++idle_calls; });

  std::string expected;
  // More chunks than one sendmsg takes, shared frames and copies mixed.
  for (int i = 0; i < 3000; ++i) {
    const std::string text = std::string(1 + (i * 37) % 100, static_cast<char>('a' + i % 26));
    if (i % 3 == 0) {
      socket.QueueCopy(text);
    } else {
      FramePtr frame = Frame::Message(text);
      socket.Queue(frame, frame->wire());
      expected.append(frame->wire().data(), frame->wire().size());
      continue;
    }
    expected += text;
  }
  socket.Flush();
  EXPECT_TRUE(socket.writing()) << "the direct write should not have fit";

  std::string received;
  std::thread reader([&] { received = ReadAll(connection.receiver, expected.size()); });
  connection.io.run();
  reader.join();

  EXPECT_FALSE(socket.writing());
  EXPECT_FALSE(socket.error());
  EXPECT_EQ(idle_calls, 1);
  EXPECT_EQ(socket.queued_chunks(), 0u);
  ASSERT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "bytes arrived out of order";
}

TEST(FrameSocketTest, ADirectWriteLeavesTheSocketIdleWithoutCallingOnIdle) {
  Connection connection;
  FrameSocket socket(std::move(connection.sender));
  auto owner = std::make_shared<int>(0);
  int idle_calls = 0;
  socket.Bind(owner, [&] { ++idle_calls; });

  FramePtr frame = Frame::Message(R"({"type":"pong"})");
  socket.Queue(frame, frame->wire());
  socket.Flush();

  EXPECT_FALSE(socket.writing());
  EXPECT_EQ(socket.queued_chunks(), 0u);
  EXPECT_EQ(idle_calls, 0);
  EXPECT_EQ(ReadAll(connection.receiver, frame->wire().size()), std::string(frame->wire()));
}

TEST(FrameSocketTest, BeastWritesCompleteAfterTheirInitiatingCallReturns) {
  Connection connection;
  FrameSocket socket(std::move(connection.sender));
  auto owner = std::make_shared<int>(0);
  socket.Bind(owner, [] {});

  const std::string pong = "\x8a\x00";
  bool completed = false;
  size_t reported = 0;
  socket.async_write_some(net::buffer(pong), [&](const error_code& ec, size_t bytes) {
    EXPECT_FALSE(ec);
    completed = true;
    reported = bytes;
  });
  EXPECT_FALSE(completed) << "a completion handler ran inside its initiating function";
  connection.io.run();
  EXPECT_TRUE(completed);
  EXPECT_EQ(reported, pong.size());
  EXPECT_EQ(ReadAll(connection.receiver, pong.size()), pong);
}

TEST(FrameSocketTest, AWriteToAResetConnectionFailsBeastsWritesAndTellsTheOwner) {
  Connection connection;
  // Reset on close: the sender's next write fails at once.
  connection.receiver.set_option(net::socket_base::linger(true, 0));
  connection.receiver.close();
  FrameSocket socket(std::move(connection.sender));
  auto owner = std::make_shared<int>(0);
  int idle_calls = 0;
  socket.Bind(owner, [&] { ++idle_calls; });

  error_code beast_error;
  bool beast_completed = false;
  // The first write may still be accepted by the kernel; keep writing until
  // the reset is noticed.
  for (int i = 0; i < 100 && !socket.error(); ++i) {
    FramePtr frame = Frame::Message(std::string(1000, 'x'));
    socket.Queue(frame, frame->wire());
    socket.Flush();
    connection.io.poll();
    connection.io.restart();
  }
  socket.async_write_some(net::buffer("\x88\x00", 2), [&](const error_code& ec, size_t) {
    beast_completed = true;
    beast_error = ec;
  });
  connection.io.run();

  ASSERT_TRUE(socket.error());
  EXPECT_EQ(idle_calls, 1);
  EXPECT_TRUE(beast_completed);
  EXPECT_TRUE(beast_error);
}

// A client frame with a zero mask key (RFC 6455 §5.3: the payload is sent as is).
std::string MaskedFrame(uint8_t opcode, const std::string& payload) {
  std::string frame = {static_cast<char>(0x80 | opcode), static_cast<char>(0x80 | payload.size())};
  return frame + std::string(4, '\0') + payload;
}

TEST(FrameSocketTest, BeastReadsFrameByFrameSoNothingWaitsInItsBufferBetweenMessages) {
  Connection connection;
  // The gateway reads the upgrade request itself and hands it to Beast.
  const std::string upgrade =
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  net::write(connection.sender, net::buffer(upgrade));
  boost::beast::flat_buffer head;
  boost::beast::http::request<boost::beast::http::string_body> request;
  boost::beast::http::read(connection.receiver, head, request);
  boost::beast::websocket::stream<FrameSocket> ws(std::move(connection.receiver));
  auto owner = std::make_shared<int>(0);
  ws.next_layer().Bind(owner, [] {});
  ws.async_accept(request, [](const error_code& ec) { EXPECT_FALSE(ec); });
  connection.io.run();
  connection.io.restart();
  std::string response(1024, '\0');
  response.resize(connection.sender.read_some(net::buffer(response)));
  ASSERT_NE(response.find("101"), std::string::npos) << response;

  // Two messages and a pong in one write, as a client may send them.
  net::write(connection.sender, net::buffer(MaskedFrame(0x1, "first") + MaskedFrame(0xA, "") +
                                            MaskedFrame(0x1, "second")));
  boost::beast::flat_buffer message;
  ws.async_read(message, [](const error_code& ec, size_t) { EXPECT_FALSE(ec); });
  connection.io.run();
  connection.io.restart();
  EXPECT_EQ(boost::beast::buffers_to_string(message.data()), "first");
  EXPECT_TRUE(ws.next_layer().at_frame_boundary());
  // The rest is still in the socket, not in Beast's buffer: waiting for the
  // socket to become readable would see it.
  EXPECT_EQ(ws.next_layer().next_layer().available(),
            MaskedFrame(0xA, "").size() + MaskedFrame(0x1, "second").size());

  EXPECT_TRUE(ws.next_layer().TakePong());
  EXPECT_FALSE(ws.next_layer().TakePong()) << "the next frame is a text frame";
  message.clear();
  ws.async_read(message, [](const error_code& ec, size_t) { EXPECT_FALSE(ec); });
  connection.io.run();
  EXPECT_EQ(boost::beast::buffers_to_string(message.data()), "second");
  EXPECT_TRUE(ws.next_layer().at_frame_boundary());
}

}  // namespace
}  // namespace stockfeed::ws_gateway

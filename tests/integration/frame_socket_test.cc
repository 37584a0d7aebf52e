// FrameSocket over a real loopback TCP connection: queued bytes leave in
// order whether they go out in the direct write, in a pass's io_uring batch
// (SendBatch) or after a partial one, and Beast's writes and errors complete
// the way Asio requires; reads stop at the end of each client frame.
#include "net/frame_socket.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>

#include "net/send_batch.h"

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

// A pass's batch, or a skip where the kernel refuses io_uring (the gateway
// then writes with sendmsg, which the tests above cover).
#define CREATE_SEND_BATCH_OR_SKIP(batch)                   \
  std::string why_no_batch;                                \
  std::unique_ptr<SendBatch> batch = SendBatch::Create(why_no_batch); \
  if (!batch) GTEST_SKIP() << "io_uring unavailable: " << why_no_batch

std::string QueueText(FrameSocket& socket, const std::string& text) {
  FramePtr frame = Frame::Message(text);
  socket.Queue(frame, frame->wire());
  return std::string(frame->wire());
}

// A FrameSocket on a loopback connection, counting its owner's on_idle calls.
struct CountingSocket {
  explicit CountingSocket(int send_buffer_bytes = 0) {
    if (send_buffer_bytes > 0) socket.next_layer().set_option(net::socket_base::send_buffer_size(send_buffer_bytes));
    socket.Bind(owner, [this] { ++idle_calls; });
  }

  Connection connection;
  FrameSocket socket{std::move(connection.sender)};
  std::shared_ptr<int> owner = std::make_shared<int>(0);
  int idle_calls = 0;
};

TEST(SendBatchTest, AWriteOfSeveralFramesGoesOutAtOnceEvenDuringAPass) {
  CREATE_SEND_BATCH_OR_SKIP(batch);
  CountingSocket counting;
  FrameSocket& socket = counting.socket;

  batch->Begin();
  std::string expected = QueueText(socket, "one");
  expected += QueueText(socket, "two");
  socket.Flush();
  EXPECT_FALSE(socket.writing()) << "a write of two frames should not wait for the batch";
  EXPECT_EQ(socket.queued_chunks(), 0u);
  batch->End();
  EXPECT_EQ(counting.idle_calls, 0);
  EXPECT_EQ(ReadAll(counting.connection.receiver, expected.size()), expected);
}

TEST(SendBatchTest, EveryBatchedWriteArrivesAndEachOwnerHearsOnceItIsSent) {
  CREATE_SEND_BATCH_OR_SKIP(batch);
  // More connections than one batch holds, so the pass sends several.
  constexpr int kConnections = 150;
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  std::vector<std::unique_ptr<FrameSocket>> sockets;
  std::vector<tcp::socket> receivers;
  std::vector<std::string> expected(kConnections);
  auto owner = std::make_shared<int>(0);
  std::vector<int> idle_calls(kConnections, 0);
  for (int i = 0; i < kConnections; ++i) {
    tcp::socket sender(io);
    sender.connect(acceptor.local_endpoint());
    receivers.push_back(acceptor.accept());
    sockets.push_back(std::make_unique<FrameSocket>(std::move(sender)));
    sockets.back()->Bind(owner, [&idle_calls, i] { ++idle_calls[i]; });
  }

  batch->Begin();
  for (int i = 0; i < kConnections; ++i) {
    expected[i] = QueueText(*sockets[i], "price " + std::to_string(i));
    sockets[i]->Flush();
  }
  EXPECT_TRUE(sockets[kConnections - 1]->writing()) << "the last batch is sent only at End()";
  // Queued after the batch took the socket: leaves in the same write.
  expected[kConnections - 1] += QueueText(*sockets[kConnections - 1], "and one more");
  sockets[kConnections - 1]->Flush();
  batch->End();

  for (int i = 0; i < kConnections; ++i) {
    EXPECT_FALSE(sockets[i]->writing()) << i;
    EXPECT_FALSE(sockets[i]->error()) << i;
    EXPECT_EQ(sockets[i]->queued_chunks(), 0u) << i;
    EXPECT_EQ(idle_calls[i], 1) << i;
    EXPECT_EQ(ReadAll(receivers[i], expected[i].size()), expected[i]) << i;
  }
  // Outside a pass, writes go out directly again.
  EXPECT_EQ(SendBatch::Active(), nullptr);
  const std::string direct = QueueText(*sockets[0], "direct");
  sockets[0]->Flush();
  EXPECT_FALSE(sockets[0]->writing());
  EXPECT_EQ(idle_calls[0], 1);
  EXPECT_EQ(ReadAll(receivers[0], direct.size()), direct);
}

TEST(SendBatchTest, ABatchedWriteThatDoesNotFitFinishesAsynchronouslyInOrder) {
  CREATE_SEND_BATCH_OR_SKIP(batch);
  CountingSocket counting(/*send_buffer_bytes=*/4096);
  FrameSocket& socket = counting.socket;

  batch->Begin();
  std::string expected = QueueText(socket, "first");
  socket.Flush();
  // Queued before the batch is sent, so gathered into its write: more chunks
  // than one write takes, and more bytes than the socket does.
  for (int i = 0; i < 3000; ++i) expected += QueueText(socket, std::string(1 + i % 90, static_cast<char>('a' + i % 26)));
  batch->End();
  EXPECT_TRUE(socket.writing()) << "the batched write should not have fit";
  EXPECT_EQ(counting.idle_calls, 0);

  std::string received;
  std::thread reader([&] { received = ReadAll(counting.connection.receiver, expected.size()); });
  counting.connection.io.run();
  reader.join();
  EXPECT_FALSE(socket.writing());
  EXPECT_FALSE(socket.error());
  EXPECT_EQ(counting.idle_calls, 1);
  ASSERT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "bytes arrived out of order";
}

TEST(SendBatchTest, ABatchedWriteToAResetConnectionFailsAndTellsTheOwner) {
  CREATE_SEND_BATCH_OR_SKIP(batch);
  CountingSocket counting;
  FrameSocket& socket = counting.socket;
  counting.connection.receiver.set_option(net::socket_base::linger(true, 0));
  counting.connection.receiver.close();

  for (int i = 0; i < 100 && !socket.error(); ++i) {
    QueueText(socket, std::string(1000, 'x'));
    batch->Begin();
    socket.Flush();
    batch->End();
    counting.connection.io.poll();
    counting.connection.io.restart();
  }
  counting.connection.io.run();
  ASSERT_TRUE(socket.error());
  EXPECT_FALSE(socket.writing());
  // Told once, by the failure (writes that went through before the reset
  // was noticed each told it too).
  EXPECT_GE(counting.idle_calls, 1);
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

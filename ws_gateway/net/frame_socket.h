#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "core/client_frame_boundary.h"
#include "core/frame.h"
#include "net/gateway_metrics.h"

namespace stockfeed::ws_gateway {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

// The layer between beast::websocket::stream and the TCP socket. It owns the
// connection's write side so that everything queued while a write is in
// flight goes out together in one writev:
//  - our frames (prices, replies) are queued by reference to their shared,
//    pre-encoded bytes: no per-client copy;
//  - Beast's own writes (handshake response, pong, close) arrive through
//    async_write_some, are copied (they are tiny and rare) and keep their order.
// Beast's stream stays only for clients that negotiated permessage-deflate
// (the others' frames are read by core/client_frame_reader.h); for those,
// reads pass through frame by frame (never past the end of the client's
// current frame), so Beast still parses frames and answers pings, and between
// messages nothing is left in Beast's buffer (see Session::Read).
class FrameSocket {
 public:
  using executor_type = tcp::socket::executor_type;
  using next_layer_type = tcp::socket;

  explicit FrameSocket(tcp::socket socket) : socket_(std::move(socket)) {}

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  tcp::socket& next_layer() noexcept { return socket_; }
  const tcp::socket& next_layer() const noexcept { return socket_; }

  // `owner` is kept alive while a write is in flight; `on_idle` runs after
  // each write completes (or fails), to let the owner queue more.
  void Bind(std::weak_ptr<void> owner, std::function<void()> on_idle) {
    owner_ = std::move(owner);
    on_idle_ = std::move(on_idle);
  }
  // Where written bytes, prices per write and delivery latency are counted.
  void CountWritesIn(ShardMetrics* metrics) { metrics_ = metrics; }

  template <typename MutableBuffers, typename Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return net::async_initiate<Handler, void(error_code, std::size_t)>(
        [this](auto completion, const MutableBuffers& into) {
          const auto limited = boost::beast::buffers_prefix(frames_read_.ReadLimit(), into);
          socket_.async_read_some(limited, [this, limited, completion = std::move(completion)](
                                               const error_code& ec, std::size_t bytes) mutable {
            for (const net::const_buffer read : boost::beast::buffers_prefix(bytes, limited)) {
              frames_read_.Consumed(absl::string_view(static_cast<const char*>(read.data()), read.size()));
            }
            std::move(completion)(ec, bytes);
          });
        },
        handler, buffers);
  }
  // True between the client's frames: Beast holds none of its bytes unread.
  bool at_frame_boundary() const { return frames_read_.AtBoundary(); }
  // Reads a pong the client sent between messages without starting a Beast
  // read (which would hold a read buffer until the next message). False,
  // reading nothing, when the next frame is anything else or not all in.
  bool TakePong();

  template <typename ConstBuffers, typename Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return net::async_initiate<Handler, void(error_code, std::size_t)>(
        [this](auto completion, const ConstBuffers& data) {
          const std::size_t size = net::buffer_size(data);
          if (error_) {
            net::post(get_executor(), boost::beast::bind_front_handler(std::move(completion), error_, 0));
            return;
          }
          const std::size_t offset = copied_.size();
          copied_.resize(offset + size);
          net::buffer_copy(net::buffer(copied_.data() + offset, size), data);
          queue_.push_back(Chunk{nullptr, nullptr, size, offset});
          queued_bytes_ += size;
          waiters_.push_back(Waiter{std::move(completion), size});
          Flush();
        },
        handler, buffers);
  }

  // Queues bytes that stay valid while `owner` lives (a shared frame, or
  // static data with a null owner). `live`: a price from the feed as it
  // happens (not a snapshot, history or conflated value), timed for the
  // delivery-latency metric.
  void Queue(FramePtr owner, absl::string_view bytes, bool live = false) {
    queue_.push_back(Chunk{std::move(owner), bytes.data(), bytes.size(), 0, live});
    queued_bytes_ += bytes.size();
  }
  // Queues a copy of a few bytes (a batch frame's header).
  void QueueCopy(absl::string_view bytes) {
    const std::size_t offset = copied_.size();
    copied_.append(bytes.data(), bytes.size());
    queue_.push_back(Chunk{nullptr, nullptr, bytes.size(), offset});
    queued_bytes_ += bytes.size();
  }

  // Writes everything queued, unless a write is in flight (then the queue
  // goes out when it completes). Usually it all fits in the socket buffer and
  // leaves in one non-blocking writev right here: the socket is idle again on
  // return (`writing()` false) and `on_idle_` is not called. The rest, if any,
  // goes out asynchronously and `on_idle_` runs when it has. During a
  // fan-out pass a one-frame write joins the pass's SendBatch instead:
  // `writing()` until the batch is sent, and `on_idle_` runs when it has been.
  void Flush();

  bool writing() const { return writing_; }
  std::size_t queued_chunks() const { return queue_.size(); }
  // Bytes accepted but not yet handed to the kernel: queued plus in flight.
  std::size_t pending_bytes() const { return queued_bytes_ + in_flight_bytes_; }
  // Gives back the capacity a burst of writes left behind (after a large reply).
  void ReleaseMemory();
  std::chrono::steady_clock::time_point write_started() const { return write_started_; }
  const error_code& error() const { return error_; }

 private:
  struct Chunk {
    FramePtr owner;
    const char* data;  // null: `size` bytes at `offset` in the copy buffer
    std::size_t size;
    std::size_t offset;
    bool live = false;

    const char* bytes(const std::string& copied) const {
      return data != nullptr ? data : copied.data() + offset;
    }
  };
  struct Waiter {
    net::any_completion_handler<void(error_code, std::size_t)> completion;
    std::size_t size;
  };

  friend class SendBatch;

  // Sends the queue now without blocking; true when nothing is left to write
  // (all sent, or the socket failed and error() says why).
  bool WriteNow();
  // Takes the result of a non-blocking write of the queue (bytes written or
  // -errno); true as WriteNow.
  bool AfterWrite(ssize_t result);
  // Writes the rest when the socket has room again; on_idle_ runs after.
  void StartAsyncWrite();
  // Appends the queue's buffers (at most one sendmsg's) to `out`; their bytes.
  std::size_t GatherIovecs(std::vector<iovec>& out) const;
  // The result of a write a SendBatch made of `offered` bytes of the queue.
  void OnBatchedSend(int result, std::size_t offered);
  // Removes `bytes` written from the front of the queue.
  void DropWritten(std::size_t bytes);
  void FailNow(const error_code& ec);
  void GatherQueue(const std::vector<Chunk>& chunks, const std::string& copied);
  void OnWritten(const error_code& ec);
  // Counts one completed socket write: `chunks` fully written, `bytes` in all.
  void CountWrite(const Chunk* chunks, std::size_t count, std::size_t bytes);

  // The most buffers one sendmsg takes (IOV_MAX on Linux).
  static constexpr std::size_t kMaxIovecs = 1024;
  // Queue capacity kept between writes; a larger one (after a burst) is given back.
  static constexpr std::size_t kKeptChunks = 16;

  tcp::socket socket_;
  ClientFrameBoundary frames_read_;
  std::weak_ptr<void> owner_;
  std::function<void()> on_idle_;
  ShardMetrics* metrics_ = nullptr;

  std::vector<Chunk> queue_, in_flight_;
  std::string copied_, copied_in_flight_;
  std::vector<Waiter> waiters_, waiters_in_flight_;
  std::vector<net::const_buffer> gather_;
  std::size_t queued_bytes_ = 0;     // in queue_
  std::size_t in_flight_bytes_ = 0;  // in in_flight_, until the write completes
  bool writing_ = false;
  std::chrono::steady_clock::time_point write_started_;
  error_code error_;
};

// Beast closes the connection through these after the close handshake.
void teardown(boost::beast::role_type role, FrameSocket& socket, error_code& ec);

template <typename Handler>
void async_teardown(boost::beast::role_type role, FrameSocket& socket, Handler&& handler) {
  boost::beast::websocket::async_teardown(role, socket.next_layer(), std::forward<Handler>(handler));
}

}  // namespace stockfeed::ws_gateway

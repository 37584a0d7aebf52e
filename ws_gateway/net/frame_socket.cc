#include "frame_socket.h"

#include <algorithm>

#include "net/send_batch.h"

namespace stockfeed::ws_gateway {

void FrameSocket::Flush() {
  if (writing_ || queue_.empty() || error_) return;
  // One frame's write is where the system call's own cost counts most; a
  // write of many frames (a backlog, a burst) goes at once as before: in the
  // burst benchmark those took more CPU through the batch (docs/benchmarks.md).
  if (SendBatch* batch = SendBatch::Active(); batch != nullptr && queue_.size() == 1) {
    if (std::shared_ptr<void> owner = owner_.lock()) {
      writing_ = true;  // until the batch hands back the result
      batch->Add(*this, std::move(owner));
      return;
    }
  }
  if (!WriteNow()) StartAsyncWrite();
}

void FrameSocket::StartAsyncWrite() {
  std::shared_ptr<void> keep_alive = owner_.lock();
  if (!keep_alive) return;
  writing_ = true;
  write_started_ = std::chrono::steady_clock::now();
  in_flight_.swap(queue_);
  in_flight_bytes_ = queued_bytes_;
  queued_bytes_ = 0;
  copied_in_flight_.swap(copied_);
  waiters_in_flight_.swap(waiters_);
  GatherQueue(in_flight_, copied_in_flight_);
  net::async_write(socket_, gather_,
                   [this, keep_alive = std::move(keep_alive)](const error_code& ec, std::size_t) {
                     OnWritten(ec);
                   });
}

void FrameSocket::GatherQueue(const std::vector<Chunk>& chunks, const std::string& copied) {
  gather_.clear();
  for (const Chunk& chunk : chunks) gather_.emplace_back(chunk.bytes(copied), chunk.size);
}

std::size_t FrameSocket::GatherIovecs(std::vector<iovec>& out) const {
  std::size_t bytes = 0;
  const std::size_t count = std::min(queue_.size(), kMaxIovecs);
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(iovec{const_cast<char*>(queue_[i].bytes(copied_)), queue_[i].size});
    bytes += queue_[i].size;
  }
  return bytes;
}

bool FrameSocket::WriteNow() {
  // One gather list per io thread, not per connection: it is used only here.
  thread_local std::vector<iovec> iovecs;
  iovecs.clear();
  GatherIovecs(iovecs);
  msghdr message{};
  message.msg_iov = iovecs.data();
  message.msg_iovlen = iovecs.size();
  ssize_t written;
  do {
    written = ::sendmsg(socket_.native_handle(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (written < 0 && errno == EINTR);
  return AfterWrite(written < 0 ? -errno : written);
}

bool FrameSocket::AfterWrite(ssize_t result) {
  if (result < 0) {
    if (result == -EAGAIN || result == -EWOULDBLOCK) return false;
    FailNow(error_code(static_cast<int>(-result), boost::system::system_category()));
    return true;
  }
  DropWritten(static_cast<std::size_t>(result));
  if (!queue_.empty()) return false;
  // Copies are rare (Beast's handshake response, pongs, close; batch headers
  // fit in the string itself): an idle connection keeps no buffer for them.
  copied_.clear();
  copied_.shrink_to_fit();
  // Beast's writes must not complete inside their initiating call.
  for (Waiter& waiter : waiters_) {
    net::post(get_executor(), boost::beast::bind_front_handler(std::move(waiter.completion),
                                                               error_code(), waiter.size));
  }
  std::vector<Waiter>().swap(waiters_);
  if (queue_.capacity() > kKeptChunks) std::vector<Chunk>().swap(queue_);
  return true;
}

void FrameSocket::OnBatchedSend(int result, std::size_t offered) {
  writing_ = false;
  bool done = AfterWrite(result);
  // The kernel took all it was offered, and more was queued since (or the
  // queue was longer than one write): that goes now, as after a sendmsg.
  if (!done && result >= 0 && static_cast<std::size_t>(result) == offered) done = WriteNow();
  if (!done) {
    StartAsyncWrite();
    return;
  }
  // A failure reaches the owner through on_idle_ already (FailNow).
  if (!error_ && on_idle_) on_idle_();
}

bool FrameSocket::TakePong() {
  if (!frames_read_.AtBoundary()) return false;
  // The largest pong: 2 header bytes, the 4-byte mask, 125 payload bytes.
  unsigned char frame[2 + 4 + 125];
  const ssize_t peeked = ::recv(socket_.native_handle(), frame, sizeof frame, MSG_PEEK | MSG_DONTWAIT);
  // FIN + opcode 0xA, masked, a payload of at most 125 bytes, all of it here.
  if (peeked < 2 || frame[0] != 0x8a || (frame[1] & 0x80) == 0) return false;
  const size_t size = 2 + 4 + (frame[1] & 0x7f);
  if ((frame[1] & 0x7f) > 125 || static_cast<size_t>(peeked) < size) return false;
  const ssize_t taken = ::recv(socket_.native_handle(), frame, size, MSG_DONTWAIT);
  if (taken <= 0) return false;
  frames_read_.Consumed(absl::string_view(reinterpret_cast<const char*>(frame), static_cast<size_t>(taken)));
  return frames_read_.AtBoundary();
}

void FrameSocket::DropWritten(std::size_t bytes) {
  queued_bytes_ -= bytes;
  const std::size_t written = bytes;
  std::size_t done = 0;
  while (done < queue_.size() && bytes >= queue_[done].size) bytes -= queue_[done++].size;
  CountWrite(queue_.data(), done, written);
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(done));
  if (bytes == 0) return;
  Chunk& partial = queue_.front();
  if (partial.data != nullptr) {
    partial.data += bytes;
  } else {
    partial.offset += bytes;
  }
  partial.size -= bytes;
}

void FrameSocket::FailNow(const error_code& ec) {
  error_ = ec;
  std::shared_ptr<void> keep_alive = owner_.lock();
  if (!keep_alive) return;  // the owner is going away and will not ask
  // Reported like a failed asynchronous write: Beast's waiters fail and the
  // owner hears of it from on_idle_, outside the caller's stack.
  net::post(get_executor(), [this, keep_alive = std::move(keep_alive), ec] { OnWritten(ec); });
}

void FrameSocket::OnWritten(const error_code& ec) {
  writing_ = false;
  if (!ec) {
    std::size_t bytes = 0;
    for (const Chunk& chunk : in_flight_) bytes += chunk.size;
    CountWrite(in_flight_.data(), in_flight_.size(), bytes);
  }
  in_flight_.clear();  // releases the frames; capacity is kept for the next write
  in_flight_bytes_ = 0;
  copied_in_flight_.clear();
  if (ec) {
    error_ = ec;
    // Nothing queued will be written: fail Beast's pending writes too.
    for (Waiter& waiter : waiters_) waiters_in_flight_.push_back(std::move(waiter));
    waiters_.clear();
    queue_.clear();
    queued_bytes_ = 0;
  }
  std::vector<Waiter> done;
  done.swap(waiters_in_flight_);
  for (Waiter& waiter : done) {
    net::dispatch(boost::beast::bind_front_handler(std::move(waiter.completion), ec,
                                                   ec ? 0 : waiter.size));
  }
  // The owner queues what arrived meanwhile (or notices the error); together
  // with anything Beast queued it leaves in the next write.
  if (on_idle_) on_idle_();
  Flush();
}

void FrameSocket::ReleaseMemory() {
  // The in-flight write still uses its chunks and gather list.
  if (!writing_) {
    in_flight_.shrink_to_fit();
    copied_in_flight_.shrink_to_fit();
    gather_.clear();
    gather_.shrink_to_fit();
  }
  queue_.shrink_to_fit();
  copied_.shrink_to_fit();
}

void FrameSocket::CountWrite(const Chunk* chunks, std::size_t count, std::size_t bytes) {
  if (metrics_ == nullptr) return;
  metrics_->bytes_sent.Add(bytes);
  metrics_->socket_writes.Add();
  uint64_t prices = 0;
  int64_t oldest_us = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!chunks[i].live) continue;
    const Frame* frame = chunks[i].owner.get();
    ++prices;
    if (oldest_us == 0 || frame->event_time_us() < oldest_us) oldest_us = frame->event_time_us();
  }
  if (prices == 0) return;
  metrics_->prices_per_write.Observe(static_cast<double>(prices));
  if (oldest_us > 0) {
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    metrics_->latency.Observe(static_cast<double>(now_us - oldest_us) / 1e6);
  }
}

void teardown(boost::beast::role_type role, FrameSocket& socket, error_code& ec) {
  boost::beast::websocket::teardown(role, socket.next_layer(), ec);
}

}  // namespace stockfeed::ws_gateway

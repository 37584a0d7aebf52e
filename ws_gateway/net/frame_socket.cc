#include "frame_socket.h"

namespace stockfeed::ws_gateway {

void FrameSocket::Flush() {
  if (writing_ || queue_.empty() || error_) return;
  std::shared_ptr<void> keep_alive = owner_.lock();
  if (!keep_alive) return;

  writing_ = true;
  write_started_ = std::chrono::steady_clock::now();
  in_flight_.swap(queue_);
  copied_in_flight_.swap(copied_);
  waiters_in_flight_.swap(waiters_);
  queued_bytes_ = 0;

  gather_.clear();
  for (const Chunk& chunk : in_flight_) {
    gather_.emplace_back(chunk.data != nullptr ? chunk.data : copied_in_flight_.data() + chunk.offset,
                         chunk.size);
  }
  net::async_write(socket_, gather_,
                   [this, keep_alive = std::move(keep_alive)](const error_code& ec, std::size_t) {
                     OnWritten(ec);
                   });
}

void FrameSocket::OnWritten(const error_code& ec) {
  writing_ = false;
  in_flight_.clear();  // releases the frames; capacity is kept for the next write
  copied_in_flight_.clear();
  if (ec) {
    error_ = ec;
    // Nothing queued will be written: fail Beast's pending writes too.
    for (Waiter& waiter : waiters_) waiters_in_flight_.push_back(std::move(waiter));
    waiters_.clear();
    queue_.clear();
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

void teardown(boost::beast::role_type role, FrameSocket& socket, error_code& ec) {
  boost::beast::websocket::teardown(role, socket.next_layer(), ec);
}

}  // namespace stockfeed::ws_gateway

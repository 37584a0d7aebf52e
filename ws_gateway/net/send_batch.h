#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <liburing.h>

namespace stockfeed::ws_gateway {

class FrameSocket;

// Hands a fan-out pass's socket writes (FrameSocket::Flush sends it the
// one-frame ones) to the kernel many at a time through io_uring, one system
// call per batch instead of one sendmsg per client. On
// this kind of VM a system call's entry and exit alone cost ~0.45 µs of a
// ~10 µs loopback send, and a pass is thousands of sends (docs/benchmarks.md).
//
// Each write is a non-blocking send (MSG_DONTWAIT makes the kernel complete it
// at once, with -EAGAIN rather than waiting), so the results are known when
// the batch's submission returns, and each socket then carries on as after its
// own sendmsg. Only between Begin() and End() on the shard's thread; writes
// made while the batch's results are handed out go out directly.
class SendBatch {
 public:
  // Null, with `why` set, when the kernel refuses io_uring (too old, disabled
  // by sysctl, or blocked by a container's seccomp profile).
  static std::unique_ptr<SendBatch> Create(std::string& why);
  ~SendBatch();
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  // The batch FrameSocket::Flush hands writes to on this thread, or null.
  static SendBatch* Active();

  // Makes this the calling thread's active batch.
  void Begin();
  // Sends what is still queued, hands out the results, and deactivates.
  void End();
  // Queues one write of `socket`'s queue; sends the batch when it is full.
  // The socket gathers its buffers only when the batch is sent, so whatever
  // it queues meanwhile goes in the same write.
  void Add(FrameSocket& socket, std::shared_ptr<void> owner);

 private:
  static constexpr int kPending = -1 << 30;
  struct Write {
    FrameSocket* socket;
    std::size_t first_iovec = 0;
    std::size_t iovecs = 0;
    std::size_t bytes = 0;     // offered
    int result = kPending;     // bytes written or -errno
  };

  SendBatch() = default;
  // Gathers the queued writes' buffers, sends them and hands each socket its result.
  void Send();
  // Submits the gathered writes and collects their results; returns how many
  // the kernel took (the rest go out by sendmsg).
  std::size_t Submit();
  void SendDirectly(std::size_t index);
  msghdr& MessageFor(std::size_t index);

  // Writes a pass sends per system call: enough to make its cost small per
  // write, few enough that the first client in a batch waits only
  // microseconds for the others to be gathered.
  static constexpr unsigned kWritesPerBatch = 64;

  io_uring ring_{};
  std::vector<Write> writes_, completing_;
  // The writers' owners, kept alive until the pass is over.
  std::vector<std::shared_ptr<void>> owners_;
  std::vector<iovec> iovecs_;
  std::vector<msghdr> messages_;
  bool failed_ = false;  // io_uring stopped working: sendmsg from then on
};

}  // namespace stockfeed::ws_gateway

#include "send_batch.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "net/frame_socket.h"
#include "spdlog/spdlog.h"

namespace stockfeed::ws_gateway {
namespace {

// The shard's thread's batch while a pass runs.
thread_local SendBatch* active_batch = nullptr;

// Non-blocking, so each write completes during its submission (the kernel
// answers -EAGAIN instead of waiting for room), as FrameSocket's own sendmsg.
constexpr int kSendFlags = MSG_NOSIGNAL | MSG_DONTWAIT;

}  // namespace

std::unique_ptr<SendBatch> SendBatch::Create(std::string& why) {
  std::unique_ptr<SendBatch> batch(new SendBatch());
  // Results are read right after each submission, so no completion needs to
  // interrupt the thread; SUBMIT_ALL keeps submitting past a write that fails.
  int error = io_uring_queue_init(kWritesPerBatch, &batch->ring_, IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN);
  if (error == -EINVAL) error = io_uring_queue_init(kWritesPerBatch, &batch->ring_, 0);  // before Linux 5.19
  if (error < 0) {
    why = std::strerror(-error);
    return nullptr;
  }
  batch->writes_.reserve(kWritesPerBatch);
  batch->completing_.reserve(kWritesPerBatch);
  return batch;
}

SendBatch::~SendBatch() { io_uring_queue_exit(&ring_); }

SendBatch* SendBatch::Active() { return active_batch; }

void SendBatch::Begin() { active_batch = this; }

void SendBatch::End() {
  Send();
  active_batch = nullptr;
  // Sessions may go away with their last reference: only now that the pass
  // is no longer walking the shard's list of them.
  owners_.clear();
}

void SendBatch::Add(FrameSocket& socket, std::shared_ptr<void> owner) {
  writes_.push_back(Write{&socket});
  owners_.push_back(std::move(owner));
  if (writes_.size() == kWritesPerBatch) Send();
}

void SendBatch::Send() {
  if (writes_.empty()) return;
  completing_.swap(writes_);
  iovecs_.clear();
  for (Write& write : completing_) {
    write.first_iovec = iovecs_.size();
    write.bytes = write.socket->GatherIovecs(iovecs_);
    write.iovecs = iovecs_.size() - write.first_iovec;
  }
  messages_.assign(completing_.size(), msghdr{});
  const size_t submitted = failed_ ? 0 : Submit();
  for (size_t i = submitted; i < completing_.size(); ++i) SendDirectly(i);
  // A socket's result may make its owner write more: that goes out directly.
  active_batch = nullptr;
  for (const Write& write : completing_) write.socket->OnBatchedSend(write.result, write.bytes);
  active_batch = this;
  completing_.clear();
}

msghdr& SendBatch::MessageFor(size_t index) {
  const Write& write = completing_[index];
  msghdr& message = messages_[index];
  message.msg_iov = &iovecs_[write.first_iovec];
  message.msg_iovlen = write.iovecs;
  return message;
}

size_t SendBatch::Submit() {
  for (size_t i = 0; i < completing_.size(); ++i) {
    // Never null: a batch is at most the ring's size, and each is collected
    // before the next is prepared.
    io_uring_sqe* entry = io_uring_get_sqe(&ring_);
    const Write& write = completing_[i];
    const int fd = write.socket->next_layer().native_handle();
    if (write.iovecs == 1) {
      io_uring_prep_send(entry, fd, iovecs_[write.first_iovec].iov_base, write.bytes, kSendFlags);
    } else {
      io_uring_prep_sendmsg(entry, fd, &MessageFor(i), kSendFlags);
    }
    io_uring_sqe_set_data64(entry, i);
  }
  const int submitted = io_uring_submit(&ring_);
  if (submitted != static_cast<int>(completing_.size())) {
    // Entries the kernel did not take stay in the ring: never enter it again.
    failed_ = true;
    spdlog::warn("io_uring submission failed ({}); fan-out writes use sendmsg from now on",
                 submitted < 0 ? std::strerror(-submitted) : "a partial submission");
  }
  const size_t taken = submitted > 0 ? static_cast<size_t>(submitted) : 0;
  for (size_t collected = 0; collected < taken;) {
    io_uring_cqe* completion = nullptr;
    // Returns at once: each write completed during the submission.
    const int error = io_uring_wait_cqe(&ring_, &completion);
    if (error == -EINTR) continue;
    if (error < 0) {
      // The results are lost: fail the writes still unaccounted for, so
      // their clients reconnect and resume rather than miss prices.
      spdlog::error("io_uring completions unreadable ({}); dropping {} clients", std::strerror(-error),
                    taken - collected);
      for (size_t i = 0; i < taken; ++i) {
        if (completing_[i].result == kPending) completing_[i].result = -EIO;
      }
      failed_ = true;
      break;
    }
    completing_[io_uring_cqe_get_data64(completion)].result = completion->res;
    io_uring_cqe_seen(&ring_, completion);
    ++collected;
  }
  return taken;
}

void SendBatch::SendDirectly(size_t index) {
  const int fd = completing_[index].socket->next_layer().native_handle();
  ssize_t written;
  do {
    written = ::sendmsg(fd, &MessageFor(index), kSendFlags);
  } while (written < 0 && errno == EINTR);
  completing_[index].result = written < 0 ? -errno : static_cast<int>(written);
}

}  // namespace stockfeed::ws_gateway

#include "ws_worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <system_error>
#include <utility>

namespace stockfeed::bench {
namespace {

// How long a client may take to connect and complete the handshake.
constexpr auto kConnectTimeout = std::chrono::seconds(30);

UniqueFd CheckedFd(int fd, const char* what) {
  if (fd < 0) throw std::system_error(errno, std::generic_category(), what);
  return UniqueFd(fd);
}

}  // namespace

WsWorker::WsWorker(const ClientTarget& target, ConnectionCounters& counters, const std::string& commit_log_path)
    : epoll_fd_(CheckedFd(::epoll_create1(EPOLL_CLOEXEC), "epoll_create1")),
      wake_fd_(CheckedFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), "eventfd")),
      context_(target, counters, epoll_fd_.get(), commit_log_path) {
  // A null data pointer marks the eventfd among the clients' sockets.
  epoll_event event{.events = EPOLLIN, .data = {.ptr = nullptr}};
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &event) != 0) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
  thread_ = std::thread([this] { Loop(); });
}

WsWorker::~WsWorker() { Stop(); }

void WsWorker::StartClient(bool stallable) {
  Post([this, stallable] {
    auto& client = clients_.emplace_back(std::make_unique<WsClient>(context_, stallable));
    if (stallable) stallable_clients_.push_back(client.get());
    connect_deadlines_.push_back({Clock::now() + kConnectTimeout, client.get()});
    client->Start();
  });
}

void WsWorker::ScheduleStall(Clock::time_point start, Clock::time_point end) {
  Post([this, start, end] {
    stall_start_ = start;
    stall_end_ = end;
  });
}

std::future<WorkerTallies> WsWorker::Collect() {
  auto promise = std::make_shared<std::promise<WorkerTallies>>();
  auto future = promise->get_future();
  Post([this, promise] { promise->set_value(std::exchange(context_.tallies, {})); });
  return future;
}

void WsWorker::Stop() {
  if (!thread_.joinable()) return;
  Post([this] { running_ = false; });
  thread_.join();
}

void WsWorker::Post(std::function<void()> task) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(std::move(task));
  }
  // Cannot fail: the counter would have to reach 2^64 - 1 first.
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t written = ::write(wake_fd_.get(), &one, sizeof one);
}

void WsWorker::Loop() {
  std::array<epoll_event, 256> events;
  while (running_) {
    const Clock::time_point deadline = NextDeadline();
    int timeout_ms = -1;
    if (deadline != Clock::time_point::max()) {
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      timeout_ms = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, INT_MAX));
    }
    const int ready = ::epoll_wait(epoll_fd_.get(), events.data(), events.size(), timeout_ms);
    for (int i = 0; i < ready; ++i) {
      if (events[i].data.ptr == nullptr) {
        RunPosted();
      } else {
        static_cast<WsClient*>(events[i].data.ptr)->OnEvents(events[i].events);
      }
    }
    OnTimers(Clock::now());
  }
}

void WsWorker::RunPosted() {
  // Resets the eventfd; the swap below takes every task posted so far.
  uint64_t wakeups = 0;
  [[maybe_unused]] const ssize_t drained = ::read(wake_fd_.get(), &wakeups, sizeof wakeups);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(inbox_mutex_);
    tasks.swap(inbox_);
  }
  for (auto& task : tasks) task();
}

WsWorker::Clock::time_point WsWorker::NextDeadline() {
  // Clients that opened or failed need no timeout any more.
  while (!connect_deadlines_.empty() && !connect_deadlines_.front().client->opening()) {
    connect_deadlines_.pop_front();
  }
  const Clock::time_point connect = connect_deadlines_.empty()
                                        ? Clock::time_point::max()
                                        : connect_deadlines_.front().deadline;
  return std::min(connect, stalled_ ? stall_end_ : stall_start_);
}

void WsWorker::OnTimers(Clock::time_point now) {
  // Deadlines are in start order, so the expired ones are at the front.
  while (!connect_deadlines_.empty() && connect_deadlines_.front().deadline <= now) {
    connect_deadlines_.front().client->OnConnectTimeout();
    connect_deadlines_.pop_front();
  }
  // The stall happens once: each bound is cleared when it is reached.
  if (!stalled_ && now >= stall_start_) {
    stalled_ = true;
    stall_start_ = Clock::time_point::max();
    SetStallableReading(false);
  }
  if (stalled_ && now >= stall_end_) {
    stalled_ = false;
    stall_end_ = Clock::time_point::max();
    SetStallableReading(true);
  }
}

void WsWorker::SetStallableReading(bool reading) {
  for (WsClient* client : stallable_clients_) client->SetReading(reading);
}

}  // namespace stockfeed::bench

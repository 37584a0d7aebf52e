// One io thread: a plain epoll loop over its WebSocket clients' sockets.
// Other threads reach it only through tasks posted to its inbox (a
// mutex-protected queue plus an eventfd that wakes the loop), so nothing on
// the receive path takes a lock. Collect() is such a task too: with a lock
// held around each epoll batch instead, a busy loop sharing one core with
// the main thread (taskset) could keep re-taking it and the main thread
// waiting.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "unique_fd.h"
#include "ws_client.h"

namespace stockfeed::bench {

class WsWorker {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts the thread. Throws std::system_error if epoll or eventfd fail.
  WsWorker(const ClientTarget& target, ConnectionCounters& counters, const std::string& commit_log_path);
  WsWorker(const WsWorker&) = delete;
  WsWorker& operator=(const WsWorker&) = delete;
  ~WsWorker();

  void StartClient(bool stallable);
  // Stallable clients stop reading at `start` and read again at `end`.
  void ScheduleStall(Clock::time_point start, Clock::time_point end);
  // Hands over what arrived since the previous call.
  std::future<WorkerTallies> Collect();
  // Ends the thread; the clients' sockets close with the worker.
  void Stop();

 private:
  struct ConnectDeadline {
    Clock::time_point deadline;
    WsClient* client;
  };

  void Post(std::function<void()> task);
  void Loop();
  void RunPosted();
  // The earliest time OnTimers() has something to do; max() if none.
  Clock::time_point NextDeadline();
  void OnTimers(Clock::time_point now);
  void SetStallableReading(bool reading);

  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;  // eventfd: the inbox has tasks
  std::mutex inbox_mutex_;
  std::vector<std::function<void()>> inbox_;

  // Used only by the thread, after construction.
  WorkerContext context_;
  // Clients live as long as the worker, closed or not: an epoll batch may
  // still hold events for one closed earlier in it, and the deadlines below
  // point at them.
  std::vector<std::unique_ptr<WsClient>> clients_;
  std::vector<WsClient*> stallable_clients_;
  std::deque<ConnectDeadline> connect_deadlines_;  // in start order
  Clock::time_point stall_start_ = Clock::time_point::max();
  Clock::time_point stall_end_ = Clock::time_point::max();
  bool stalled_ = false;
  bool running_ = true;

  std::thread thread_;
};

}  // namespace stockfeed::bench

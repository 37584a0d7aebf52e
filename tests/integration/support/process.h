#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace stockfeed::testing {

// A real child process (price_service, ws_gateway) with its output in a log
// file, killed when the object goes away.
class ChildProcess {
 public:
  ChildProcess(std::string path, std::vector<std::string> args, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Signal(int signal_number);
  // The exit code, or nullopt if still running after `timeout`. A process
  // killed by a signal reports 128 + signal.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool running();
  std::string Log() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// A port that was free a moment ago.
int FreePort();
// Waits until something accepts TCP connections on host:port (an IPv4 address).
bool WaitForPort(int port, std::chrono::milliseconds timeout, const std::string& host = "127.0.0.1");
// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <typename Condition>
bool Eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    ::usleep(20'000);
  }
  return condition();
}

// A fresh directory under the build tree for one test's logs.
std::string TestOutputDir();

}  // namespace stockfeed::testing

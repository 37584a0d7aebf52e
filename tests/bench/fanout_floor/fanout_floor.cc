// fanout_floor: how long the kernel alone takes to send one small message to
// each of N loopback TCP connections, the lower bound of any WebSocket
// server's fan-out on this machine. The sender writes `--bytes` to every
// connection once per round with one send() each and nothing else; a child
// process holds the other ends and drains them through epoll, as the load
// generator does. Pinned like the benchmarks: sender on core 1, reader on 0.
// Besides the median round it reports the floor's own latency percentiles:
// each send's time from its round's start, over every round, the statistic a
// server's p99 is (a server whose passes were this kernel's rounds would
// measure that p99).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "proc_stats.h"

ABSL_FLAG(int, connections, 10000, "Loopback TCP connections");
ABSL_FLAG(int, bytes, 135, "Bytes sent to each connection per round");
ABSL_FLAG(int, rounds, 10, "Rounds measured");
ABSL_FLAG(int, gap_ms, 300, "Pause between rounds, so each round starts with idle readers");
ABSL_FLAG(int, sender_cpu, 1, "CPU the sender runs on (the server's core in the benchmarks)");
ABSL_FLAG(int, reader_cpu, 0, "CPU the reading process runs on (the load generator's core)");

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) Die("sched_setaffinity");
}

int Listen(sockaddr_in& address) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::listen(listener, 4096) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    Die("listen");
  }
  return listener;
}

// The child: opens `count` connections and reads whatever arrives until the
// sender closes them all.
[[noreturn]] void RunReader(const sockaddr_in& address, int count) {
  const int epoll = ::epoll_create1(0);
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      Die("connect");
    }
    epoll_event event{.events = EPOLLIN, .data = {.fd = fd}};
    if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) Die("epoll_ctl");
  }
  std::vector<epoll_event> events(1024);
  char buffer[65536];
  for (int open = count; open > 0;) {
    const int n = ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      if (::recv(events[i].data.fd, buffer, sizeof buffer, 0) <= 0) {
        ::close(events[i].data.fd);
        --open;
      }
    }
  }
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Kernel cost of a loopback TCP fan-out: one send() per connection per round");
  absl::ParseCommandLine(argc, argv);
  const int count = absl::GetFlag(FLAGS_connections);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const std::string message(static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_bytes))), 'x');
  if (count < 1 || rounds < 1) {
    std::fprintf(stderr, "need --connections >= 1 and --rounds >= 1\n");
    return 2;
  }
  stockfeed::bench::RaiseFdLimit();

  sockaddr_in address{};
  const int listener = Listen(address);
  const pid_t reader = ::fork();
  if (reader < 0) Die("fork");
  if (reader == 0) {
    ::close(listener);
    PinTo(absl::GetFlag(FLAGS_reader_cpu));
    RunReader(address, count);
  }
  PinTo(absl::GetFlag(FLAGS_sender_cpu));
  // accept() gives up instead of hanging if the reader died.
  const timeval accept_timeout{.tv_sec = 30, .tv_usec = 0};
  ::setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &accept_timeout, sizeof accept_timeout);
  std::vector<int> senders;
  const int one = 1;
  for (int i = 0; i < count; ++i) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) Die("accept");
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    senders.push_back(fd);
  }

  std::vector<double> round_ms;
  std::vector<float> send_ms;  // each measured send's time from its round's start
  send_ms.reserve(static_cast<size_t>(rounds) * senders.size());
  for (int round = 0; round <= rounds; ++round) {  // round 0 warms up
    std::this_thread::sleep_for(std::chrono::milliseconds(absl::GetFlag(FLAGS_gap_ms)));
    const auto start = Clock::now();
    for (int fd : senders) {
      if (::send(fd, message.data(), message.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(message.size())) {
        Die("send");
      }
      if (round > 0) send_ms.push_back(std::chrono::duration<float, std::milli>(Clock::now() - start).count());
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (round > 0) round_ms.push_back(ms);
  }
  for (int fd : senders) ::close(fd);
  ::waitpid(reader, nullptr, 0);

  std::sort(round_ms.begin(), round_ms.end());
  std::sort(send_ms.begin(), send_ms.end());
  const auto send_percentile = [&](double p) { return send_ms[static_cast<size_t>(p * (send_ms.size() - 1))]; };
  const double median = round_ms[round_ms.size() / 2];
  std::printf("%d connections, %zu bytes each: one round of sends takes median %.1f ms (min %.1f, max %.1f), "
              "%.2f us per send; a send's time from its round's start: p50 %.1f ms, p99 %.1f ms\n",
              count, message.size(), median, round_ms.front(), round_ms.back(), 1000 * median / count,
              send_percentile(0.5), send_percentile(0.99));
  std::printf("RESULT {\"connections\":%d,\"bytes\":%zu,\"round_ms_median\":%.3f,\"round_ms_min\":%.3f,"
              "\"round_ms_max\":%.3f,\"us_per_send\":%.3f,\"send_p50_ms\":%.3f,\"send_p99_ms\":%.3f}\n",
              count, message.size(), median, round_ms.front(), round_ms.back(), 1000 * median / count,
              send_percentile(0.5), send_percentile(0.99));
  return 0;
}

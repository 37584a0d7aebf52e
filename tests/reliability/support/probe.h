#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"

namespace stockfeed::testing {

// A well-behaved client that reads prices all the time and, on request,
// records how late each one arrives (now minus its event_time_us): the
// "other clients" whose p99 an adversarial test compares with a quiet run.
class LatencyProbe {
 public:
  LatencyProbe(int port, std::string target);
  ~LatencyProbe();

  // Records for `window` and returns the p99 latency in milliseconds (and
  // how many prices it saw, which a test checks is enough to mean anything).
  struct Result {
    double p99_ms = 0;
    size_t samples = 0;
  };
  Result Measure(std::chrono::milliseconds window);
  // False once the probe's connection failed: the gateway dropped a good client.
  bool healthy() const { return healthy_.load(); }

 private:
  void Run(int port, std::string target);

  std::atomic<bool> stop_{false};
  std::atomic<bool> recording_{false};
  std::atomic<bool> healthy_{true};
  std::atomic<bool> started_{false};
  std::mutex mu_;
  std::vector<double> samples_ms_;  // guarded by mu_
  std::thread thread_;
};

// The largest VmRSS of a process over a stretch of time, sampled every 50 ms.
class PeakRss {
 public:
  explicit PeakRss(pid_t pid);
  ~PeakRss();
  int64_t kib() const { return peak_kib_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_kib_{0};
  std::thread thread_;
};

// Gateway flags for a short feed log per shard, and the wait until it is
// full at `rate` updates/s: the gateway's memory is then at its steady state,
// so an RSS baseline taken afterwards means something.
std::vector<std::string> SmallFeedLogArgs();
void WaitForFullFeedLog(double rate);

// What an adversary cost the rest of the system: a well-behaved client's p99
// on a quiet gateway and while the adversary runs, and the RSS of the
// process under attack (the gateway, or price_service behind it) before, at
// its peak during, and after it.
struct Impact {
  LatencyProbe::Result quiet, abused;
  int64_t baseline_kib = 0, peak_kib = 0, after_kib = 0;
};
// Connects a probe to `probe_target` on the gateway's `port`, measures a
// quiet window, runs `adversary` (given a stop flag) on its own thread for
// one window, waits for `attacked`'s memory to come back, and measures a
// second quiet window; the worse quiet one is the reference (the shared
// machine's own load drifts). `attacked` is the process whose RSS is
// watched: the gateway itself, or price_service when the adversary goes
// for it directly (the probe's latency is end to end through both).
Impact MeasureImpact(ChildProcess& attacked, int port, const std::string& probe_target,
                     const std::function<void(const std::atomic<bool>& stop)>& adversary);
// The bounds: the attacked process is up, the probe kept getting
// prices, its p99 within 2x of the quiet run, RSS peak and after within
// bounds of the baseline (the constants in probe.cc).
void ExpectContained(ChildProcess& attacked, const Impact& impact);

// The 99th percentile of `values` (nearest rank); 0 when empty.
double Percentile99(std::vector<double> values);
// Open descriptors and threads of a process (from /proc); -1 if unreadable.
int64_t OpenFdCount(pid_t pid);
int64_t ThreadCount(pid_t pid);
// Least-squares slope of `ys` against `xs` (units of y per unit of x).
double Slope(const std::vector<double>& xs, const std::vector<double>& ys);

}  // namespace stockfeed::testing

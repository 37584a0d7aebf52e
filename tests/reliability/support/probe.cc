#include "probe.h"

#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include "proc_stats.h"
#include "support/ws_client.h"

namespace stockfeed::testing {

LatencyProbe::LatencyProbe(int port, std::string target)
    : thread_([this, port, target = std::move(target)] { Run(port, target); }) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!started_.load() && healthy_.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!started_.load()) throw std::runtime_error("latency probe could not connect");
}

LatencyProbe::~LatencyProbe() {
  stop_ = true;
  thread_.join();
}

void LatencyProbe::Run(int port, std::string target) {
  try {
    WsClient client(port, target);
    started_ = true;
    while (!stop_.load()) {
      // A read that times out leaves the client unusable, so the wait is long:
      // on a live feed five quiet seconds mean the gateway stopped serving us.
      std::optional<boost::json::value> message = client.ReadJson(std::chrono::seconds(5));
      if (!message) {
        healthy_ = false;
        return;
      }
      if (!recording_.load()) continue;
      const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      const auto record = [&](const boost::json::value& value) {
        if (!IsType(value, "price")) return;
        const int64_t event_us = value.as_object().at("event_time_us").to_number<int64_t>();
        std::lock_guard lock(mu_);
        samples_ms_.push_back(static_cast<double>(now_us - event_us) / 1000.0);
      };
      if (message->is_array()) {
        for (const boost::json::value& element : message->as_array()) record(element);
      } else {
        record(*message);
      }
    }
  } catch (const std::exception&) {
    healthy_ = false;
  }
}

LatencyProbe::Result LatencyProbe::Measure(std::chrono::milliseconds window) {
  {
    std::lock_guard lock(mu_);
    samples_ms_.clear();
  }
  recording_ = true;
  std::this_thread::sleep_for(window);
  recording_ = false;
  std::lock_guard lock(mu_);
  return Result{Percentile99(samples_ms_), samples_ms_.size()};
}

PeakRss::PeakRss(pid_t pid)
    : thread_([this, pid] {
        while (!stop_.load()) {
          peak_kib_ = std::max(peak_kib_.load(), bench::ProcessRssKib(pid));
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }) {}

PeakRss::~PeakRss() {
  stop_ = true;
  thread_.join();
}

double Percentile99(std::vector<double> values) {
  if (values.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(values.size()))) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

int64_t OpenFdCount(pid_t pid) {
  DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return -1;
  int64_t count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

int64_t ThreadCount(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoll(line.substr(8));
  }
  return -1;
}

double Slope(const std::vector<double>& xs, const std::vector<double>& ys) {
  const double n = static_cast<double>(xs.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    sx += xs[i];
    sy += ys[i];
    sxx += xs[i] * xs[i];
    sxy += xs[i] * ys[i];
  }
  const double denominator = n * sxx - sx * sx;
  return denominator == 0 ? 0 : (n * sxy - sx * sy) / denominator;
}

}  // namespace stockfeed::testing

#include "load_generator.h"

#include <netdb.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "proc_stats.h"
#include "ws_worker.h"

namespace stockfeed::bench {
namespace {

using Clock = WsWorker::Clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

ClientTarget ResolveTarget(const LoadConfig& config) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(config.url.host.c_str(), config.url.port.c_str(), &hints, &found);
  if (rc != 0) {
    throw std::runtime_error("cannot resolve " + config.url.host + ": " + ::gai_strerror(rc));
  }
  ClientTarget target;
  std::memcpy(&target.address, found->ai_addr, found->ai_addrlen);
  target.address_size = found->ai_addrlen;
  ::freeaddrinfo(found);
  target.host_header = config.url.host + ":" + config.url.port;
  target.target = config.url.target;
  target.offer_deflate = config.offer_deflate;
  return target;
}

WorkerTallies CollectAll(std::vector<std::unique_ptr<WsWorker>>& workers) {
  std::vector<std::future<WorkerTallies>> futures;
  for (auto& w : workers) futures.push_back(w->Collect());
  WorkerTallies sum;
  for (auto& f : futures) {
    WorkerTallies t = f.get();
    sum.healthy.Merge(t.healthy);
    sum.stalled.Merge(t.stalled);
  }
  return sum;
}

void SampleRss(std::vector<ServerUsage>& servers, int64_t ServerUsage::*field) {
  for (auto& s : servers) {
    s.*field = ProcessRssKib(s.pid);
    s.rss_peak_kib = std::max(s.rss_peak_kib, s.*field);
  }
}

}  // namespace

LoadResult RunLoad(const LoadConfig& config, std::ostream& log) {
  LoadResult result;
  for (int pid : config.server_pids) result.servers.push_back(ServerUsage{.pid = pid});
  SampleRss(result.servers, &ServerUsage::rss_start_kib);

  const ClientTarget target = ResolveTarget(config);
  ConnectionCounters counters;
  std::vector<std::unique_ptr<WsWorker>> workers;
  for (int i = 0; i < std::max(1, config.threads); ++i) {
    workers.push_back(std::make_unique<WsWorker>(target, counters, config.commit_log));
  }

  // Ramp: connection i starts at i / connect_rate seconds.
  const auto ramp_start = Clock::now();
  for (int i = 0; i < config.connections;) {
    const int due = config.connect_rate <= 0
                        ? config.connections
                        : std::min<int>(config.connections,
                                        1 + static_cast<int>(SecondsSince(ramp_start) *
                                                             config.connect_rate));
    for (; i < due; ++i) {
      workers[i % workers.size()]->StartClient(i < config.stall_clients);
    }
    if (i < config.connections) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  while (counters.opened + counters.failed < config.connections &&
         SecondsSince(ramp_start) < config.settle_timeout_s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  result.connect_s = SecondsSince(ramp_start);
  SampleRss(result.servers, &ServerUsage::rss_connected_kib);
  log << "connected " << counters.opened << "/" << config.connections << " (failed "
      << counters.failed << ") in " << result.connect_s << " s\n";

  // Once-a-second ticks: warmup ticks are discarded, later ones summed.
  CollectAll(workers);  // drop what arrived while connecting
  auto tick = Clock::now();
  auto measure_start = tick;
  double cpu_start = SelfCpuSeconds();
  std::vector<double> server_cpu_start(result.servers.size(), 0);
  const auto start_measuring = [&] {
    measure_start = Clock::now();
    cpu_start = SelfCpuSeconds();
    for (size_t i = 0; i < result.servers.size(); ++i) {
      server_cpu_start[i] = ProcessCpuSeconds(result.servers[i].pid);
    }
    if (config.stall_clients > 0 && config.stall_for_s > 0) {
      const auto at = [&](double s) {
        return measure_start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(s));
      };
      for (auto& w : workers) {
        w->ScheduleStall(at(config.stall_after_s), at(config.stall_after_s + config.stall_for_s));
      }
    }
  };
  if (config.warmup_s <= 0) start_measuring();

  const int total_ticks = config.warmup_s + config.duration_s;
  for (int t = 1; t <= total_ticks; ++t) {
    tick += std::chrono::seconds(1);
    std::this_thread::sleep_until(tick);
    WorkerTallies interval = CollectAll(workers);
    for (auto& s : result.servers) s.rss_peak_kib = std::max(s.rss_peak_kib, ProcessRssKib(s.pid));
    const bool measuring = t > config.warmup_s;
    if (measuring) {
      result.healthy.Merge(interval.healthy);
      result.stalled.Merge(interval.stalled);
      result.interval_max_us.push_back(interval.healthy.latency.max());
    }
    if (config.print_intervals) {
      const auto& h = interval.healthy.latency;
      char line[256];
      std::snprintf(line, sizeof line,
                    "[%3ds %s] open %lld  updates/s %lld  p50 %lld us  p99 %lld us  max %lld us  gaps %lld\n",
                    t, measuring ? "meas" : "warm",
                    static_cast<long long>(counters.opened - counters.closed_healthy -
                                           counters.closed_stalled),
                    static_cast<long long>(interval.healthy.price_updates +
                                           interval.stalled.price_updates),
                    static_cast<long long>(h.ValueAtPercentile(50)),
                    static_cast<long long>(h.ValueAtPercentile(99)),
                    static_cast<long long>(h.max()),
                    static_cast<long long>(interval.healthy.seq_gaps));
      log << line << std::flush;
    }
    if (t == config.warmup_s) start_measuring();
  }

  result.measured_s = SecondsSince(measure_start);
  result.loadgen_cpu_s = SelfCpuSeconds() - cpu_start;
  for (size_t i = 0; i < result.servers.size(); ++i) {
    auto& s = result.servers[i];
    const double cpu_end = ProcessCpuSeconds(s.pid);
    s.cpu_s = cpu_end < 0 ? -1 : cpu_end - server_cpu_start[i];
  }
  SampleRss(result.servers, &ServerUsage::rss_end_kib);
  result.opened = counters.opened;
  result.failed = counters.failed;
  result.closed_healthy = counters.closed_healthy;
  result.closed_stalled = counters.closed_stalled;

  counters.stopping = true;
  for (auto& w : workers) w->Stop();
  return result;
}

}  // namespace stockfeed::bench

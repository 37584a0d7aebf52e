#include "grpc_load_generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "grpc_subscriber.h"
#include "proc_stats.h"

namespace stockfeed::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  // Without this, channels with equal arguments share one TCP connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
    throw std::runtime_error("cannot connect to " + target);
  }
  return channel;
}

int64_t TotalReceived(const std::vector<std::unique_ptr<GrpcSubscriber>>& subscribers) {
  int64_t sum = 0;
  for (const auto& s : subscribers) sum += s->received();
  return sum;
}

void SampleRss(std::vector<ServerUsage>& servers) {
  for (ServerUsage& s : servers) s.rss_peak_kib = std::max(s.rss_peak_kib, ProcessRssKib(s.pid));
}

}  // namespace

GrpcLoadResult RunGrpcLoad(const GrpcLoadConfig& config, std::ostream& log) {
  GrpcLoadResult result;
  for (int pid : config.server_pids) {
    ServerUsage usage;
    usage.pid = pid;
    usage.rss_start_kib = ProcessRssKib(pid);
    result.servers.push_back(usage);
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<v1::PriceFeed::Stub>> stubs;
  for (int i = 0; i < (config.shared_channel ? 1 : config.subscribers); ++i) {
    channels.push_back(NewChannel(config.target));
    stubs.push_back(v1::PriceFeed::NewStub(channels.back()));
  }
  std::atomic<bool> measuring{false};
  std::vector<std::unique_ptr<GrpcSubscriber>> subscribers;
  for (int i = 0; i < config.subscribers; ++i) {
    auto& stub = *stubs[config.shared_channel ? 0 : static_cast<size_t>(i)];
    subscribers.push_back(GrpcSubscriber::Make(stub, measuring, config.batched));
    subscribers.back()->Start();
  }

  // Once a second: the total rate, and the servers' RSS peak.
  int64_t last_received = 0;
  Clock::time_point next = Clock::now();
  const auto tick = [&](const char* phase) {
    next += std::chrono::seconds(1);
    std::this_thread::sleep_until(next);
    const int64_t received = TotalReceived(subscribers);
    SampleRss(result.servers);
    if (config.print_intervals) {
      char line[128];
      std::snprintf(line, sizeof line, "%s: %lld updates/s\n", phase, (long long)(received - last_received));
      log << line << std::flush;
    }
    last_received = received;
  };
  for (int s = 0; s < config.warmup_s; ++s) tick("warmup");

  std::vector<double> cpu_start;
  for (const ServerUsage& s : result.servers) cpu_start.push_back(ProcessCpuSeconds(s.pid));
  const double self_start = SelfCpuSeconds();
  const Clock::time_point start = Clock::now();
  measuring = true;
  for (int s = 0; s < config.duration_s; ++s) tick("measure");
  measuring = false;
  result.measured_s = std::chrono::duration<double>(Clock::now() - start).count();
  result.loadgen_cpu_s = SelfCpuSeconds() - self_start;
  for (size_t i = 0; i < result.servers.size(); ++i) {
    ServerUsage& s = result.servers[i];
    const double end = ProcessCpuSeconds(s.pid);
    s.cpu_s = end >= 0 && cpu_start[i] >= 0 ? end - cpu_start[i] : -1;
    s.rss_end_kib = ProcessRssKib(s.pid);
  }

  for (auto& s : subscribers) s->Cancel();
  for (auto& s : subscribers) s->Wait();
  for (const auto& s : subscribers) {
    result.opened += s->opened() ? 1 : 0;
    if (s->failed()) {
      ++result.failed;
      if (result.errors.size() < 5) result.errors.push_back(s->error());
    }
    result.total.Merge(s->tally());
    result.per_subscriber_updates.push_back(s->tally().updates);
  }
  return result;
}

}  // namespace stockfeed::bench

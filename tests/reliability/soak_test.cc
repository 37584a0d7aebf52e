// Soak: connection churn with live updates against the real binaries, while
// the RSS, open descriptors and thread count of both processes are sampled
// once a second. Asserts on the least-squares slope after a warm-up (a leak
// grows steadily; one sample proves nothing), and that descriptors come
// back to where they were once the churn stops.
// STOCKFEED_SOAK_SECONDS sets the churn's length (default 75; try 1800).
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "probe.h"
#include "proc_stats.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

int SoakSeconds() {
  const char* value = std::getenv("STOCKFEED_SOAK_SECONDS");
  return value != nullptr && std::atoi(value) > 0 ? std::atoi(value) : 75;
}

// One process's samples: seconds since the start, and the three measures.
struct Series {
  std::vector<double> t, rss_kib, fds, threads;
  void Sample(pid_t pid, double at) {
    t.push_back(at);
    rss_kib.push_back(static_cast<double>(bench::ProcessRssKib(pid)));
    fds.push_back(static_cast<double>(OpenFdCount(pid)));
    threads.push_back(static_cast<double>(ThreadCount(pid)));
  }
  // Slope per minute of `values` over the samples after `warmup` seconds.
  double PerMinute(const std::vector<double>& values, double warmup) const {
    std::vector<double> xs, ys;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] < warmup) continue;
      xs.push_back(t[i]);
      ys.push_back(values[i]);
    }
    return 60 * Slope(xs, ys);
  }
};

// Ways in and out of the gateway, in turn: WebSocket clients of each kind,
// an SSE stream, plain HTTP.
bool GatewayVisit(int port, int kind) {
  try {
    switch (kind % 4) {
      case 0: {
        WsClient client(port, "/ws");
        return client.ReadUntilType("price", seconds(10)).has_value();
      }
      case 1: {
        WsClient client(port, "/ws?protocol=v1&symbols=AAPL,MSFT&history=5&batch=1");
        if (!client.ReadUntilType("snapshot", seconds(10))) return false;
        client.Send(R"({"type":"subscribe","symbols":["NVDA"],"history":3})");
        return client.ReadUntilType("subscribed", seconds(10)).has_value();
      }
      case 2:
        return HttpGet(port, "/api/v1/latest?symbols=AAPL").status == 200;
      default:
        return HttpGet(port, "/stats").status == 200;
    }
  } catch (const std::exception&) {
    return false;
  }
}

// A gRPC subscriber that reads a few updates and goes away.
bool ServiceVisit(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::PriceFeed::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(10));
  v1::SubscribeRequest request;
  request.set_snapshot(true);
  auto reader = stub->Subscribe(&context, request);
  v1::PriceUpdate update;
  for (int i = 0; i < 10; ++i) {
    if (!reader->Read(&update)) return false;
  }
  context.TryCancel();
  reader->Finish();
  return true;
}

TEST(SoakTest, ConnectionChurnWithLiveUpdatesLeavesMemoryDescriptorsAndThreadsFlat) {
  const int churn_seconds = SoakSeconds();
  // Small buffers, so both are full (steady state) before sampling starts.
  System system({.rate = 500,
                 .service_args = {"--replay_capacity=4096"},
                 .gateway_args = {"--log_capacity=4096", "--max_backlog=2048"}});
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(20)))
      << system.gateway().Log();
  const pid_t gateway = system.gateway().pid();
  const pid_t service = system.service().pid();
  // A client that stays for the whole soak: it must keep getting prices.
  LatencyProbe steady(system.gateway_port(), "/ws?protocol=v1");
  std::this_thread::sleep_for(seconds(4096 / 500 + 2));
  const int64_t fds_before[2] = {OpenFdCount(gateway), OpenFdCount(service)};

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> visits{0}, failures{0};
  std::vector<std::thread> churners;
  for (int worker = 0; worker < 3; ++worker) {
    churners.emplace_back([&, worker] {
      for (int kind = worker; !stop; ++kind) {
        (GatewayVisit(system.gateway_port(), kind) ? visits : failures)++;
        std::this_thread::sleep_for(milliseconds(10));
      }
    });
  }
  churners.emplace_back([&] {
    const std::string target = "127.0.0.1:" + std::to_string(system.service_port());
    while (!stop) {
      // A new connection each time, as a restarting consumer would make.
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      (ServiceVisit(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)) ? visits
                                                                                                : failures)++;
      std::this_thread::sleep_for(milliseconds(20));
    }
  });

  Series gateway_series, service_series;
  const auto started = Clock::now();
  while (Clock::now() - started < seconds(churn_seconds)) {
    const double at = std::chrono::duration<double>(Clock::now() - started).count();
    gateway_series.Sample(gateway, at);
    service_series.Sample(service, at);
    std::this_thread::sleep_for(seconds(1));
  }
  const LatencyProbe::Result steady_result = steady.Measure(seconds(2));
  stop = true;
  for (std::thread& churner : churners) churner.join();

  // Warm-up: allocator arenas, thread pools and the feed log fill first.
  const double warmup = std::min(30.0, churn_seconds / 3.0);
  struct Limit {
    const char* what;
    double gateway, service, gateway_limit, service_limit;
  };
  const Limit limits[] = {
      {"RSS KiB/min", gateway_series.PerMinute(gateway_series.rss_kib, warmup),
       service_series.PerMinute(service_series.rss_kib, warmup), 2048, 2048},
      {"open fds/min", gateway_series.PerMinute(gateway_series.fds, warmup),
       service_series.PerMinute(service_series.fds, warmup), 3, 3},
      {"threads/min", gateway_series.PerMinute(gateway_series.threads, warmup),
       service_series.PerMinute(service_series.threads, warmup), 1, 1},
  };
  std::cout << churn_seconds << " s of churn: " << visits << " visits, " << failures << " failed; RSS "
            << gateway_series.rss_kib.front() << " → " << gateway_series.rss_kib.back() << " KiB (gateway), "
            << service_series.rss_kib.front() << " → " << service_series.rss_kib.back() << " KiB (service)\n";
  for (const Limit& limit : limits) {
    std::cout << "slope after " << warmup << " s warm-up, " << limit.what << ": gateway " << limit.gateway
              << ", price_service " << limit.service << "\n";
    EXPECT_LT(limit.gateway, limit.gateway_limit) << limit.what << " (gateway)";
    EXPECT_LT(limit.service, limit.service_limit) << limit.what << " (price_service)";
  }
  EXPECT_GT(visits, static_cast<uint64_t>(churn_seconds) * 10) << "too little churn to mean anything";
  EXPECT_EQ(failures, 0u) << "clients were refused or got nothing during the churn";
  EXPECT_TRUE(steady.healthy()) << "the steady client was dropped";
  EXPECT_GT(steady_result.samples, 100u) << "the steady client stopped getting prices";

  // Once the churn stops, descriptors return (closes settle within seconds).
  // Threads are judged by their slope only: gRPC's thread pool keeps a few
  // workers it grew under load.
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = i == 0 ? gateway : service;
    EXPECT_TRUE(Eventually([&] { return OpenFdCount(pid) <= fds_before[i] + 2; }, seconds(15)))
        << (i == 0 ? "gateway: " : "price_service: ") << OpenFdCount(pid) << " fds, " << fds_before[i]
        << " before the churn";
  }
  EXPECT_TRUE(system.gateway().running());
  EXPECT_TRUE(system.service().running());
}

}  // namespace
}  // namespace stockfeed::testing

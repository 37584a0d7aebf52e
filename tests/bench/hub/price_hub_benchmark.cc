// What PriceHub costs per update: a source publishing into a full replay
// buffer (every update evicts the oldest), and a stream reading the wire
// bytes back. Google Benchmark; docs/benchmarks.md has the command.
#include <cstdint>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/price_hub.h"

namespace stockfeed::price_service {
namespace {

// price_service's defaults: --replay_capacity and --postgres_batch.
constexpr size_t kReplayCapacity = 65536;
constexpr size_t kBatch = 1000;

std::vector<v1::PriceUpdate> NextBatch(uint64_t& sequence) {
  static constexpr const char* kSymbols[] = {"AAPL", "MSFT", "GOOG", "AMZN", "NVDA", "META", "TSLA", "NFLX"};
  std::vector<v1::PriceUpdate> batch(kBatch);
  for (v1::PriceUpdate& update : batch) {
    ++sequence;
    update.set_sequence(sequence);
    update.set_symbol(kSymbols[sequence % 8]);
    update.set_source(sequence % 2 ? "simulator" : "finnhub");
    update.set_price(100.0 + static_cast<double>(sequence % 97) / 4);
    update.set_event_time_us(1'700'000'000'000'000 + static_cast<int64_t>(sequence));
  }
  return batch;
}

// A hub whose replay buffer is full, under a PostgreSQL-style epoch.
struct FullHub {
  PriceHub hub{kReplayCapacity};
  uint64_t sequence = 0;
  FullHub() {
    hub.StartEpoch("pg-0f8c1b9e-3a57-4c62-9d1e-2b7a4f6c8e10");
    while (sequence < kReplayCapacity) hub.Publish(NextBatch(sequence));
  }
};

void BM_PublishIntoAFullHub(benchmark::State& state) {
  FullHub full;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<v1::PriceUpdate> batch = NextBatch(full.sequence);
    state.ResumeTiming();
    full.hub.Publish(std::move(batch));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_PublishIntoAFullHub);

void BM_ReadEncodedFromAFullHub(benchmark::State& state) {
  FullHub full;
  // A live stream a batch behind the newest update.
  FeedPosition start = full.hub.Subscribe({}, {}).position;
  start.after_sequence = full.sequence - kBatch;
  size_t bytes = 0;
  for (auto _ : state) {
    FeedPosition position = start;
    full.hub.ReadEncodedAfter(position, {}, kBatch,
                              [&bytes](std::string_view encoded, uint64_t) { bytes += encoded.size(); });
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_ReadEncodedFromAFullHub);

}  // namespace
}  // namespace stockfeed::price_service

BENCHMARK_MAIN();

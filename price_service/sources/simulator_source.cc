#include "simulator_source.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace stockfeed::price_service {
namespace {

// Wake at most this often; high rates publish a batch per wake-up.
constexpr std::chrono::microseconds kMinTick{1000};
// Never emit more than this per wake-up, so a stalled process catches up
// gradually instead of flooding subscribers.
constexpr size_t kMaxBatch = 10000;
// --backfill generates at most this many prices, so a start stays quick at any rate.
constexpr double kMaxBackfillUpdates = 200'000;

std::string NewEpoch() {
  std::random_device device;
  const uint64_t id = (static_cast<uint64_t>(device()) << 32) ^ device();
  return absl::StrFormat("sim-%016x", id);
}

}  // namespace

SimulatorSource::SimulatorSource(PriceHub& hub, BarBook& bars, SimulatorConfig config, double rate,
                                 absl::Duration tick, absl::Duration backfill)
    : hub_(hub), bars_(bars), simulator_(std::move(config)), rate_(rate), tick_(tick), backfill_(backfill) {
  // Before the service listens: GetBars has the history from the first call.
  Backfill();
}

SimulatorSource::~SimulatorSource() { Stop(); }

void SimulatorSource::Start() {
  hub_.StartEpoch(NewEpoch());
  thread_ = std::thread([this] { Run(); });
}

void SimulatorSource::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SimulatorSource::Backfill() {
  if (backfill_ <= absl::ZeroDuration()) return;
  const int64_t now_us = absl::ToUnixMicros(absl::Now());
  const int64_t span_us = absl::ToInt64Microseconds(backfill_);
  const double updates = std::min(absl::ToDoubleSeconds(backfill_) * rate_, kMaxBackfillUpdates);
  const double step_us = static_cast<double>(span_us) / std::max(updates, 1.0);
  // The walk continues into the live prices: the same simulator, times ascending.
  std::vector<v1::PriceUpdate> batch;
  for (double t = static_cast<double>(now_us - span_us); t < static_cast<double>(now_us); t += step_us) {
    batch.push_back(simulator_.Next(static_cast<int64_t>(t)));
    if (batch.size() == kMaxBatch) {
      bars_.Record(batch);
      batch.clear();
    }
  }
  bars_.Record(batch);
  spdlog::info("simulator: backfilled {} of bars ({} prices, not streamed)", absl::FormatDuration(backfill_),
               static_cast<uint64_t>(updates));
}

void SimulatorSource::Run() {
  using Clock = std::chrono::steady_clock;
  const auto tick = tick_ > absl::ZeroDuration()
                        ? std::chrono::microseconds(absl::ToInt64Microseconds(tick_))
                        : std::max<std::chrono::microseconds>(
                              kMinTick, std::chrono::microseconds(static_cast<int64_t>(1e6 / rate_)));
  const Clock::time_point start = Clock::now();
  Clock::time_point next_tick = start;
  uint64_t emitted = 0;
  uint64_t sequence = 0;
  uint64_t skipped = 0;
  Clock::time_point last_warning;
  std::vector<v1::PriceUpdate> batch;

  std::unique_lock lock(mu_);
  while (!stopping_) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const auto due = static_cast<uint64_t>(elapsed * rate_) + 1;  // the first update is immediate
    if (due > emitted) {
      const size_t count = std::min<uint64_t>(due - emitted, kMaxBatch);
      lock.unlock();
      const int64_t now_us = absl::ToUnixMicros(absl::Now());
      batch.clear();
      for (size_t i = 0; i < count; ++i) {
        v1::PriceUpdate& update = batch.emplace_back(simulator_.Next(now_us));
        update.set_sequence(++sequence);
      }
      bars_.Record(batch);
      hub_.Publish(std::move(batch));
      batch = {};
      emitted += count;
      // Too far behind (the rate is more than this machine can generate, or
      // the process was stopped): forget the backlog, and say so.
      if (due - emitted > kMaxBatch) {
        skipped += due - emitted;
        emitted = due;
      }
      if (skipped > 0 && Clock::now() - last_warning > std::chrono::seconds(10)) {
        spdlog::warn("simulator cannot keep up with --rate={}: skipped {} updates (warned at most every 10 s)",
                     rate_, skipped);
        skipped = 0;
        last_warning = Clock::now();
      }
      lock.lock();
    }
    // Tick boundaries from the start, so a slow tick does not shift the rest.
    next_tick = std::max(next_tick + tick, Clock::now() - tick);
    wake_.wait_until(lock, next_tick);
  }
}

}  // namespace stockfeed::price_service

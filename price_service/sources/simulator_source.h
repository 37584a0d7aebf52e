#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

#include "core/bars.h"
#include "core/price_hub.h"
#include "core/simulator.h"
#include "price_source.h"

namespace stockfeed::price_service {

// Drives a PriceSimulator at `rate` updates per second from the real clock and
// publishes into the hub, numbering updates 1, 2, 3… in a fresh epoch. Every
// update also goes into `bars`, which answers GetBars in simulator mode.
class SimulatorSource final : public PriceSource {
 public:
  // `tick` zero: publish as smoothly as the rate allows (at most every 1 ms).
  // `backfill`: bars for that much of the past are recorded right here.
  SimulatorSource(PriceHub& hub, BarBook& bars, SimulatorConfig config, double rate, absl::Duration tick,
                  absl::Duration backfill = absl::ZeroDuration());
  ~SimulatorSource() override;

  void Start() override;
  void Stop() override;

 private:
  void Run();
  void Backfill();

  PriceHub& hub_;
  BarBook& bars_;
  PriceSimulator simulator_;
  const double rate_;
  const absl::Duration tick_;
  const absl::Duration backfill_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stockfeed::price_service

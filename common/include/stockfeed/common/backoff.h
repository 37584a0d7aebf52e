#pragma once

#include <cstdint>
#include <functional>

#include "absl/time/time.h"

namespace stockfeed {

// Capped exponential backoff with "full jitter": the n-th delay is drawn
// uniformly from [initial * 2^n / 2, min(cap, initial * 2^n)], so a crowd of
// clients that lost the same server do not come back in lockstep.
class Backoff {
 public:
  struct Options {
    absl::Duration initial = absl::Milliseconds(100);
    absl::Duration max = absl::Seconds(10);
  };
  // `uniform01` returns a number in [0, 1); injected so tests are exact.
  Backoff(Options options, std::function<double()> uniform01);

  // The delay before the next attempt; each call doubles the base.
  absl::Duration NextDelay();
  // Call after a success so the next failure starts small again.
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  Options options_;
  std::function<double()> uniform01_;
  int attempt_ = 0;
};

}  // namespace stockfeed

#pragma once

#include <algorithm>

#include "absl/time/time.h"

namespace stockfeed::ws_gateway {

// Token bucket: `rate` tokens per second, holding at most `burst`. Time comes
// in as an argument so tests need no clock.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  // Takes one token if there is one.
  bool Allow(absl::Time now) {
    if (last_ != absl::InfinitePast()) {
      // A clock stepping back must not cost tokens.
      const absl::Duration elapsed = std::max(absl::ZeroDuration(), now - last_);
      tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(elapsed) * rate_);
    }
    last_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace stockfeed::ws_gateway

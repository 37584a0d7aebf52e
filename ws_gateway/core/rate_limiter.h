#pragma once

#include <algorithm>

#include "absl/time/time.h"

namespace stockfeed::ws_gateway {

// Token bucket: `rate` tokens per second, holding at most `burst`. Time comes
// in as an argument so tests need no clock. A token is a message for the
// control-message limit and a byte for the reply-byte limit.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  // Takes `cost` tokens if there are that many.
  bool Allow(absl::Time now, double cost = 1.0) {
    Refill(now);
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }

  // Tokens there are now, without taking any.
  double Available(absl::Time now) {
    Refill(now);
    return tokens_;
  }

 private:
  void Refill(absl::Time now) {
    if (last_ != absl::InfinitePast()) {
      // A clock stepping back must not cost tokens.
      const absl::Duration elapsed = std::max(absl::ZeroDuration(), now - last_);
      tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(elapsed) * rate_);
    }
    last_ = now;
  }

  double rate_;
  double burst_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace stockfeed::ws_gateway

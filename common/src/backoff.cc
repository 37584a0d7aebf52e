#include "stockfeed/common/backoff.h"

#include <algorithm>
#include <utility>

namespace stockfeed {

Backoff::Backoff(Options options, std::function<double()> uniform01)
    : options_(options), uniform01_(std::move(uniform01)) {}

absl::Duration Backoff::NextDelay() {
  absl::Duration ceiling = options_.initial;
  for (int i = 0; i < attempt_ && ceiling < options_.max; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, options_.max);
  ++attempt_;
  const absl::Duration floor = ceiling / 2;
  return floor + (ceiling - floor) * uniform01_();
}

}  // namespace stockfeed

#include "heartbeat.h"

namespace stockfeed::ws_gateway {

absl::Duration PingAfterSilence(absl::Duration idle_timeout, uint64_t connection_number) {
  // The fractional part of n / golden ratio, in 64-bit fixed point: the
  // multiplication's wrap-around drops the whole part exactly.
  constexpr uint64_t kGoldenRatioFraction = 0x9E3779B97F4A7C15;
  const double share = static_cast<double>((connection_number * kGoldenRatioFraction) >> 11) * 0x1p-53;
  return idle_timeout / 2 + idle_timeout / 4 * share;
}

}  // namespace stockfeed::ws_gateway

#include "core/heartbeat.h"

#include <algorithm>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

TEST(HeartbeatTest, PingsBetweenHalfAndThreeQuartersOfTheIdleTimeout) {
  const absl::Duration idle = absl::Seconds(30);
  for (uint64_t n : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{12345}, ~uint64_t{0}}) {
    const absl::Duration after = PingAfterSilence(idle, n);
    EXPECT_GE(after, absl::Seconds(15)) << n;
    EXPECT_LT(after, absl::Seconds(22.5)) << n;
  }
}

TEST(HeartbeatTest, ConsecutiveConnectionsAreSpreadEvenlyOverTheWindow) {
  // 10,000 clients that connected together: in each tenth of the window
  // (0.75 s of a 30 s timeout's 7.5 s spread, less than the 1 s between
  // sweeps) about a tenth of them fall due, never a wave.
  const absl::Duration idle = absl::Seconds(30);
  std::vector<int> per_tenth(10);
  for (uint64_t n = 1000; n < 11000; ++n) {
    const double share = absl::FDivDuration(PingAfterSilence(idle, n) - idle / 2, idle / 4);
    ++per_tenth[std::min(9, static_cast<int>(share * 10))];
  }
  for (int count : per_tenth) {
    EXPECT_GE(count, 950);
    EXPECT_LE(count, 1050);
  }
}

TEST(HeartbeatTest, ScalesWithTheTimeout) {
  EXPECT_EQ(PingAfterSilence(absl::Seconds(2), 0), absl::Seconds(1));
  EXPECT_GE(PingAfterSilence(absl::Seconds(1), 7), absl::Milliseconds(500));
  EXPECT_LT(PingAfterSilence(absl::Seconds(1), 7), absl::Milliseconds(750));
}

}  // namespace
}  // namespace stockfeed::ws_gateway

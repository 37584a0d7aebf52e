#include "core/log_throttle.h"

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'000'000);

TEST(LogThrottleTest, OnceperAddressAndReasonPerIntervalCountingTheRest) {
  LogThrottle throttle(absl::Seconds(10));
  uint64_t suppressed = 99;
  EXPECT_TRUE(throttle.ShouldLog("10.0.0.1", "full", kStart, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(throttle.ShouldLog("10.0.0.1", "full", kStart + absl::Seconds(1), suppressed));
  EXPECT_FALSE(throttle.ShouldLog("10.0.0.1", "full", kStart + absl::Seconds(2), suppressed));
  EXPECT_TRUE(throttle.ShouldLog("10.0.0.1", "origin", kStart + absl::Seconds(2), suppressed));
  EXPECT_TRUE(throttle.ShouldLog("10.0.0.2", "full", kStart + absl::Seconds(2), suppressed));
  EXPECT_TRUE(throttle.ShouldLog("10.0.0.1", "full", kStart + absl::Seconds(10), suppressed));
  EXPECT_EQ(suppressed, 2u);
}

TEST(LogThrottleTest, StaysBoundedInKeys) {
  LogThrottle throttle(absl::Seconds(10), /*max_keys=*/2);
  uint64_t suppressed = 0;
  EXPECT_TRUE(throttle.ShouldLog("a", "r", kStart, suppressed));
  EXPECT_TRUE(throttle.ShouldLog("b", "r", kStart, suppressed));
  EXPECT_TRUE(throttle.ShouldLog("c", "r", kStart, suppressed));  // starts over
  EXPECT_TRUE(throttle.ShouldLog("a", "r", kStart, suppressed));
}

}  // namespace
}  // namespace stockfeed::ws_gateway

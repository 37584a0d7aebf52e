#include "stockfeed/common/backoff.h"

#include <vector>

#include "gtest/gtest.h"

namespace stockfeed {
namespace {

constexpr Backoff::Options kOptions{absl::Milliseconds(100), absl::Seconds(1)};

std::vector<absl::Duration> Delays(Backoff& backoff, int count) {
  std::vector<absl::Duration> delays;
  for (int i = 0; i < count; ++i) delays.push_back(backoff.NextDelay());
  return delays;
}

TEST(BackoffTest, LowestDrawIsHalfTheDoublingCeiling) {
  Backoff backoff(kOptions, [] { return 0.0; });
  EXPECT_EQ(Delays(backoff, 7),
            (std::vector<absl::Duration>{absl::Milliseconds(50), absl::Milliseconds(100),
                                         absl::Milliseconds(200), absl::Milliseconds(400),
                                         absl::Milliseconds(500), absl::Milliseconds(500),
                                         absl::Milliseconds(500)}));
}

TEST(BackoffTest, DrawScalesBetweenHalfAndFullCeiling) {
  Backoff backoff(kOptions, [] { return 0.5; });
  EXPECT_EQ(Delays(backoff, 5),
            (std::vector<absl::Duration>{absl::Milliseconds(75), absl::Milliseconds(150),
                                         absl::Milliseconds(300), absl::Milliseconds(600),
                                         absl::Milliseconds(750)}));
}

TEST(BackoffTest, HighestDrawApproachesButNeverExceedsTheCap) {
  Backoff backoff(kOptions, [] { return 0.999999; });
  const std::vector<absl::Duration> delays = Delays(backoff, 40);
  for (const absl::Duration delay : delays) EXPECT_LE(delay, kOptions.max);
  EXPECT_GT(delays.back(), absl::Milliseconds(999));
  EXPECT_GT(delays[0], absl::Microseconds(99'999));
  EXPECT_LT(delays[0], absl::Milliseconds(100));
}

TEST(BackoffTest, DrawsTheInjectedRandomnessOncePerDelay) {
  int calls = 0;
  Backoff backoff(kOptions, [&] {
    ++calls;
    return 0.25;
  });
  EXPECT_EQ(backoff.NextDelay(), absl::Microseconds(62'500));
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(125));
  EXPECT_EQ(calls, 2);
}

TEST(BackoffTest, ResetStartsSmallAgain) {
  Backoff backoff(kOptions, [] { return 0.0; });
  Delays(backoff, 4);
  EXPECT_EQ(backoff.attempt(), 4);
  backoff.Reset();
  EXPECT_EQ(backoff.attempt(), 0);
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(50));
  EXPECT_EQ(backoff.attempt(), 1);
}

TEST(BackoffTest, ManyAttemptsStayAtTheCapWithoutOverflow) {
  Backoff backoff({absl::Milliseconds(1), absl::Seconds(30)}, [] { return 0.0; });
  absl::Duration last;
  for (int i = 0; i < 10'000; ++i) last = backoff.NextDelay();
  EXPECT_EQ(last, absl::Seconds(15));
  EXPECT_EQ(backoff.attempt(), 10'000);
}

TEST(BackoffTest, CapBelowInitialWins) {
  Backoff backoff({absl::Seconds(2), absl::Seconds(1)}, [] { return 0.0; });
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(500));
  EXPECT_EQ(backoff.NextDelay(), absl::Milliseconds(500));
}

}  // namespace
}  // namespace stockfeed

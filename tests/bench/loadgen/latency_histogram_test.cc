#include "latency_histogram.h"

#include <gtest/gtest.h>

namespace stockfeed::bench {
namespace {

TEST(LatencyHistogram, EmptyReportsZeros) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.ValueAtPercentile(99), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  for (int64_t v = 0; v < 256; ++v) {
    const int i = LatencyHistogram::IndexOf(v);
    EXPECT_EQ(LatencyHistogram::LowestEquivalent(i), v);
    EXPECT_EQ(LatencyHistogram::HighestEquivalent(i), v);
  }
}

TEST(LatencyHistogram, BucketsKeepTwoSignificantDigitsUpToSixtySeconds) {
  int previous = -1;
  for (int64_t v = 0; v <= LatencyHistogram::kMaxTrackable; v += 1 + v / 300) {
    const int i = LatencyHistogram::IndexOf(v);
    ASSERT_GE(i, previous) << v;  // monotonic
    previous = i;
    const int64_t lo = LatencyHistogram::LowestEquivalent(i);
    const int64_t hi = LatencyHistogram::HighestEquivalent(i);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    ASSERT_LE(static_cast<double>(hi - lo), 0.01 * static_cast<double>(v)) << v;
  }
}

TEST(LatencyHistogram, PercentilesOfUniformValues) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 10'000; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 10'000);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 10'000);
  EXPECT_NEAR(h.mean(), 5000.5, 1e-6);
  EXPECT_NEAR(h.ValueAtPercentile(50), 5000, 50);
  EXPECT_NEAR(h.ValueAtPercentile(99), 9900, 99);
  EXPECT_NEAR(h.ValueAtPercentile(99.9), 9990, 99);
  EXPECT_EQ(h.ValueAtPercentile(100), 10'000);
  EXPECT_EQ(h.ValueAtPercentile(0), 1);
}

TEST(LatencyHistogram, PercentileNeverExceedsMax) {
  LatencyHistogram h;
  h.Record(1'000'001);
  EXPECT_EQ(h.ValueAtPercentile(50), 1'000'001);
}

TEST(LatencyHistogram, OutOfRangeValuesAreClamped) {
  LatencyHistogram h;
  h.Record(-5);
  h.Record(LatencyHistogram::kMaxTrackable * 10);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), LatencyHistogram::kMaxTrackable);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
}

TEST(LatencyHistogram, MergeAndReset) {
  LatencyHistogram a, b;
  for (int i = 0; i < 99; ++i) a.Record(100);
  b.Record(50'000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 100);
  EXPECT_EQ(a.ValueAtPercentile(99), 100);
  EXPECT_NEAR(a.ValueAtPercentile(99.9), 50'000, 500);
  EXPECT_EQ(a.max(), 50'000);
  a.Reset();
  EXPECT_EQ(a.count(), 0);
  EXPECT_EQ(a.ValueAtPercentile(50), 0);
}

}  // namespace
}  // namespace stockfeed::bench

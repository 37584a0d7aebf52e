// A tiny HDR-style log-linear histogram of latencies in microseconds.
//
// Values keep 2 significant digits (relative error < 1%) up to kMaxTrackable
// (60 s); larger values are clamped to it, negative ones to 0. Recording is
// an index computation and one increment, cheap enough for every update.
#pragma once

#include <array>
#include <cstdint>

namespace stockfeed::bench {

class LatencyHistogram {
 public:
  static constexpr int64_t kMaxTrackable = 60'000'000;  // 60 s in us

  void Record(int64_t value_us);
  void Merge(const LatencyHistogram& other);
  void Reset();

  int64_t count() const { return count_; }
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double mean() const;
  // Smallest recorded value v such that at least `percentile`% of the values
  // are <= v, reported as the highest value equivalent to v's bucket (as
  // HdrHistogram does) but never above the exact maximum. 0 when empty.
  int64_t ValueAtPercentile(double percentile) const;

  // Exposed for tests: the bucket layout.
  static int IndexOf(int64_t value);
  static int64_t LowestEquivalent(int index);
  static int64_t HighestEquivalent(int index);

 private:
  // 256 linear sub-buckets (>= 2 * 10^2) per power of two; each further
  // power of two reuses the upper half at twice the width.
  static constexpr int kSubBucketHalfMagnitude = 7;
  static constexpr int kSubBucketHalf = 1 << kSubBucketHalfMagnitude;  // 128
  static constexpr int kBucketCount = 20;  // 256 << 18 > 60 s
  static constexpr int kCountsLength = (kBucketCount + 1) * kSubBucketHalf;

  std::array<int64_t, kCountsLength> counts_{};
  int64_t count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace stockfeed::bench

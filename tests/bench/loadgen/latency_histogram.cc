#include "latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace stockfeed::bench {

int LatencyHistogram::IndexOf(int64_t value) {
  const auto v = static_cast<uint64_t>(value);
  // Bucket = how many times the value's magnitude exceeds the first 256.
  const int bucket = 63 - std::countl_zero(v | 0xFF) - kSubBucketHalfMagnitude;
  const int sub_bucket = static_cast<int>(v >> bucket);
  return ((bucket + 1) << kSubBucketHalfMagnitude) + (sub_bucket - kSubBucketHalf);
}

int64_t LatencyHistogram::LowestEquivalent(int index) {
  int bucket = (index >> kSubBucketHalfMagnitude) - 1;
  int sub_bucket = (index & (kSubBucketHalf - 1)) + kSubBucketHalf;
  if (bucket < 0) {
    sub_bucket -= kSubBucketHalf;
    bucket = 0;
  }
  return static_cast<int64_t>(sub_bucket) << bucket;
}

int64_t LatencyHistogram::HighestEquivalent(int index) {
  const int bucket = std::max(0, (index >> kSubBucketHalfMagnitude) - 1);
  return LowestEquivalent(index) + (int64_t{1} << bucket) - 1;
}

void LatencyHistogram::Record(int64_t value_us) {
  const int64_t v = std::clamp<int64_t>(value_us, 0, kMaxTrackable);
  ++counts_[IndexOf(v)];
  ++count_;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += static_cast<double>(v);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kCountsLength; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void LatencyHistogram::Reset() { *this = LatencyHistogram{}; }

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

int64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  const double p = std::clamp(percentile, 0.0, 100.0);
  const auto wanted = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))));
  int64_t seen = 0;
  for (int i = 0; i < kCountsLength; ++i) {
    seen += counts_[i];
    if (seen >= wanted) return std::min(HighestEquivalent(i), max_);
  }
  return max_;
}

}  // namespace stockfeed::bench

// Prometheus-style metrics: counters, gauges and fixed-bucket histograms that
// live where the event happens, and a registry that one exposition function
// (metrics_exposition.h) reads at scrape time.
//
// Label sets are bounded by construction: a labelled family declares its one
// label and every value it may take when it is registered, so no client,
// token or stream can ever add a series.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace stockfeed::metrics {

// Who may write a metric. kOne is for state owned by one thread (a shard, the
// reader thread): a relaxed load+store, as cheap as a plain integer, and still
// race-free for the scraping thread. kMany uses an atomic read-modify-write.
enum class Writers { kOne, kMany };

template <Writers kWriters>
class BasicCounter {
 public:
  void Add(uint64_t n = 1) {
    if constexpr (kWriters == Writers::kOne) {
      value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      value_.fetch_add(n, std::memory_order_relaxed);
    }
  }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};
using Counter = BasicCounter<Writers::kMany>;
using ThreadCounter = BasicCounter<Writers::kOne>;

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Upper bounds of a histogram's buckets, strictly increasing and finite; the
// +Inf bucket is implicit.
using Buckets = std::vector<double>;
// `count` bounds from `start`, each `factor` times the previous one.
Buckets ExponentialBuckets(double start, double factor, int count);
// Bounds suited to latencies from 100 µs to 10 s, in seconds.
const Buckets& LatencyBuckets();

// What a histogram held at one moment: per-bucket (not cumulative) counts,
// the last entry being the +Inf bucket.
struct HistogramSnapshot {
  Buckets bounds;
  std::vector<uint64_t> counts;
  double sum = 0;

  uint64_t Count() const;
  // Adds another snapshot of the same buckets (shards merged at scrape time).
  void Merge(const HistogramSnapshot& other);
};

template <Writers kWriters>
class BasicHistogram {
 public:
  explicit BasicHistogram(Buckets bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

  void Observe(double value) {
    size_t bucket = 0;
    while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
    counts_[bucket].Add();
    if constexpr (kWriters == Writers::kOne) {
      sum_.store(sum_.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
    } else {
      sum_.fetch_add(value, std::memory_order_relaxed);
    }
  }

  HistogramSnapshot Snapshot() const {
    HistogramSnapshot snapshot{bounds_, std::vector<uint64_t>(counts_.size()),
                               sum_.load(std::memory_order_relaxed)};
    for (size_t i = 0; i < counts_.size(); ++i) snapshot.counts[i] = counts_[i].Value();
    return snapshot;
  }

 private:
  const Buckets bounds_;
  std::vector<BasicCounter<kWriters>> counts_;
  std::atomic<double> sum_{0};
};
using Histogram = BasicHistogram<Writers::kMany>;
using ThreadHistogram = BasicHistogram<Writers::kOne>;

// One label dimension and the only values it may take.
struct LabelSet {
  std::string name;
  std::vector<std::string> values;
};

// A counter per value of a LabelSet, addressed by the value's index (an enum
// on the hot path) or by name (unknown names count under the last value, which
// callers name "other").
class LabeledCounter {
 public:
  explicit LabeledCounter(LabelSet labels);
  Counter& At(size_t index) { return counters_[index]; }
  Counter& For(absl::string_view value);
  const LabelSet& labels() const { return labels_; }
  uint64_t Value(size_t index) const { return counters_[index].Value(); }

 private:
  const LabelSet labels_;
  std::deque<Counter> counters_;  // deque: atomics neither move nor copy
};

enum class Type { kCounter, kGauge, kHistogram };

// What a collector reports at scrape time for one family.
class FamilySink {
 public:
  virtual ~FamilySink() = default;
  // The family's value (families without labels).
  virtual void Value(double value) = 0;
  // The value for labels.values[label_index] (labelled families).
  virtual void Labeled(size_t label_index, double value) = 0;
  virtual void Histogram(const HistogramSnapshot& snapshot) = 0;
};

struct Family {
  std::string name;
  std::string help;
  Type type;
  LabelSet labels;  // empty name: no label
  std::function<void(FamilySink&)> collect;
};

// Every metric of a process. Registration may happen at any time; scraping
// calls each family's collector under the registry's lock, so a collector
// must not register metrics. Metrics it owns live as long as the registry.
// A bad or repeated name, or bad buckets, is a programming error: it aborts
// at registration, before anything is served.
class Registry {
 public:
  Counter& AddCounter(std::string name, std::string help);
  Gauge& AddGauge(std::string name, std::string help);
  Histogram& AddHistogram(std::string name, std::string help, Buckets bounds);
  LabeledCounter& AddLabeledCounter(std::string name, std::string help, LabelSet labels);

  // A family computed at scrape time, e.g. per-shard counters summed or a
  // value read from /proc. The name must be unique; it is checked here.
  void AddCollector(Family family);
  // Shorthands for unlabelled families computed by `read`.
  void AddCounterFunction(std::string name, std::string help, std::function<double()> read);
  void AddGaugeFunction(std::string name, std::string help, std::function<double()> read);

  // Calls `visit` for each family in registration order.
  void Visit(const std::function<void(const Family&)>& visit) const;

 private:
  mutable absl::Mutex mutex_;
  std::vector<Family> families_ ABSL_GUARDED_BY(mutex_);
  std::deque<Counter> counters_ ABSL_GUARDED_BY(mutex_);
  std::deque<Gauge> gauges_ ABSL_GUARDED_BY(mutex_);
  std::deque<Histogram> histograms_ ABSL_GUARDED_BY(mutex_);
  std::deque<LabeledCounter> labeled_ ABSL_GUARDED_BY(mutex_);
};

// Metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]* (labels without ':').
bool IsValidMetricName(absl::string_view name);
bool IsValidLabelName(absl::string_view name);

}  // namespace stockfeed::metrics

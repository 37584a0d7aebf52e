#include "stockfeed/common/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace stockfeed::metrics {
namespace {

[[noreturn]] void RegistrationError(absl::string_view name, const char* what) {
  std::fprintf(stderr, "metrics: %.*s: %s\n", static_cast<int>(name.size()), name.data(), what);
  std::abort();
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
                    (allow_colon && c == ':') || (i > 0 && absl::ascii_isdigit(static_cast<unsigned char>(c)));
    if (!ok) return false;
  }
  return true;
}

void CheckBuckets(absl::string_view name, const Buckets& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) RegistrationError(name, "bucket bounds must be finite");
    if (i > 0 && bounds[i] <= bounds[i - 1]) RegistrationError(name, "bucket bounds must increase");
  }
}

}  // namespace

bool IsValidMetricName(absl::string_view name) { return IsValidName(name, true); }
bool IsValidLabelName(absl::string_view name) {
  return IsValidName(name, false) && !absl::StartsWith(name, "__");
}

Buckets ExponentialBuckets(double start, double factor, int count) {
  Buckets bounds;
  for (double bound = start; static_cast<int>(bounds.size()) < count; bound *= factor) bounds.push_back(bound);
  return bounds;
}

const Buckets& LatencyBuckets() {
  static const Buckets bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
  return bounds;
}

uint64_t HistogramSnapshot::Count() const {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  return total;
}

void HistogramSnapshot::Merge(const HistogramSnapshot& other) {
  if (counts.empty()) {
    *this = other;
    return;
  }
  for (size_t i = 0; i < counts.size() && i < other.counts.size(); ++i) counts[i] += other.counts[i];
  sum += other.sum;
}

LabeledCounter::LabeledCounter(LabelSet labels) : labels_(std::move(labels)), counters_(labels_.values.size()) {}

Counter& LabeledCounter::For(absl::string_view value) {
  for (size_t i = 0; i < labels_.values.size(); ++i) {
    if (labels_.values[i] == value) return counters_[i];
  }
  return counters_.back();
}

void Registry::AddCollector(Family family) {
  if (!IsValidMetricName(family.name)) RegistrationError(family.name, "invalid metric name");
  if (!family.labels.name.empty()) {
    if (!IsValidLabelName(family.labels.name) || family.labels.name == "le") {
      RegistrationError(family.name, "invalid label name");
    }
    if (family.labels.values.empty()) RegistrationError(family.name, "a label needs its values");
  }
  absl::MutexLock lock(&mutex_);
  for (const Family& existing : families_) {
    if (existing.name == family.name) RegistrationError(family.name, "registered twice");
  }
  families_.push_back(std::move(family));
}

Counter& Registry::AddCounter(std::string name, std::string help) {
  Counter* counter;
  {
    absl::MutexLock lock(&mutex_);
    counter = &counters_.emplace_back();
  }
  AddCounterFunction(std::move(name), std::move(help), [counter] { return static_cast<double>(counter->Value()); });
  return *counter;
}

Gauge& Registry::AddGauge(std::string name, std::string help) {
  Gauge* gauge;
  {
    absl::MutexLock lock(&mutex_);
    gauge = &gauges_.emplace_back();
  }
  AddGaugeFunction(std::move(name), std::move(help), [gauge] { return gauge->Value(); });
  return *gauge;
}

Histogram& Registry::AddHistogram(std::string name, std::string help, Buckets bounds) {
  CheckBuckets(name, bounds);
  Histogram* histogram;
  {
    absl::MutexLock lock(&mutex_);
    histogram = &histograms_.emplace_back(std::move(bounds));
  }
  AddCollector({std::move(name), std::move(help), Type::kHistogram, {},
                [histogram](FamilySink& sink) { sink.Histogram(histogram->Snapshot()); }});
  return *histogram;
}

LabeledCounter& Registry::AddLabeledCounter(std::string name, std::string help, LabelSet labels) {
  LabeledCounter* counter;
  {
    absl::MutexLock lock(&mutex_);
    counter = &labeled_.emplace_back(labels);
  }
  AddCollector({std::move(name), std::move(help), Type::kCounter, std::move(labels), [counter](FamilySink& sink) {
                  for (size_t i = 0; i < counter->labels().values.size(); ++i) {
                    sink.Labeled(i, static_cast<double>(counter->Value(i)));
                  }
                }});
  return *counter;
}

void Registry::AddCounterFunction(std::string name, std::string help, std::function<double()> read) {
  AddCollector({std::move(name), std::move(help), Type::kCounter, {},
                [read = std::move(read)](FamilySink& sink) { sink.Value(read()); }});
}

void Registry::AddGaugeFunction(std::string name, std::string help, std::function<double()> read) {
  AddCollector({std::move(name), std::move(help), Type::kGauge, {},
                [read = std::move(read)](FamilySink& sink) { sink.Value(read()); }});
}

void Registry::Visit(const std::function<void(const Family&)>& visit) const {
  absl::MutexLock lock(&mutex_);
  for (const Family& family : families_) visit(family);
}

}  // namespace stockfeed::metrics

#include "stockfeed/common/metrics.h"

#include <unistd.h>

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "stockfeed/common/metrics_exposition.h"
#include "stockfeed/common/process_metrics.h"

namespace stockfeed::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, CounterAndGaugeExposeWithHelpAndType) {
  Registry registry;
  registry.AddCounter("sf_sent_total", "Messages sent.").Add(1234567);
  Gauge& active = registry.AddGauge("sf_active", "Active connections.");
  active.Set(3);
  active.Add(-1);
  EXPECT_EQ(ExposePrometheusText(registry),
            "# HELP sf_sent_total Messages sent.\n"
            "# TYPE sf_sent_total counter\n"
            "sf_sent_total 1234567\n"
            "# HELP sf_active Active connections.\n"
            "# TYPE sf_active gauge\n"
            "sf_active 2\n");
}

TEST(MetricsTest, HelpEscapesBackslashAndNewlineOnly) {
  Registry registry;
  registry.AddGaugeFunction("sf_g", "a \\ b\nc \"quoted\"", [] { return 1.0; });
  EXPECT_THAT(ExposePrometheusText(registry), HasSubstr("# HELP sf_g a \\\\ b\\nc \"quoted\"\n"));
}

TEST(MetricsTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  Registry registry;
  LabeledCounter& closed = registry.AddLabeledCounter(
      "sf_closed_total", "Closed.", {"reason", {"plain", "back\\slash", "say \"hi\"", "two\nlines"}});
  closed.At(1).Add();
  closed.At(2).Add(2);
  closed.At(3).Add(3);
  const std::string text = ExposePrometheusText(registry);
  EXPECT_THAT(text, HasSubstr("sf_closed_total{reason=\"plain\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("sf_closed_total{reason=\"back\\\\slash\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sf_closed_total{reason=\"say \\\"hi\\\"\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("sf_closed_total{reason=\"two\\nlines\"} 3\n"));
}

TEST(MetricsTest, UnknownLabelValueCountsUnderTheLastDeclaredValue) {
  Registry registry;
  LabeledCounter& errors = registry.AddLabeledCounter("sf_errors_total", "Errors.", {"code", {"bad_json", "other"}});
  errors.For("bad_json").Add();
  for (int i = 0; i < 1000; ++i) errors.For("client-chosen-" + std::to_string(i)).Add();
  const std::string text = ExposePrometheusText(registry);
  EXPECT_THAT(text, HasSubstr("sf_errors_total{code=\"bad_json\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sf_errors_total{code=\"other\"} 1000\n"));
  EXPECT_THAT(text, Not(HasSubstr("client-chosen")));
}

TEST(MetricsTest, CollectorCannotReportALabelOutsideItsSet) {
  Registry registry;
  registry.AddCollector({"sf_backlog", "Backlog.", Type::kGauge, {"shard", {"0", "1"}}, [](FamilySink& sink) {
                           sink.Labeled(0, 5);
                           sink.Labeled(1, 6);
                           sink.Labeled(2, 7);
                         }});
  EXPECT_EQ(ExposePrometheusText(registry),
            "# HELP sf_backlog Backlog.\n# TYPE sf_backlog gauge\n"
            "sf_backlog{shard=\"0\"} 5\nsf_backlog{shard=\"1\"} 6\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  Histogram& latency = registry.AddHistogram("sf_latency_seconds", "Latency.", {0.001, 0.01, 0.1});
  for (double v : {0.0005, 0.001, 0.002, 0.05, 0.05, 7.0}) latency.Observe(v);
  EXPECT_EQ(ExposePrometheusText(registry),
            "# HELP sf_latency_seconds Latency.\n"
            "# TYPE sf_latency_seconds histogram\n"
            "sf_latency_seconds_bucket{le=\"0.001\"} 2\n"  // le is inclusive: 0.001 is in it
            "sf_latency_seconds_bucket{le=\"0.01\"} 3\n"
            "sf_latency_seconds_bucket{le=\"0.1\"} 5\n"
            "sf_latency_seconds_bucket{le=\"+Inf\"} 6\n"
            "sf_latency_seconds_sum 7.1035\n"
            "sf_latency_seconds_count 6\n");
}

TEST(MetricsTest, ThreadHistogramSnapshotsMerge) {
  ThreadHistogram a({1, 2}), b({1, 2});
  a.Observe(0.5);
  b.Observe(1.5);
  b.Observe(3);
  HistogramSnapshot merged;
  merged.Merge(a.Snapshot());
  merged.Merge(b.Snapshot());
  EXPECT_EQ(merged.counts, (std::vector<uint64_t>{1, 1, 1}));
  EXPECT_EQ(merged.Count(), 3u);
  EXPECT_DOUBLE_EQ(merged.sum, 5.0);
}

TEST(MetricsTest, ExponentialBucketsAndLatencyBucketsIncrease) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (Buckets{0.001, 0.01, 0.1, 1}));
  const Buckets& latency = LatencyBuckets();
  for (size_t i = 1; i < latency.size(); ++i) EXPECT_LT(latency[i - 1], latency[i]);
}

TEST(MetricsTest, SampleValuesUseExactDecimalsAndSpecialNames) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(18446744073709.0), "18446744073709");
  EXPECT_EQ(FormatSampleValue(0.25), "0.25");
  EXPECT_EQ(FormatSampleValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatSampleValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatSampleValue(NAN), "NaN");
}

TEST(MetricsTest, NamesFollowPrometheusSyntax) {
  EXPECT_TRUE(IsValidMetricName("ws_gateway:rate_5m"));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("has-dash"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_TRUE(IsValidLabelName("reason"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("__reserved"));
}

TEST(MetricsDeathTest, RegisteringANameTwiceAborts) {
  Registry registry;
  registry.AddCounter("sf_twice_total", "x");
  EXPECT_DEATH(registry.AddCounter("sf_twice_total", "x"), "registered twice");
}

TEST(MetricsDeathTest, BadBucketsAbort) {
  Registry registry;
  EXPECT_DEATH(registry.AddHistogram("sf_h", "x", {1, 1}), "must increase");
  EXPECT_DEATH(registry.AddHistogram("sf_h2", "x", {1, INFINITY}), "finite");
}

TEST(ProcStatTest, ParsesFieldsAfterACommandWithSpacesAndParens) {
  // Fields 3..24 of proc(5); utime=250 stime=50 threads=7 starttime=1000 vsize rss=10 pages.
  const std::string line =
      "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 10 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  const absl::StatusOr<ProcStat> stat = ParseProcStat(line, 100, 4096, 1700000000);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_DOUBLE_EQ(stat->cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(stat->start_time_seconds, 1700000010.0);
  EXPECT_EQ(stat->virtual_bytes, 123456789);
  EXPECT_EQ(stat->resident_bytes, 40960);
  EXPECT_EQ(stat->threads, 7);
}

TEST(ProcStatTest, TruncatedLineIsAnError) {
  EXPECT_FALSE(ParseProcStat("42 (x) S 1 2 3", 100, 4096, 0).ok());
  EXPECT_FALSE(ParseProcStat("no parenthesis", 100, 4096, 0).ok());
}

TEST(ProcessMetricsTest, ExposesTheStandardNamesWithPlausibleValues) {
  Registry registry;
  RegisterProcessMetrics(registry);
  const std::string text = ExposePrometheusText(registry);
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
                           "process_max_fds ", "process_start_time_seconds ", "process_threads ",
                           "process_virtual_memory_bytes "}) {
    EXPECT_THAT(text, HasSubstr(std::string("\n") + name)) << name;
  }
  EXPECT_THAT(text, Not(HasSubstr(" -1\n")));
  const absl::StatusOr<ProcStat> self = ReadProcStat(getpid());
  ASSERT_TRUE(self.ok());
  EXPECT_GT(self->resident_bytes, 0);
  EXPECT_GE(self->threads, 1);
  EXPECT_GT(self->start_time_seconds, 1.6e9);
}

}  // namespace
}  // namespace stockfeed::metrics

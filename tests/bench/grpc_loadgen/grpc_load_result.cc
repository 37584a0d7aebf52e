#include "grpc_load_result.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include <boost/json.hpp>

namespace stockfeed::bench {
namespace {

double PerSecond(int64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

struct Spread {
  double min = 0, mean = 0, max = 0;
};

Spread PerSubscriberRates(const GrpcLoadResult& r) {
  const auto& v = r.per_subscriber_updates;
  if (v.empty()) return {};
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  const int64_t sum = std::accumulate(v.begin(), v.end(), int64_t{0});
  return {PerSecond(*lo, r.measured_s), PerSecond(sum, r.measured_s) / static_cast<double>(v.size()),
          PerSecond(*hi, r.measured_s)};
}

std::string Line(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf) + "\n";
}

}  // namespace

bool LimitedByClient(const GrpcLoadResult& result) {
  return result.measured_s > 0 && result.loadgen_cpu_s / result.measured_s > 0.9;
}

std::string FormatSummary(const GrpcLoadConfig& config, const GrpcLoadResult& r) {
  const StreamTally& t = r.total;
  const LatencyHistogram& h = t.latency;
  const Spread each = PerSubscriberRates(r);
  std::string out;
  out += Line("subscribers: target %d opened %lld failed %lld (%s)", config.subscribers,
              (long long)r.opened, (long long)r.failed,
              config.shared_channel ? "one channel shared by all" : "one channel each");
  for (const std::string& error : r.errors) out += "  stream error: " + error + "\n";
  out += Line("measured: %.1f s  updates %lld  updates/s %.0f  per subscriber min %.0f mean %.0f max %.0f",
              r.measured_s, (long long)t.updates, PerSecond(t.updates, r.measured_s), each.min, each.mean,
              each.max);
  out += Line("latency us: p50 %lld  p99 %lld  p99.9 %lld  max %lld  mean %.0f",
              (long long)h.ValueAtPercentile(50), (long long)h.ValueAtPercentile(99),
              (long long)h.ValueAtPercentile(99.9), (long long)h.max(), h.mean());
  out += Line("seq: gaps %lld missing %lld (announced dropped_before %lld, unexplained gaps %lld) "
              "duplicates %lld backwards %lld  epoch changes %lld  not live %lld",
              (long long)t.seq_gaps, (long long)t.seq_missing, (long long)t.dropped_before,
              (long long)t.unexplained_gaps, (long long)t.seq_duplicates, (long long)t.seq_backwards,
              (long long)t.epoch_changes, (long long)t.not_live);
  for (const auto& s : r.servers) {
    out += Line("server pid %d: cpu %.2f s (%.0f%% of a core)  rss KiB start %lld end %lld peak %lld", s.pid,
                s.cpu_s, r.measured_s > 0 ? 100 * s.cpu_s / r.measured_s : 0.0,
                (long long)s.rss_start_kib, (long long)s.rss_end_kib, (long long)s.rss_peak_kib);
  }
  out += Line("loadgen cpu: %.2f s (%.0f%% of a core)", r.loadgen_cpu_s,
              r.measured_s > 0 ? 100 * r.loadgen_cpu_s / r.measured_s : 0.0);
  if (LimitedByClient(r)) out += "WARNING: LIMITED BY LOADGEN (its CPU use is > 90% of a core)\n";
  return out;
}

std::string FormatResultLine(const GrpcLoadConfig& config, const GrpcLoadResult& r) {
  namespace json = boost::json;
  const StreamTally& t = r.total;
  const LatencyHistogram& h = t.latency;
  const Spread each = PerSubscriberRates(r);
  json::array servers;
  for (const auto& s : r.servers) {
    servers.push_back(json::object{{"pid", s.pid},
                                   {"cpu_s", s.cpu_s},
                                   {"rss_start_kib", s.rss_start_kib},
                                   {"rss_end_kib", s.rss_end_kib},
                                   {"rss_peak_kib", s.rss_peak_kib}});
  }
  json::array errors(r.errors.begin(), r.errors.end());
  json::object o{
      {"target", config.target},
      {"subscribers", config.subscribers},
      {"shared_channel", config.shared_channel},
      {"batched", config.batched},
      {"opened", r.opened},
      {"failed", r.failed},
      {"errors", std::move(errors)},
      {"measured_s", r.measured_s},
      {"updates", t.updates},
      {"updates_per_s", PerSecond(t.updates, r.measured_s)},
      {"per_subscriber_updates_per_s", json::object{{"min", each.min}, {"mean", each.mean}, {"max", each.max}}},
      {"seq_gaps", t.seq_gaps},
      {"seq_missing", t.seq_missing},
      {"seq_duplicates", t.seq_duplicates},
      {"seq_backwards", t.seq_backwards},
      {"dropped_before", t.dropped_before},
      {"unexplained_gaps", t.unexplained_gaps},
      {"epoch_changes", t.epoch_changes},
      {"not_live", t.not_live},
      {"latency_us", json::object{{"count", h.count()},
                                  {"p50", h.ValueAtPercentile(50)},
                                  {"p90", h.ValueAtPercentile(90)},
                                  {"p99", h.ValueAtPercentile(99)},
                                  {"p999", h.ValueAtPercentile(99.9)},
                                  {"max", h.max()},
                                  {"mean", h.mean()}}},
      {"loadgen_cpu_s", r.loadgen_cpu_s},
      {"limited_by_loadgen", LimitedByClient(r)},
      {"servers", std::move(servers)}};
  return "RESULT " + json::serialize(o) + "\n";
}

}  // namespace stockfeed::bench

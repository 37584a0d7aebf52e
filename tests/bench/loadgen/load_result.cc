#include "load_result.h"

#include <algorithm>
#include <cstdio>

#include <boost/json.hpp>

namespace stockfeed::bench {
namespace {

double PerSecond(int64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

int64_t Median(std::vector<int64_t> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

boost::json::object LatencyJson(const LatencyHistogram& h) {
  return {{"count", h.count()},
          {"p50", h.ValueAtPercentile(50)},
          {"p90", h.ValueAtPercentile(90)},
          {"p99", h.ValueAtPercentile(99)},
          {"p999", h.ValueAtPercentile(99.9)},
          {"max", h.max()},
          {"mean", h.mean()}};
}

std::string Line(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf) + "\n";
}

}  // namespace

bool LimitedByLoadgen(const LoadConfig& config, const LoadResult& result) {
  if (result.measured_s <= 0) return false;
  return result.loadgen_cpu_s / result.measured_s > 0.9 * std::max(1, config.threads);
}

std::string FormatSummary(const LoadConfig& config, const LoadResult& r) {
  const auto& h = r.healthy.latency;
  const int64_t updates = r.healthy.price_updates + r.stalled.price_updates;
  std::string out;
  out += Line("connections: target %d opened %lld failed %lld closed_by_server %lld (+%lld stalled) in %.1f s",
              config.connections, (long long)r.opened, (long long)r.failed,
              (long long)r.closed_healthy, (long long)r.closed_stalled, r.connect_s);
  out += Line("measured: %.1f s  updates %lld  updates/s %.0f  frames/s %.0f  MB/s %.1f",
              r.measured_s, (long long)updates, PerSecond(updates, r.measured_s),
              PerSecond(r.healthy.frames + r.stalled.frames, r.measured_s),
              PerSecond(r.healthy.bytes + r.stalled.bytes, r.measured_s) / 1e6);
  out += Line("latency us (healthy): p50 %lld  p99 %lld  p99.9 %lld  max %lld  mean %.0f",
              (long long)h.ValueAtPercentile(50), (long long)h.ValueAtPercentile(99),
              (long long)h.ValueAtPercentile(99.9), (long long)h.max(), h.mean());
  const auto& read = r.healthy.read_latency;
  out += Line("  to the load generator's read: p50 %lld  p99 %lld  p99.9 %lld  max %lld",
              (long long)read.ValueAtPercentile(50), (long long)read.ValueAtPercentile(99),
              (long long)read.ValueAtPercentile(99.9), (long long)read.max());
  if (!config.commit_log.empty()) {
    const auto& commit = r.healthy.commit_latency;
    out += Line("  from the feeder's COMMIT: p50 %lld  p99 %lld  p99.9 %lld  max %lld  (%lld prices without one)",
                (long long)commit.ValueAtPercentile(50), (long long)commit.ValueAtPercentile(99),
                (long long)commit.ValueAtPercentile(99.9), (long long)commit.max(),
                (long long)r.healthy.without_commit);
  }
  out += Line("seq (healthy): gaps %lld missing %lld duplicates %lld backwards %lld  other msgs %lld  parse errors %lld",
              (long long)r.healthy.seq_gaps, (long long)r.healthy.seq_missing,
              (long long)r.healthy.seq_duplicates, (long long)r.healthy.seq_backwards,
              (long long)r.healthy.other_messages, (long long)r.healthy.parse_errors);
  if (config.stall_clients > 0) {
    out += Line("stalled clients %d: updates %lld gaps %lld missing %lld p99 %lld us closed %lld",
                config.stall_clients, (long long)r.stalled.price_updates,
                (long long)r.stalled.seq_gaps, (long long)r.stalled.seq_missing,
                (long long)r.stalled.latency.ValueAtPercentile(99), (long long)r.closed_stalled);
  }
  for (const auto& s : r.servers) {
    out += Line("server pid %d: cpu %.2f s (%.0f%% of a core)  rss KiB start %lld connected %lld end %lld peak %lld",
                s.pid, s.cpu_s, r.measured_s > 0 ? 100 * s.cpu_s / r.measured_s : 0.0,
                (long long)s.rss_start_kib, (long long)s.rss_connected_kib,
                (long long)s.rss_end_kib, (long long)s.rss_peak_kib);
  }
  out += Line("loadgen cpu: %.2f s (%.0f%% of a core, %d io thread%s)", r.loadgen_cpu_s,
              r.measured_s > 0 ? 100 * r.loadgen_cpu_s / r.measured_s : 0.0, config.threads,
              config.threads == 1 ? "" : "s");
  if (LimitedByLoadgen(config, r)) {
    out += "WARNING: LIMITED BY LOADGEN (its CPU use is > 90% of a core per io thread)\n";
  }
  return out;
}

std::string FormatResultLine(const LoadConfig& config, const LoadResult& r) {
  namespace json = boost::json;
  const int64_t updates = r.healthy.price_updates + r.stalled.price_updates;
  json::array servers;
  for (const auto& s : r.servers) {
    servers.push_back(json::object{{"pid", s.pid},
                                   {"cpu_s", s.cpu_s},
                                   {"rss_start_kib", s.rss_start_kib},
                                   {"rss_connected_kib", s.rss_connected_kib},
                                   {"rss_end_kib", s.rss_end_kib},
                                   {"rss_peak_kib", s.rss_peak_kib}});
  }
  json::object o{
      {"url", "ws://" + config.url.host + ":" + config.url.port + config.url.target},
      {"connections", config.connections},
      {"opened", r.opened},
      {"failed", r.failed},
      {"closed_by_server", r.closed_healthy},
      {"connect_s", r.connect_s},
      {"measured_s", r.measured_s},
      {"updates", updates},
      {"updates_per_s", PerSecond(updates, r.measured_s)},
      {"frames", r.healthy.frames + r.stalled.frames},
      {"bytes", r.healthy.bytes + r.stalled.bytes},
      {"other_messages", r.healthy.other_messages + r.stalled.other_messages},
      {"parse_errors", r.healthy.parse_errors + r.stalled.parse_errors},
      {"seq_gaps", r.healthy.seq_gaps},
      {"seq_missing", r.healthy.seq_missing},
      {"seq_duplicates", r.healthy.seq_duplicates},
      {"seq_backwards", r.healthy.seq_backwards},
      {"latency_us", LatencyJson(r.healthy.latency)},
      {"read_latency_us", LatencyJson(r.healthy.read_latency)},
      {"commit_latency_us", LatencyJson(r.healthy.commit_latency)},
      {"without_commit", r.healthy.without_commit},
      {"interval_max_latency_us",
       json::object{{"median", Median(r.interval_max_us)},
                    {"max", r.interval_max_us.empty()
                                ? int64_t{0}
                                : *std::max_element(r.interval_max_us.begin(),
                                                    r.interval_max_us.end())}}},
      {"stalled",
       json::object{{"clients", config.stall_clients},
                    {"updates", r.stalled.price_updates},
                    {"seq_gaps", r.stalled.seq_gaps},
                    {"seq_missing", r.stalled.seq_missing},
                    {"closed_by_server", r.closed_stalled},
                    {"latency_us", LatencyJson(r.stalled.latency)}}},
      {"loadgen_cpu_s", r.loadgen_cpu_s},
      {"threads", config.threads},
      {"limited_by_loadgen", LimitedByLoadgen(config, r)},
      {"servers", std::move(servers)}};
  return "RESULT " + json::serialize(o) + "\n";
}

}  // namespace stockfeed::bench

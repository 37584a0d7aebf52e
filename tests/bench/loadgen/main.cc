// ws_loadgen: opens many WebSocket connections to a price feed and reports
// delivery rate, sequence gaps and end-to-end latency. See docs/benchmarks.md.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/string_view.h"
#include "load_config.h"
#include "load_generator.h"
#include "proc_stats.h"

ABSL_FLAG(std::string, url, "ws://127.0.0.1:8080/ws?protocol=v1", "WebSocket URL to load");
ABSL_FLAG(int, connections, 100, "Number of connections");
ABSL_FLAG(double, connect_rate, 1000, "New connections per second while ramping (0: all at once)");
ABSL_FLAG(int, warmup, 2, "Seconds after connecting that are not measured");
ABSL_FLAG(int, duration, 10, "Seconds measured");
ABSL_FLAG(int, threads, 1, "io threads");
ABSL_FLAG(int, stall, 0, "How many connections stop reading (the first K)");
ABSL_FLAG(double, stall_after, 0, "Seconds after measuring starts when they stop reading");
ABSL_FLAG(double, stall_for, 0, "Seconds they stay stalled");
ABSL_FLAG(std::string, server_pids, "", "Comma-separated pids whose CPU time and RSS to report");
ABSL_FLAG(bool, intervals, true, "Print one line per second");
ABSL_FLAG(bool, deflate, false, "Offer permessage-deflate (the server decides)");
ABSL_FLAG(std::string, commit_log, "",
          "stockfeed_feeder's --commit_log file: also report latency from each row's COMMIT");
ABSL_FLAG(bool, require_clean, false,
          "Exit 3 unless updates arrived, every connection opened, and no seq gap, duplicate "
          "or parse error was seen");

int main(int argc, char** argv) {
  using namespace stockfeed::bench;
  absl::SetProgramUsageMessage("WebSocket load generator for stockfeed and peer servers");
  absl::ParseCommandLine(argc, argv);

  LoadConfig config;
  const auto url = ParseWsUrl(absl::GetFlag(FLAGS_url));
  if (!url) {
    std::cerr << "bad --url, expected ws://host:port/path?query\n";
    return 2;
  }
  config.url = *url;
  config.connections = absl::GetFlag(FLAGS_connections);
  config.connect_rate = absl::GetFlag(FLAGS_connect_rate);
  config.warmup_s = absl::GetFlag(FLAGS_warmup);
  config.duration_s = absl::GetFlag(FLAGS_duration);
  config.threads = absl::GetFlag(FLAGS_threads);
  config.stall_clients = absl::GetFlag(FLAGS_stall);
  config.stall_after_s = absl::GetFlag(FLAGS_stall_after);
  config.stall_for_s = absl::GetFlag(FLAGS_stall_for);
  config.print_intervals = absl::GetFlag(FLAGS_intervals);
  config.offer_deflate = absl::GetFlag(FLAGS_deflate);
  config.commit_log = absl::GetFlag(FLAGS_commit_log);
  absl::StatusOr<std::vector<int>> pids = ParsePidList(absl::GetFlag(FLAGS_server_pids));
  if (!pids.ok()) {
    std::cerr << "bad --server_pids: " << pids.status().message() << "\n";
    return 2;
  }
  config.server_pids = *std::move(pids);
  if (config.connections < 1 || config.threads < 1 || config.duration_s < 1 ||
      config.warmup_s < 0 || config.stall_clients < 0 || config.stall_clients > config.connections) {
    std::cerr << "bad flags: need connections >= 1, threads >= 1, duration >= 1, "
                 "warmup >= 0, 0 <= stall <= connections\n";
    return 2;
  }
  const int64_t fd_limit = RaiseFdLimit();
  if (fd_limit >= 0 && fd_limit < config.connections + 64) {
    std::cerr << "warning: open-files limit " << fd_limit << " is below " << config.connections
              << " connections; raise ulimit -n\n";
  }

  LoadResult result;
  try {
    result = RunLoad(config, std::cout);
  } catch (const std::exception& e) {
    std::cerr << "load failed: " << e.what() << "\n";
    return 1;
  }
  std::cout << FormatSummary(config, result) << FormatResultLine(config, result) << std::flush;

  if (result.opened == 0) return 1;
  if (absl::GetFlag(FLAGS_require_clean)) {
    const auto& h = result.healthy;
    if (h.price_updates == 0 || result.failed > 0 || h.seq_gaps > 0 || h.seq_duplicates > 0 ||
        h.seq_backwards > 0 || h.parse_errors > 0) {
      std::cout << "NOT CLEAN: see the counts above\n";
      return 3;
    }
  }
  return 0;
}

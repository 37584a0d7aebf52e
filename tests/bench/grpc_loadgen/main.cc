// grpc_loadgen: N concurrent stockfeed.v1.PriceFeed/Subscribe streams against
// price_service; reports updates/s, sequence continuity and end-to-end
// latency. See docs/benchmarks.md (scenario 6).
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/string_view.h"
#include "grpc_load_generator.h"
#include "proc_stats.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "price_service gRPC address HOST:PORT");
ABSL_FLAG(int, subscribers, 1, "Concurrent Subscribe streams");
ABSL_FLAG(int, warmup, 2, "Seconds after subscribing that are not measured");
ABSL_FLAG(int, duration, 10, "Seconds measured");
ABSL_FLAG(bool, shared_channel, false,
          "All streams on one channel (one HTTP/2 connection) instead of one channel each");
ABSL_FLAG(bool, batched, false, "Read SubscribeBatched (several updates per message) instead of Subscribe");
ABSL_FLAG(std::string, server_pids, "", "Comma-separated pids whose CPU time and RSS to report");
ABSL_FLAG(bool, intervals, true, "Print one line per second");
ABSL_FLAG(bool, require_clean, false,
          "Exit 3 unless updates arrived, no stream failed, and no seq gap, duplicate or "
          "backwards step was seen");

int main(int argc, char** argv) {
  using namespace stockfeed::bench;
  absl::SetProgramUsageMessage("gRPC Subscribe load generator for price_service");
  absl::ParseCommandLine(argc, argv);

  GrpcLoadConfig config;
  config.target = absl::GetFlag(FLAGS_target);
  config.subscribers = absl::GetFlag(FLAGS_subscribers);
  config.warmup_s = absl::GetFlag(FLAGS_warmup);
  config.duration_s = absl::GetFlag(FLAGS_duration);
  config.shared_channel = absl::GetFlag(FLAGS_shared_channel);
  config.batched = absl::GetFlag(FLAGS_batched);
  config.print_intervals = absl::GetFlag(FLAGS_intervals);
  absl::StatusOr<std::vector<int>> pids = ParsePidList(absl::GetFlag(FLAGS_server_pids));
  if (!pids.ok()) {
    std::cerr << "bad --server_pids: " << pids.status().message() << "\n";
    return 2;
  }
  config.server_pids = *std::move(pids);
  if (config.subscribers < 1 || config.duration_s < 1 || config.warmup_s < 0) {
    std::cerr << "bad flags: need subscribers >= 1, duration >= 1, warmup >= 0\n";
    return 2;
  }

  GrpcLoadResult result;
  try {
    result = RunGrpcLoad(config, std::cout);
  } catch (const std::exception& e) {
    std::cerr << "load failed: " << e.what() << "\n";
    return 1;
  }
  std::cout << FormatSummary(config, result) << FormatResultLine(config, result) << std::flush;

  if (result.opened == 0) return 1;
  if (absl::GetFlag(FLAGS_require_clean)) {
    const StreamTally& t = result.total;
    if (t.updates == 0 || result.failed > 0 || t.seq_gaps > 0 || t.seq_duplicates > 0 ||
        t.seq_backwards > 0) {
      std::cout << "NOT CLEAN: see the counts above\n";
      return 3;
    }
  }
  return 0;
}

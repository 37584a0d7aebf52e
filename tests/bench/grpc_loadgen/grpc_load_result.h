// What a grpc_loadgen run measured, and how it is reported: human lines and
// one machine-readable `RESULT {...}` line (what bench_driver.py reads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "load_result.h"
#include "stream_tally.h"

namespace stockfeed::bench {

struct GrpcLoadConfig {
  std::string target;  // host:port of price_service
  int subscribers = 1;
  int warmup_s = 2;
  int duration_s = 10;
  bool shared_channel = false;  // all streams on one HTTP/2 connection
  bool batched = false;         // SubscribeBatched instead of Subscribe
  std::vector<int> server_pids;
  bool print_intervals = true;
};

struct GrpcLoadResult {
  int64_t opened = 0;  // streams that delivered at least one update
  int64_t failed = 0;  // streams that ended before the run did
  std::vector<std::string> errors;  // a few of the failed streams' statuses
  double measured_s = 0;
  StreamTally total;
  std::vector<int64_t> per_subscriber_updates;  // measured window, index = subscriber
  double loadgen_cpu_s = 0;
  std::vector<ServerUsage> servers;
};

// True when the client used > 90% of one core: the numbers may describe it.
bool LimitedByClient(const GrpcLoadResult& result);

std::string FormatSummary(const GrpcLoadConfig& config, const GrpcLoadResult& result);
std::string FormatResultLine(const GrpcLoadConfig& config, const GrpcLoadResult& result);

}  // namespace stockfeed::bench

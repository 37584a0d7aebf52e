// What a run measured, and how it is reported: human lines and one
// machine-readable `RESULT {...}` line for scripts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "delivery_tally.h"
#include "load_config.h"

namespace stockfeed::bench {

struct ServerUsage {
  int pid = 0;
  double cpu_s = -1;  // during the measured window
  int64_t rss_start_kib = -1;      // before the first connection
  int64_t rss_connected_kib = -1;  // once all connections settled
  int64_t rss_end_kib = -1;
  int64_t rss_peak_kib = -1;  // highest once-a-second sample
};

struct LoadResult {
  int64_t opened = 0;
  int64_t failed = 0;
  int64_t closed_healthy = 0;
  int64_t closed_stalled = 0;
  double connect_s = 0;   // from the first connect to all settled
  double measured_s = 0;  // wall time of the measured window
  DeliveryTally healthy;  // connections that never stall
  DeliveryTally stalled;  // the --stall connections
  std::vector<int64_t> interval_max_us;  // healthy max latency per second
  double loadgen_cpu_s = 0;
  std::vector<ServerUsage> servers;
};

// True when the load generator itself used > 90% of a core per io thread,
// so the numbers may describe it rather than the server.
bool LimitedByLoadgen(const LoadConfig& config, const LoadResult& result);

std::string FormatSummary(const LoadConfig& config, const LoadResult& result);
std::string FormatResultLine(const LoadConfig& config, const LoadResult& result);

}  // namespace stockfeed::bench

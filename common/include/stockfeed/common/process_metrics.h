// The standard process_* metrics of Prometheus's client libraries, from /proc.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stockfeed/common/metrics.h"

namespace stockfeed::metrics {

// What /proc/PID/stat says about a process, in base units.
struct ProcStat {
  double cpu_seconds = 0;         // user + system
  double start_time_seconds = 0;  // since the epoch
  int64_t virtual_bytes = 0;
  int64_t resident_bytes = 0;
  int64_t threads = 0;
};

// Parses one /proc/PID/stat line. The command name may hold spaces and ')';
// fields resume after its last ')'. `boot_time` is /proc/stat's btime.
absl::StatusOr<ProcStat> ParseProcStat(absl::string_view line, int64_t clock_ticks_per_second,
                                       int64_t page_size, int64_t boot_time);

// Reads /proc/PID/stat of a process on this machine.
absl::StatusOr<ProcStat> ReadProcStat(int pid);

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds and process_threads, read at scrape time.
void RegisterProcessMetrics(Registry& registry);

}  // namespace stockfeed::metrics

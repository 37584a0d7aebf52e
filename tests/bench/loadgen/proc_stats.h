// CPU time and memory of this process and of the servers under test.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockfeed::bench {

// User + system CPU seconds of `pid` from /proc/PID/stat; -1 if unreadable.
double ProcessCpuSeconds(int pid);
// VmRSS of `pid` in KiB from /proc/PID/status; -1 if unreadable.
int64_t ProcessRssKib(int pid);
// User + system CPU seconds of this process, all threads (getrusage).
double SelfCpuSeconds();
// Raises the soft open-files limit to the hard one; returns the new limit.
int64_t RaiseFdLimit();
// "12,34" as pids (empty entries skipped); an error names the bad entry.
absl::StatusOr<std::vector<int>> ParsePidList(absl::string_view list);

}  // namespace stockfeed::bench

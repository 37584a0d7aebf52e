#include "proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "stockfeed/common/process_metrics.h"

namespace stockfeed::bench {

double ProcessCpuSeconds(int pid) {
  const absl::StatusOr<metrics::ProcStat> stat = metrics::ReadProcStat(pid);
  return stat.ok() ? stat->cpu_seconds : -1;
}

int64_t ProcessRssKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int64_t RaiseFdLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<int64_t>(limit.rlim_cur);
}

absl::StatusOr<std::vector<int>> ParsePidList(absl::string_view list) {
  std::vector<int> pids;
  for (absl::string_view entry : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry, &pid) || pid <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad pid '", entry, "'"));
    }
    pids.push_back(pid);
  }
  return pids;
}

}  // namespace stockfeed::bench

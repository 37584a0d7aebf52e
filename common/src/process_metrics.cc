#include "stockfeed/common/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace stockfeed::metrics {
namespace {

int64_t BootTime() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    int64_t seconds = 0;
    if (line.rfind("btime ", 0) == 0 && absl::SimpleAtoi(line.substr(6), &seconds)) return seconds;
  }
  return 0;
}

double OpenFds() {
  std::error_code ec;
  std::filesystem::directory_iterator fds("/proc/self/fd", ec);
  if (ec) return -1;
  // The iterator's own descriptor is among them.
  return static_cast<double>(std::distance(fds, std::filesystem::directory_iterator{})) - 1;
}

double MaxFds() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
  return limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur);
}

}  // namespace

absl::StatusOr<ProcStat> ParseProcStat(absl::string_view line, int64_t clock_ticks_per_second,
                                       int64_t page_size, int64_t boot_time) {
  const size_t close = line.rfind(')');
  if (close == absl::string_view::npos || clock_ticks_per_second <= 0) {
    return absl::InvalidArgumentError("not a /proc/PID/stat line");
  }
  // fields[0] is field 3 of proc(5) (state).
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line.substr(close + 1), ' ', absl::SkipEmpty());
  auto field = [&fields](size_t number, int64_t& value) {
    return number - 3 < fields.size() && absl::SimpleAtoi(fields[number - 3], &value);
  };
  int64_t utime = 0, stime = 0, threads = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  if (!field(14, utime) || !field(15, stime) || !field(20, threads) || !field(22, start_ticks) ||
      !field(23, vsize) || !field(24, rss_pages)) {
    return absl::InvalidArgumentError("truncated /proc/PID/stat line");
  }
  const double ticks = static_cast<double>(clock_ticks_per_second);
  return ProcStat{
      .cpu_seconds = static_cast<double>(utime + stime) / ticks,
      .start_time_seconds = static_cast<double>(boot_time) + static_cast<double>(start_ticks) / ticks,
      .virtual_bytes = vsize,
      .resident_bytes = rss_pages * page_size,
      .threads = threads,
  };
}

absl::StatusOr<ProcStat> ReadProcStat(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return absl::UnavailableError("cannot read " + path);
  static const int64_t boot_time = BootTime();
  return ParseProcStat(line, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), boot_time);
}

void RegisterProcessMetrics(Registry& registry) {
  // Read once per scrape per metric; /proc/self/stat is cheap and always current.
  auto stat_field = [](double (*pick)(const ProcStat&)) {
    return [pick] {
      const absl::StatusOr<ProcStat> stat = ReadProcStat(getpid());
      return stat.ok() ? pick(*stat) : -1.0;
    };
  };
  registry.AddCounterFunction("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                              stat_field([](const ProcStat& s) { return s.cpu_seconds; }));
  registry.AddGaugeFunction("process_resident_memory_bytes", "Resident memory size in bytes.",
                            stat_field([](const ProcStat& s) { return static_cast<double>(s.resident_bytes); }));
  registry.AddGaugeFunction("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                            stat_field([](const ProcStat& s) { return static_cast<double>(s.virtual_bytes); }));
  registry.AddGaugeFunction("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                            stat_field([](const ProcStat& s) { return s.start_time_seconds; }));
  registry.AddGaugeFunction("process_threads", "Number of OS threads in the process.",
                            stat_field([](const ProcStat& s) { return static_cast<double>(s.threads); }));
  registry.AddGaugeFunction("process_open_fds", "Number of open file descriptors.", OpenFds);
  registry.AddGaugeFunction("process_max_fds", "Maximum number of open file descriptors.", MaxFds);
}

}  // namespace stockfeed::metrics

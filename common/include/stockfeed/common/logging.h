#pragma once

#include <chrono>
#include <string>

#include <fmt/format.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace stockfeed {

enum class LogFormat { kText, kJson };

// Sets up the process-wide spdlog logger on stderr: one line per event (a
// message's line breaks are folded), RFC 3339 timestamps with the zone
// offset, the process name and the level. `level` is trace, debug, info,
// warn, error or off; `format` is text or json (one JSON object per line:
// ts, level, logger, msg). Also creates the "access" logger for per-request
// lines, on when `access_log` is set.
absl::Status InitLogging(absl::string_view process_name, absl::string_view level,
                         absl::string_view format = "text", bool access_log = true);

// One log line, newline included, as InitLogging's loggers write it.
std::string FormatLogLine(LogFormat format, std::chrono::system_clock::time_point time, absl::string_view logger,
                          absl::string_view level, absl::string_view message);

// One line per HTTP request (method, path, status, bytes, duration) on the
// "access" logger; `connection` identifies the client connection in logs.
void LogAccess(absl::string_view connection, absl::string_view method, absl::string_view target, unsigned status,
               uint64_t bytes, std::chrono::steady_clock::duration duration);

}  // namespace stockfeed

// Debian's abseil has its own string_view type; let log lines print it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  auto format(absl::string_view text, fmt::format_context& context) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text.data(), text.size()),
                                                    context);
  }
};

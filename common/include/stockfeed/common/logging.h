#pragma once

#include <fmt/format.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace stockfeed {

// Sets up the process-wide spdlog logger: one line per event on stderr with a
// millisecond timestamp and the process name. `level` is trace, debug, info,
// warn, error or off.
absl::Status InitLogging(absl::string_view process_name, absl::string_view level);

}  // namespace stockfeed

// Debian's abseil has its own string_view type; let log lines print it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  auto format(absl::string_view text, fmt::format_context& context) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text.data(), text.size()),
                                                    context);
  }
};

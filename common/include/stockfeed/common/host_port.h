#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace stockfeed {

// A listen or connect address given on the command line as HOST:PORT.
struct HostPort {
  std::string host;
  uint16_t port = 0;

  // "127.0.0.1:8080", "[::1]:8080" (IPv6 keeps its brackets).
  std::string ToString() const;
};

// Accepts "host:port", "[v6]:port" and ":port" (meaning 0.0.0.0). Port 0 is
// allowed: the kernel picks a free port, which tests use.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text);

// A comma-separated list of such addresses ("a:1,b:2"), at least one, no
// empty entries and no repeats (spaces around entries are ignored).
absl::StatusOr<std::vector<HostPort>> ParseHostPortList(absl::string_view text);

}  // namespace stockfeed

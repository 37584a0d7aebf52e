#include "stockfeed/common/host_port.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace stockfeed {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid address '", text, "': ", why, " (expected HOST:PORT)"));
  };
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return bad("missing ':PORT'");

  absl::string_view host = text.substr(0, colon);
  const absl::string_view port_text = text.substr(colon + 1);
  if (absl::StartsWith(host, "[")) {
    if (!absl::EndsWith(host, "]") || host.size() < 3) return bad("unbalanced IPv6 brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != absl::string_view::npos) {
    return bad("IPv6 addresses need brackets, e.g. [::1]:8080");
  }
  if (host.empty()) host = "0.0.0.0";

  uint32_t port = 0;
  if (port_text.empty() || !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

absl::StatusOr<std::vector<HostPort>> ParseHostPortList(absl::string_view text) {
  std::vector<HostPort> list;
  for (absl::string_view entry : absl::StrSplit(text, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid address list '", text, "': empty entry"));
    }
    absl::StatusOr<HostPort> address = ParseHostPort(entry);
    if (!address.ok()) return address.status();
    for (const HostPort& seen : list) {
      if (seen.host == address->host && seen.port == address->port) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid address list '", text, "': '", entry, "' is listed twice"));
      }
    }
    list.push_back(*std::move(address));
  }
  return list;
}

}  // namespace stockfeed

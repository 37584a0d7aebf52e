#include "origin_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace stockfeed::ws_gateway {
namespace {

struct Origin {
  std::string scheme;
  std::string host;  // lower case; IPv6 keeps its brackets
  int port = 0;
};

int DefaultPort(absl::string_view scheme) { return scheme == "https" || scheme == "wss" ? 443 : 80; }

// "host[:port]" → host and port (default when absent); nullopt if malformed.
std::optional<std::pair<std::string, int>> SplitAuthority(absl::string_view authority, int default_port) {
  absl::string_view host = authority;
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    absl::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty() || absl::StrContains(host, '/') || absl::StrContains(host, '@')) return std::nullopt;
  int port = default_port;
  if (!port_text.empty() && (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535)) return std::nullopt;
  return std::pair(absl::AsciiStrToLower(host), port);
}

// "scheme://host[:port]" exactly (no path, as browsers send it).
std::optional<Origin> ParseOrigin(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  const size_t separator = text.find("://");
  if (separator == absl::string_view::npos || separator == 0) return std::nullopt;
  Origin origin;
  origin.scheme = absl::AsciiStrToLower(text.substr(0, separator));
  auto authority = SplitAuthority(text.substr(separator + 3), DefaultPort(origin.scheme));
  if (!authority) return std::nullopt;
  origin.host = std::move(authority->first);
  origin.port = authority->second;
  return origin;
}

bool IsLoopback(absl::string_view host) {
  const bool ipv4_literal = host.find_first_not_of("0123456789.") == absl::string_view::npos;
  return host == "localhost" || absl::EndsWith(host, ".localhost") ||
         (ipv4_literal && absl::StartsWith(host, "127.")) || host == "[::1]";
}

}  // namespace

absl::StatusOr<OriginPolicy> OriginPolicy::Create(const std::vector<std::string>& allowed) {
  OriginPolicy policy;
  policy.loopback_ = allowed.empty();
  policy.null_origin_ = allowed.empty();
  for (const std::string& raw : allowed) {
    const absl::string_view entry = absl::StripAsciiWhitespace(raw);
    if (entry == "*") {
      policy.any_ = true;
      continue;
    }
    if (entry == "null") {
      policy.null_origin_ = true;
      continue;
    }
    Pattern pattern;
    absl::string_view host = entry;
    if (const size_t separator = entry.find("://"); separator != absl::string_view::npos) {
      pattern.scheme = absl::AsciiStrToLower(entry.substr(0, separator));
      host = entry.substr(separator + 3);
    }
    if (absl::StartsWith(host, "*.")) {
      pattern.wildcard = true;
      pattern.host = absl::AsciiStrToLower(host.substr(1));
      if (pattern.host.size() < 3 || pattern.host.find_first_of("*/:@") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("--allowed_origins: bad pattern '", entry, "'"));
      }
    } else {
      std::optional<Origin> origin = ParseOrigin(entry);
      if (!origin || absl::StrContains(origin->host, '*')) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--allowed_origins: '", entry, "' is neither an origin (https://host[:port]) nor a pattern (*.example.com)"));
      }
      pattern.scheme = origin->scheme;
      pattern.host = origin->host;
      pattern.port = origin->port;
    }
    policy.patterns_.push_back(std::move(pattern));
  }
  return policy;
}

bool OriginPolicy::Allows(absl::string_view origin_text, absl::string_view host) const {
  if (any_) return true;
  if (absl::StripAsciiWhitespace(origin_text) == "null") return null_origin_;
  const std::optional<Origin> origin = ParseOrigin(origin_text);
  if (!origin) return false;
  if (const auto own = SplitAuthority(absl::StripAsciiWhitespace(host), DefaultPort(origin->scheme));
      own && own->first == origin->host && own->second == origin->port) {
    return true;
  }
  if (loopback_ && IsLoopback(origin->host)) return true;
  for (const Pattern& pattern : patterns_) {
    if (!pattern.scheme.empty() && pattern.scheme != origin->scheme) continue;
    if (pattern.wildcard) {
      if (absl::EndsWith(origin->host, pattern.host) && origin->host.size() > pattern.host.size()) return true;
    } else if (pattern.host == origin->host && pattern.port == origin->port) {
      return true;
    }
  }
  return false;
}

std::optional<Rejection> OriginPolicy::Check(const RequestHead& head) const {
  const std::optional<absl::string_view> origin = head.Field("Origin");
  if (!origin) return std::nullopt;
  if (head.Count("Origin") == 1 && Allows(*origin, head.Field("Host").value_or(""))) return std::nullopt;
  return Rejection{403, "origin_not_allowed", "this page's origin may not use the gateway"};
}

}  // namespace stockfeed::ws_gateway

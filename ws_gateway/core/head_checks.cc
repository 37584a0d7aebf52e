#include "head_checks.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace stockfeed::ws_gateway {
namespace {

bool IsBase64Char(char c) { return absl::ascii_isalnum(c) || c == '+' || c == '/'; }

// Base64 of exactly 16 bytes: 22 characters, the last of which carries only
// two bits (so one of A, Q, g, w), then "==".
bool IsWebSocketKey(absl::string_view key) {
  key = absl::StripAsciiWhitespace(key);
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (size_t i = 0; i < 22; ++i) {
    if (!IsBase64Char(key[i])) return false;
  }
  const char last = key[21];
  return last == 'A' || last == 'Q' || last == 'g' || last == 'w';
}

}  // namespace

std::optional<Rejection> CheckHeadLimits(const RequestHead& head, const HeadLimits& limits) {
  // "GET " + target + " HTTP/1.1"
  const size_t line = head.method.size() + 1 + head.target.size() + 9;
  if (line > limits.max_request_line_bytes) {
    return Rejection{414, "request_line_too_long",
                     absl::StrCat("the request line is longer than ", limits.max_request_line_bytes, " bytes")};
  }
  if (head.fields.size() > limits.max_header_count) {
    return Rejection{431, "too_many_headers",
                     absl::StrCat("more than ", limits.max_header_count, " header fields")};
  }
  return std::nullopt;
}

std::optional<Rejection> CheckHandshakeFields(const RequestHead& head) {
  const size_t hosts = head.Count("Host");
  if (hosts > 1 || (head.version >= 11 && hosts == 0) ||
      (hosts == 1 && absl::StripAsciiWhitespace(*head.Field("Host")).empty() && head.version >= 11)) {
    return Rejection{400, "bad_host", "HTTP/1.1 requests need exactly one non-empty Host header"};
  }
  if (!head.upgrade) return std::nullopt;
  if (head.Count("Sec-WebSocket-Key") != 1 || !IsWebSocketKey(*head.Field("Sec-WebSocket-Key"))) {
    return Rejection{400, "bad_websocket_key", "Sec-WebSocket-Key must be the base64 of 16 bytes"};
  }
  return std::nullopt;
}

}  // namespace stockfeed::ws_gateway

#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// What the admission checks see of an HTTP request: the head only, as views
// into the parser's buffers (valid while the request is).
struct RequestHead {
  absl::string_view method;
  absl::string_view target;
  unsigned version = 11;  // 10 or 11
  bool upgrade = false;   // a WebSocket upgrade request
  std::vector<std::pair<absl::string_view, absl::string_view>> fields;

  // The value of the only field named `name` (case-insensitive); nullopt when
  // absent. A repeated field reads as its first value (see Count()).
  std::optional<absl::string_view> Field(absl::string_view name) const;
  size_t Count(absl::string_view name) const;
  // The target's path, without the query.
  absl::string_view Path() const { return target.substr(0, target.find('?')); }
};

// A request the gateway refuses, with the status and short client-facing
// reason it answers, and a log line's worth of detail for the operator.
struct Rejection {
  int status = 400;
  std::string code;     // machine-readable, documented in docs/security.md
  std::string message;  // for the client: short, nothing internal
};

}  // namespace stockfeed::ws_gateway

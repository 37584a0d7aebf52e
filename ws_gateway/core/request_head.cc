#include "request_head.h"

#include "absl/strings/match.h"

namespace stockfeed::ws_gateway {

std::optional<absl::string_view> RequestHead::Field(absl::string_view name) const {
  for (const auto& [key, value] : fields) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

size_t RequestHead::Count(absl::string_view name) const {
  size_t count = 0;
  for (const auto& field : fields) count += absl::EqualsIgnoreCase(field.first, name) ? 1 : 0;
  return count;
}

}  // namespace stockfeed::ws_gateway

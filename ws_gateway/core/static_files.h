#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// Maps a request target to a file under `web_root`, or nullopt when the
// target is not a plain path inside it: "..", encoded "%2e%2e", backslashes,
// NUL bytes and absolute-path tricks are all refused. "/" means index.html;
// the query string is ignored.
std::optional<std::string> ResolveStaticPath(absl::string_view web_root, absl::string_view target);

// Content-Type for a file name, by extension.
absl::string_view ContentTypeFor(absl::string_view path);

// Cache-Control for a URL path: the page and scripts revalidate every load
// (they change with each deploy); /vendor/ libraries may be cached for a day.
absl::string_view CacheControlFor(absl::string_view url_path);

}  // namespace stockfeed::ws_gateway

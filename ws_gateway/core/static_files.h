#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// Maps a request target to a file under `web_root`, or nullopt when the
// target is not a plain path inside it: "..", encoded "%2e%2e", backslashes,
// NUL bytes, dot files, node_modules/ and absolute-path tricks are all
// refused. "/" means index.html; the query string is ignored.
std::optional<std::string> ResolveStaticPath(absl::string_view web_root, absl::string_view target);

// Content-Type for a file name, by extension; nullopt for any other file:
// only the dashboard's own kinds of file are served (never package.json,
// build.sh, …). ws_gateway/CMakeLists.txt installs the same extensions.
std::optional<absl::string_view> ServedContentType(absl::string_view path);

// What the opened file turned out to be, and where it really is (symlinks
// resolved); `real_root` is the web root with symlinks resolved.
enum class FileKind { kRegular, kDirectory, kOther };
enum class StaticVerdict { kServe, kForbidden, kNotFound };
// Serves only regular files really inside the root: a symlink out of it is
// "not found" (its existence is not revealed), and directories, FIFOs,
// devices and sockets are "forbidden".
StaticVerdict JudgeOpenedFile(FileKind kind, absl::string_view real_path, absl::string_view real_root);

// Cache-Control for a URL path: the page and scripts revalidate every load
// (they change with each deploy); /vendor/ libraries may be cached for a day.
absl::string_view CacheControlFor(absl::string_view url_path);

}  // namespace stockfeed::ws_gateway

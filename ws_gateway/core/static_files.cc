#include "static_files.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace stockfeed::ws_gateway {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = HexValue(text[i + 1]), low = HexValue(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

}  // namespace

std::optional<std::string> ResolveStaticPath(absl::string_view web_root, absl::string_view target) {
  const absl::string_view raw_path = target.substr(0, target.find_first_of("?#"));
  if (!absl::StartsWith(raw_path, "/")) return std::nullopt;
  const std::optional<std::string> path = PercentDecode(raw_path);
  if (!path) return std::nullopt;

  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(*path, '/', absl::SkipEmpty())) {
    // Decoded once only: a literal "%2e" that survives is a file name, but
    // anything that could climb or escape is refused outright.
    if (part == "." || part == ".." || absl::StrContains(part, '\\') ||
        absl::StrContains(part, '\0') || absl::StartsWith(part, ".") || part == "node_modules") {
      return std::nullopt;
    }
    parts.push_back(part);
  }
  if (parts.empty()) parts.push_back("index.html");
  return absl::StrCat(web_root, absl::EndsWith(web_root, "/") ? "" : "/", absl::StrJoin(parts, "/"));
}

std::optional<absl::string_view> ServedContentType(absl::string_view path) {
  struct Entry {
    absl::string_view extension, type;
  };
  static constexpr Entry kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
      // The bundled chart library's licence notices (web/vendor/).
      {".LICENSE", "text/plain; charset=utf-8"},
      {".NOTICE", "text/plain; charset=utf-8"},
  };
  for (const Entry& entry : kTypes) {
    if (absl::EndsWith(path, entry.extension)) return entry.type;
  }
  return std::nullopt;
}

StaticVerdict JudgeOpenedFile(FileKind kind, absl::string_view real_path, absl::string_view real_root) {
  const bool inside = !real_root.empty() && real_path.size() > real_root.size() && absl::StartsWith(real_path, real_root) &&
                      (absl::EndsWith(real_root, "/") || real_path[real_root.size()] == '/');
  if (!inside) return StaticVerdict::kNotFound;
  if (kind != FileKind::kRegular) return StaticVerdict::kForbidden;
  return StaticVerdict::kServe;
}

absl::string_view CacheControlFor(absl::string_view url_path) {
  if (absl::StartsWith(url_path, "/vendor/")) return "public, max-age=86400";
  return "no-cache";
}

}  // namespace stockfeed::ws_gateway

#include "load_config.h"

namespace stockfeed::bench {

std::optional<WsUrl> ParseWsUrl(std::string_view url) {
  constexpr std::string_view kScheme = "ws://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const size_t target_start = url.find_first_of("/?");
  std::string_view authority = url.substr(0, target_start);
  WsUrl out;
  if (target_start == std::string_view::npos) {
    out.target = "/";
  } else {
    // "ws://h:1?x" means path "/" with query "x".
    out.target = url[target_start] == '?' ? "/" : "";
    out.target += url.substr(target_start);
  }
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    out.host = std::string(authority);
    out.port = "80";
  } else {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty() || out.port.empty()) return std::nullopt;
  for (char c : out.port) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return out;
}

}  // namespace stockfeed::bench

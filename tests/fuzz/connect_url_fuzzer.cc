// libFuzzer target: a request target (path and query) as every route reads
// it: the WebSocket connect parameters, the static-file mapping, and the
// SSE resume header (whose value is as free-form as a target).
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/control_message.h"
#include "core/sse.h"
#include "core/static_files.h"
#include "fuzz_check.h"

namespace {

namespace gw = stockfeed::ws_gateway;

constexpr size_t kMaxSymbols = 256;  // the gateway's defaults
constexpr size_t kMaxHistory = 100;
constexpr absl::string_view kWebRoot = "/srv/stockfeed/web";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view target(reinterpret_cast<const char*>(data), size);

  std::variant<gw::ConnectParams, gw::ControlError> params = gw::ParseConnectParams(target, kMaxSymbols, kMaxHistory);
  if (const gw::ConnectParams* connect = std::get_if<gw::ConnectParams>(&params)) {
    FUZZ_CHECK(!connect->symbols.has_value() || connect->symbols->size() <= kMaxSymbols);
    FUZZ_CHECK(connect->history <= kMaxHistory);
    FUZZ_CHECK(gw::IsValidMaxRate(connect->max_rate));
  } else {
    const gw::ControlError& error = std::get<gw::ControlError>(params);
    FUZZ_CHECK(!error.code.empty());
    FUZZ_CHECK(error.message.size() < 1024);  // becomes the 400's body
  }
  gw::IsWebSocketPath(target);

  // Whatever the target, a file to serve is a plain path under the root.
  if (std::optional<std::string> path = gw::ResolveStaticPath(kWebRoot, target)) {
    const absl::string_view resolved(*path);
    FUZZ_CHECK(resolved.substr(0, kWebRoot.size() + 1) == absl::StrCat(kWebRoot, "/"));
    for (absl::string_view segment : absl::StrSplit(resolved.substr(kWebRoot.size() + 1), '/')) {
      FUZZ_CHECK(!segment.empty());
      FUZZ_CHECK(segment[0] != '.');  // ".", "..", dot files
      FUZZ_CHECK(segment != "node_modules");
      FUZZ_CHECK(segment.find('\\') == absl::string_view::npos);
      FUZZ_CHECK(segment.find('\0') == absl::string_view::npos);
    }
    gw::ServedContentType(*path);
  }
  gw::CacheControlFor(target.substr(0, target.find('?')));

  absl::StatusOr<std::optional<uint64_t>> last_event_id = gw::ParseLastEventId(target);
  if (last_event_id.ok() && last_event_id->has_value()) FUZZ_CHECK(!target.empty());
  return 0;
}

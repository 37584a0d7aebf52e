#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "control_message.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::ws_gateway {

// GET /api/v1/bars: the browser's way to price_service's GetBars, as JSON
// (docs/protocol.md). Parsing, encoding and cache rules; no sockets.
inline constexpr absl::string_view kBarsPath = "/api/v1/bars";

struct BarsParams {
  std::string symbol;
  std::string source;
  std::string interval;  // "1s", "1m", "5m" or "1h"
  uint32_t interval_seconds = 0;
  int64_t from = 0;  // Unix seconds; 0 = as far back as `limit` allows
  int64_t to = 0;    // Unix seconds, exclusive; 0 = now
  uint32_t limit = 0;  // 0 = the service's default (500)
};

// "/api/v1/bars?symbol=AAPL&source=finnhub&interval=1m&from=…&to=…&limit=…".
// symbol, source and interval are required; unknown parameters are ignored
// (like the WebSocket URL); a bad value is an error (HTTP 400) naming it.
std::variant<BarsParams, ControlError> ParseBarsQuery(absl::string_view target);

v1::GetBarsRequest ToGetBarsRequest(const BarsParams& params);

// {"symbol","source","interval","interval_seconds",
//  "session":{"start","time_zone","open"?},
//  "bars":[{"time","open","high","low","close","count"},…]}; times in Unix seconds.
std::string EncodeBars(const BarsParams& params, const v1::GetBarsResponse& response);

// Bars that ended before `now` no longer change: cacheable for five minutes
// (by shared caches too unless the request carried a token). A range that
// reaches the current bar must be revalidated (ETag) every time.
std::string BarsCacheControl(const BarsParams& params, absl::Time now, bool with_token);

// A strong entity tag of `body`: "\"<16 hex digits>\"".
std::string EntityTag(absl::string_view body);
// Whether an If-None-Match header value names `etag` (or is "*").
bool EntityTagMatches(absl::string_view if_none_match, absl::string_view etag);

}  // namespace stockfeed::ws_gateway

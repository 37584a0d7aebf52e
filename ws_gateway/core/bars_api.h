#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "control_message.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::ws_gateway {

// GET /api/v1/bars: the browser's way to price_service's GetBars, as JSON
// (docs/protocol.md). Parsing, encoding and cache rules; no sockets.
inline constexpr absl::string_view kBarsPath = "/api/v1/bars";

// A batch (pairs=) asks for at most this many symbol/source pairs, and at
// most kMaxBatchBars intervals in all (pairs × limit): one answer stays about
// as large as two single ones at their limit.
inline constexpr size_t kMaxBarsPairs = 64;
inline constexpr uint32_t kMaxBatchBars = 10'000;

struct BarsPair {
  std::string symbol;
  std::string source;
};

struct BarsParams {
  std::vector<BarsPair> pairs;  // one for symbol=&source=, 1..kMaxBarsPairs for pairs=
  bool batch = false;           // asked with pairs=: answered as {"results":[…]}
  std::string interval;  // "1s", "1m", "5m" or "1h"
  uint32_t interval_seconds = 0;
  int64_t from = 0;  // Unix seconds; 0 = as far back as `limit` allows
  int64_t to = 0;    // Unix seconds, exclusive; 0 = now
  uint32_t limit = 0;  // 0 = the service's default (500)
};

// "/api/v1/bars?symbol=AAPL&source=finnhub&interval=1m&from=…&to=…&limit=…",
// or for several pairs at once "…?pairs=AAPL:finnhub,MSFT:iex&interval=…".
// interval and either symbol and source or pairs are required; unknown
// parameters are ignored (like the WebSocket URL); a bad value is an error
// (HTTP 400) naming it.
std::variant<BarsParams, ControlError> ParseBarsQuery(absl::string_view target);

v1::GetBarsRequest ToGetBarsRequest(const BarsParams& params, const BarsPair& pair);

// {"symbol","source","interval","interval_seconds",
//  "session":{"start","time_zone","open"?},
//  "bars":[{"time","open","high","low","close","count"},…]}; times in Unix seconds.
std::string EncodeBars(const BarsParams& params, const v1::GetBarsResponse& response);
// A batch: {"interval","interval_seconds","results":[<one pair as above,
// without interval>,…]}, `responses` in the order of params.pairs.
std::string EncodeBarsBatch(const BarsParams& params, const std::vector<v1::GetBarsResponse>& responses);

// Bars that ended before `now` no longer change: cacheable for five minutes
// (by shared caches too unless the request carried a token). A range that
// reaches the current bar must be revalidated (ETag) every time.
std::string BarsCacheControl(const BarsParams& params, absl::Time now, bool with_token);

// A strong entity tag of `body`: "\"<16 hex digits>\"".
std::string EntityTag(absl::string_view body);
// Whether an If-None-Match header value names `etag` (or is "*").
bool EntityTagMatches(absl::string_view if_none_match, absl::string_view etag);

}  // namespace stockfeed::ws_gateway

#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"

namespace stockfeed {

// Longest symbol or source name accepted anywhere (flags, gRPC, WebSocket).
inline constexpr size_t kMaxNameLength = 32;

// A symbol is 1..32 characters from [A-Za-z0-9._-] plus '^', '=', '/' (index,
// future and pair tickers such as ^GSPC, ES=F, BTC/USD). A source is 1..32
// characters from [a-z0-9_.-]. The error names the offending value.
absl::Status ValidateSymbol(absl::string_view symbol);
absl::Status ValidateSource(absl::string_view source);

// "AAPL, MSFT,,NVDA" -> {"AAPL","MSFT","NVDA"}: comma separated, blanks trimmed, empties dropped.
std::vector<std::string> SplitNameList(absl::string_view text);

}  // namespace stockfeed

#pragma once

#include <map>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::tail {

// "live", "snapshot", "replay" (or "unspecified").
absl::string_view KindName(v1::UpdateKind kind);

// One JSON object per line, keys in a fixed order:
// {"seq":7,"epoch":"sim-…","kind":"live","symbol":"AAPL","source":"finnhub","price":189.23,"event_time_us":…}
std::string FormatJsonLine(const v1::PriceUpdate& update);

// CSV (RFC 4180) with the same columns as the JSON keys.
std::string CsvHeader();
std::string FormatCsvLine(const v1::PriceUpdate& update);

// {"symbols":[…],"sources":[…]}
std::string FormatSymbolsJson(const v1::ListSymbolsResponse& response);

// The latest price per symbol/source, drawn as a text table that a terminal
// redraws in place.
class LatestTable {
 public:
  void Add(const v1::PriceUpdate& update);
  // The table, rows sorted by symbol then source; `change` is against the
  // previous price of the same pair.
  std::string Render() const;
  // Render() preceded by "cursor home, clear screen".
  std::string RenderForTerminal() const;

 private:
  struct Row {
    v1::PriceUpdate latest;
    double previous_price = 0;
  };
  std::map<std::pair<std::string, std::string>, Row> rows_;
};

}  // namespace stockfeed::tail

#include "tail/price_format.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "boost/json/serialize.hpp"
#include "boost/json/string.hpp"

namespace stockfeed::tail {
namespace {

// Shortest text that reads back as the same double: 189.23, not 189.22999999999999.
std::string FormatPrice(double price) {
  if (!std::isfinite(price)) return "null";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, price);
  return std::string(buffer, result.ptr);
}

std::string JsonString(absl::string_view text) {
  return boost::json::serialize(boost::json::string(text.data(), text.size()));
}

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\r\n") == absl::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string JsonStringArray(const google::protobuf::RepeatedPtrField<std::string>& items) {
  return absl::StrCat("[", absl::StrJoin(items, ",", [](std::string* out, const std::string& item) {
                        out->append(JsonString(item));
                      }), "]");
}

}  // namespace

absl::string_view KindName(v1::UpdateKind kind) {
  switch (kind) {
    case v1::UPDATE_KIND_LIVE:
      return "live";
    case v1::UPDATE_KIND_SNAPSHOT:
      return "snapshot";
    case v1::UPDATE_KIND_REPLAY:
      return "replay";
    default:
      return "unspecified";
  }
}

std::string FormatJsonLine(const v1::PriceUpdate& update) {
  return absl::StrCat("{\"seq\":", update.sequence(), ",\"epoch\":", JsonString(update.epoch()),
                      ",\"kind\":\"", KindName(update.kind()), "\",\"symbol\":", JsonString(update.symbol()),
                      ",\"source\":", JsonString(update.source()), ",\"price\":", FormatPrice(update.price()),
                      ",\"event_time_us\":", update.event_time_us(), "}");
}

std::string CsvHeader() { return "seq,epoch,kind,symbol,source,price,event_time_us"; }

std::string FormatCsvLine(const v1::PriceUpdate& update) {
  return absl::StrCat(update.sequence(), ",", CsvField(update.epoch()), ",", KindName(update.kind()), ",",
                      CsvField(update.symbol()), ",", CsvField(update.source()), ",",
                      FormatPrice(update.price()), ",", update.event_time_us());
}

std::string FormatSymbolsJson(const v1::ListSymbolsResponse& response) {
  return absl::StrCat("{\"symbols\":", JsonStringArray(response.symbols()),
                      ",\"sources\":", JsonStringArray(response.sources()), "}");
}

void LatestTable::Add(const v1::PriceUpdate& update) {
  Row& row = rows_[{update.symbol(), update.source()}];
  row.previous_price = row.latest.price() > 0 ? row.latest.price() : update.price();
  row.latest = update;
}

std::string LatestTable::Render() const {
  std::string out = absl::StrFormat("%-10s %-14s %12s %9s %12s\n", "SYMBOL", "SOURCE", "PRICE", "CHANGE", "SEQ");
  for (const auto& [key, row] : rows_) {
    const double change = row.latest.price() - row.previous_price;
    absl::StrAppendFormat(&out, "%-10s %-14s %12.4f %+9.4f %12d\n", key.first, key.second,
                          row.latest.price(), change, row.latest.sequence());
  }
  return out;
}

std::string LatestTable::RenderForTerminal() const { return absl::StrCat("\x1b[H\x1b[2J", Render()); }

}  // namespace stockfeed::tail

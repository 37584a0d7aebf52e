#include "feeder/csv_prices.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "stockfeed/common/symbols.h"

namespace stockfeed::feeder {

constexpr absl::string_view kHeader = "symbol,price,source,timestamp";

absl::StatusOr<PriceRow> ParseCsvLine(absl::string_view line) {
  const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
  if (fields.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected 4 fields (", kHeader, "), got ", fields.size()));
  }
  PriceRow row;
  row.symbol = std::string(absl::StripAsciiWhitespace(fields[0]));
  row.source = std::string(absl::StripAsciiWhitespace(fields[2]));
  if (absl::Status s = ValidateSymbol(row.symbol); !s.ok()) return s;
  if (absl::Status s = ValidateSource(row.source); !s.ok()) return s;
  const absl::string_view price = absl::StripAsciiWhitespace(fields[1]);
  if (!absl::SimpleAtod(price, &row.price) || !std::isfinite(row.price) || row.price <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("price '", price, "' is not a finite number > 0"));
  }
  const absl::string_view timestamp = absl::StripAsciiWhitespace(fields[3]);
  if (!absl::SimpleAtoi(timestamp, &row.timestamp) || row.timestamp < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("timestamp '", timestamp, "' is not Unix seconds (an integer >= 0)"));
  }
  return row;
}

absl::StatusOr<CsvPriceReader> CsvPriceReader::Open(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open for reading"));
  return CsvPriceReader(path, std::move(in));
}

absl::StatusOr<std::optional<PriceRow>> CsvPriceReader::Next() {
  std::string line;
  while (std::getline(in_, line)) {
    ++line_number_;
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty()) continue;
    if (!header_seen_) {
      header_seen_ = true;
      if (text != kHeader) {
        return absl::InvalidArgumentError(absl::StrCat(path_, ":", line_number_, ": header is '",
                                                       text, "', expected '", kHeader, "'"));
      }
      continue;
    }
    absl::StatusOr<PriceRow> row = ParseCsvLine(text);
    if (!row.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ":", line_number_, ": ", row.status().message()));
    }
    return std::optional<PriceRow>(*std::move(row));
  }
  if (in_.bad()) return absl::DataLossError(absl::StrCat(path_, ": read error"));
  if (!header_seen_) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": empty file, expected header '", kHeader, "'"));
  }
  return std::optional<PriceRow>();
}

}  // namespace stockfeed::feeder

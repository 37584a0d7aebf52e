#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockfeed::feeder {

// One row of stock_prices as the workshop's aggregator writes it.
struct PriceRow {
  std::string symbol;
  double price = 0;
  std::string source;
  int64_t timestamp = 0;  // Unix seconds
};

// Parses "symbol,price,source,timestamp" (no quoting: none of the fields may
// contain a comma). Checks what the database would reject, so a bad line is
// reported with its number instead of failing a whole batch later.
absl::StatusOr<PriceRow> ParseCsvLine(absl::string_view line);

// Reads a CSV file with the header `symbol,price,source,timestamp`. Blank
// lines are skipped. Errors read "FILE:LINE: reason".
class CsvPriceReader {
 public:
  static absl::StatusOr<CsvPriceReader> Open(const std::string& path);

  // The next row, std::nullopt at the end of the file, or an error.
  absl::StatusOr<std::optional<PriceRow>> Next();

 private:
  CsvPriceReader(std::string path, std::ifstream in) : path_(std::move(path)), in_(std::move(in)) {}

  std::string path_;
  std::ifstream in_;
  int line_number_ = 0;
  bool header_seen_ = false;
};

}  // namespace stockfeed::feeder

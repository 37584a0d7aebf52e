// libFuzzer target: one stock_prices row as PostgreSQL hands it to the
// reader (text columns, any of them NULL), through DecodeStoredPrice.
// Input: a NULL mask byte, then the five columns separated by '\x1f'.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/str_split.h"
#include "core/stored_price.h"
#include "fuzz_check.h"
#include "stockfeed/common/symbols.h"

using stockfeed::price_service::StoredPrice;
using stockfeed::price_service::StoredPriceText;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t nulls = data[0];
  const absl::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::array<std::optional<absl::string_view>, 5> columns;
  size_t i = 0;
  for (absl::string_view column : absl::StrSplit(rest, absl::MaxSplits('\x1f', 4))) {
    if ((nulls & (1u << i)) == 0) columns[i] = column;
    ++i;
  }
  const absl::StatusOr<StoredPrice> row =
      stockfeed::price_service::DecodeStoredPrice(StoredPriceText{columns[0], columns[1], columns[2], columns[3],
                                                                  columns[4]});
  if (!row.ok()) {
    FUZZ_CHECK(!columns[0].has_value() || !row.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(row->status.message().size() < 256);  // logged: bounded whatever the row holds
  if (row->status.ok()) {
    // What reaches subscribers passed every check made anywhere else.
    FUZZ_CHECK(row->update.sequence() == row->sequence);
    FUZZ_CHECK(std::isfinite(row->update.price()));
    FUZZ_CHECK(stockfeed::ValidateSymbol(row->update.symbol()).ok());
    FUZZ_CHECK(stockfeed::ValidateSource(row->update.source()).ok());
  }
  return 0;
}

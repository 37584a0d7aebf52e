#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::price_service {

// Whether a price read from the database may be published. Rows inserted
// straight into stock_prices bypass the feeder's checks, so they get the
// same ones as every other way in: symbol and source syntax (common/symbols)
// and a finite price. The error names the field.
absl::Status ValidateStoredPrice(const v1::PriceUpdate& update);

// The reader's columns of one stock_prices row in PostgreSQL's text format
// (nullopt: NULL): seq, symbol, price, source, inserted_at in microseconds.
struct StoredPriceText {
  std::optional<absl::string_view> sequence, symbol, price, source, event_time_us;
};

// One row decoded. `status` says why it must be skipped (a NULL or
// unreadable field, or ValidateStoredPrice); its sequence still moves the
// reader's cursor, so a skipped row is a gap subscribers see.
struct StoredPrice {
  uint64_t sequence = 0;
  absl::Status status;
  v1::PriceUpdate update;  // meaningful only when status is ok
};

// Decodes and validates one row. An error only when the sequence itself is
// NULL or not a decimal number: the reader selects `seq > cursor`, so that
// is a broken invariant, not a bad row.
absl::StatusOr<StoredPrice> DecodeStoredPrice(const StoredPriceText& row);

}  // namespace stockfeed::price_service

#pragma once

#include "absl/status/status.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::price_service {

// Whether a price read from the database may be published. Rows inserted
// straight into stock_prices bypass the feeder's checks, so they get the
// same ones as every other way in: symbol and source syntax (common/symbols)
// and a finite price. The error names the field.
absl::Status ValidateStoredPrice(const v1::PriceUpdate& update);

}  // namespace stockfeed::price_service

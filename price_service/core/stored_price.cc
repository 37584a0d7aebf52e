#include "core/stored_price.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "stockfeed/common/symbols.h"

namespace stockfeed::price_service {

absl::Status ValidateStoredPrice(const v1::PriceUpdate& update) {
  if (absl::Status s = ValidateSymbol(update.symbol()); !s.ok()) return s;
  if (absl::Status s = ValidateSource(update.source()); !s.ok()) return s;
  if (!std::isfinite(update.price())) {
    return absl::InvalidArgumentError(absl::StrCat("price ", update.price(), " is not a finite number"));
  }
  return absl::OkStatus();
}

}  // namespace stockfeed::price_service

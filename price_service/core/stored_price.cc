#include "core/stored_price.h"

#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "stockfeed/common/symbols.h"

namespace stockfeed::price_service {
namespace {

absl::Status Unreadable(absl::string_view field, const std::optional<absl::string_view>& text) {
  if (!text.has_value()) return absl::InvalidArgumentError(absl::StrCat(field, " is NULL"));
  // Bounded: the text comes from whoever wrote the row.
  return absl::InvalidArgumentError(absl::StrCat(field, " '", absl::CEscape(text->substr(0, 40)),
                                                 text->size() > 40 ? "…" : "", "' is not a number"));
}

}  // namespace

absl::Status ValidateStoredPrice(const v1::PriceUpdate& update) {
  if (absl::Status s = ValidateSymbol(update.symbol()); !s.ok()) return s;
  if (absl::Status s = ValidateSource(update.source()); !s.ok()) return s;
  if (!std::isfinite(update.price())) {
    return absl::InvalidArgumentError(absl::StrCat("price ", update.price(), " is not a finite number"));
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredPrice> DecodeStoredPrice(const StoredPriceText& row) {
  StoredPrice decoded;
  if (!row.sequence.has_value() || !absl::SimpleAtoi(*row.sequence, &decoded.sequence)) {
    return Unreadable("seq", row.sequence);
  }
  v1::PriceUpdate& update = decoded.update;
  update.set_sequence(decoded.sequence);
  double price = 0;
  int64_t event_time_us = 0;
  if (!row.price.has_value() || !absl::SimpleAtod(*row.price, &price)) {
    decoded.status = Unreadable("price", row.price);
  } else if (!row.event_time_us.has_value() || !absl::SimpleAtoi(*row.event_time_us, &event_time_us)) {
    decoded.status = Unreadable("inserted_at", row.event_time_us);
  } else if (!row.symbol.has_value()) {
    decoded.status = absl::InvalidArgumentError("symbol is NULL");
  } else if (!row.source.has_value()) {
    decoded.status = absl::InvalidArgumentError("source is NULL");
  } else {
    update.set_symbol(std::string(*row.symbol));
    update.set_price(price);
    update.set_source(std::string(*row.source));
    update.set_event_time_us(event_time_us);
    decoded.status = ValidateStoredPrice(update);
  }
  return decoded;
}

}  // namespace stockfeed::price_service

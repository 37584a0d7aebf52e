#pragma once

#include <string>
#include <string_view>

namespace stockfeed::price_service {

// Appends one PriceUpdate, given as its protobuf wire encoding, as one
// element of PriceUpdateBatch.updates (field 1, length-delimited). A batch
// message is nothing but such elements one after another, so every stream's
// batches are built by concatenating bytes that were encoded once.
void AppendBatchEntry(std::string_view encoded_update, std::string& out);

}  // namespace stockfeed::price_service

#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace stockfeed::price_service {

// The most updates one SubscribeBatched message holds for a --stream_batch:
// never more than 4,096 (~0.6 MB at the longest names, far below a client's
// default 4 MB receive limit).
inline size_t BatchLimit(size_t stream_batch) { return std::min<size_t>(stream_batch, 4096); }

// Appends one PriceUpdate, given as its protobuf wire encoding, as one
// element of PriceUpdateBatch.updates (field 1, length-delimited). A batch
// message is nothing but such elements one after another, so every stream's
// batches are built by concatenating bytes that were encoded once.
void AppendBatchEntry(std::string_view encoded_update, std::string& out);

}  // namespace stockfeed::price_service

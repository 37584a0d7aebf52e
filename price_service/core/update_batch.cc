#include "update_batch.h"

#include <cstdint>

namespace stockfeed::price_service {

void AppendBatchEntry(std::string_view encoded_update, std::string& out) {
  constexpr char kUpdatesTag = (1 << 3) | 2;  // field 1, wire type 2 (length-delimited)
  out.push_back(kUpdatesTag);
  for (uint64_t size = encoded_update.size();; size >>= 7) {  // varint length
    if (size < 0x80) {
      out.push_back(static_cast<char>(size));
      break;
    }
    out.push_back(static_cast<char>((size & 0x7f) | 0x80));
  }
  out.append(encoded_update);
}

}  // namespace stockfeed::price_service

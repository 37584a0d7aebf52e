#include "core/client_frame_boundary.h"

#include <algorithm>
#include <limits>

namespace stockfeed::ws_gateway {

size_t ClientFrameBoundary::HeaderSize() const {
  const uint8_t length7 = header_[1] & 0x7f;
  const bool masked = (header_[1] & 0x80) != 0;
  return 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (masked ? 4 : 0);
}

uint64_t ClientFrameBoundary::PayloadSize() const {
  const uint8_t length7 = header_[1] & 0x7f;
  if (length7 < 126) return length7;
  const size_t digits = length7 == 126 ? 2 : 8;
  uint64_t size = 0;
  for (size_t i = 0; i < digits; ++i) size = (size << 8) | header_[2 + i];
  return size;
}

size_t ClientFrameBoundary::ReadLimit() const {
  if (payload_left_ > 0) {
    return static_cast<size_t>(std::min<uint64_t>(payload_left_, std::numeric_limits<size_t>::max()));
  }
  return header_have_ < 2 ? 2 - header_have_ : HeaderSize() - header_have_;
}

void ClientFrameBoundary::Consumed(absl::string_view bytes) {
  while (!bytes.empty()) {
    if (payload_left_ > 0) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(payload_left_, bytes.size()));
      payload_left_ -= take;
      bytes.remove_prefix(take);
      continue;
    }
    header_[header_have_++] = static_cast<uint8_t>(bytes.front());
    bytes.remove_prefix(1);
    if (header_have_ >= 2 && header_have_ == HeaderSize()) {
      payload_left_ = PayloadSize();
      header_have_ = 0;
    }
  }
}

}  // namespace stockfeed::ws_gateway

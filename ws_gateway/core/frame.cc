#include "frame.h"

#include "deflate.h"
#include "sse.h"

namespace stockfeed::ws_gateway {

size_t EncodeTextFrameHeader(uint64_t payload_size, char* out, bool compressed) {
  out[0] = static_cast<char>(compressed ? 0xC1 : 0x81);  // FIN (+ RSV1) + opcode 1 (text)
  if (payload_size < 126) {
    out[1] = static_cast<char>(payload_size);
    return 2;
  }
  if (payload_size <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<char>(payload_size >> 8);
    out[3] = static_cast<char>(payload_size);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>(payload_size >> (56 - 8 * i));
  return 10;
}

Frame::Frame(absl::string_view payload, uint64_t seq, absl::string_view symbol, absl::string_view source)
    : seq_(seq), symbol_(symbol), source_(source) {
  char header[10];
  header_size_ = static_cast<uint8_t>(EncodeTextFrameHeader(payload.size(), header));
  bytes_.reserve(header_size_ + payload.size() + 1);
  bytes_.append(header, header_size_);
  bytes_.append(payload.data(), payload.size());
  bytes_.push_back(',');
}

std::shared_ptr<const Frame> Frame::Price(std::string payload, uint64_t seq, absl::string_view symbol,
                                          absl::string_view source, bool deflate, int64_t event_time_us) {
  auto frame = std::make_shared<Frame>(payload, seq, symbol, source);
  frame->event_time_us_ = event_time_us;
  if (deflate) {
    const std::string compressed = DeflateMessage(payload);
    char header[10];
    const size_t header_size = EncodeTextFrameHeader(compressed.size(), header, /*compressed=*/true);
    frame->deflated_.reserve(header_size + compressed.size());
    frame->deflated_.append(header, header_size);
    frame->deflated_.append(compressed);
  }
  return frame;
}

absl::string_view Frame::sse_event() const {
  if (sse_event_.empty()) sse_event_ = EncodeSseEvent("price", payload(), seq_);
  return sse_event_;
}

std::shared_ptr<const Frame> Frame::Message(absl::string_view payload) {
  return std::make_shared<const Frame>(payload, 0, "", "");
}

}  // namespace stockfeed::ws_gateway

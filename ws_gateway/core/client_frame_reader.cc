#include "core/client_frame_reader.h"

#include <algorithm>

namespace stockfeed::ws_gateway {
namespace {

constexpr uint8_t kOpContinuation = 0x0;
constexpr uint8_t kOpText = 0x1;
constexpr uint8_t kOpBinary = 0x2;
constexpr uint8_t kOpClose = 0x8;
constexpr uint8_t kOpPing = 0x9;
constexpr uint8_t kOpPong = 0xa;
constexpr uint64_t kMaxControlPayload = 125;

// The codes a peer may send in a close frame (RFC 6455 §7.4), as Beast
// accepts them.
bool IsValidCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1013);
}

}  // namespace

bool Utf8Validator::Feed(absl::string_view bytes) {
  for (const char c : bytes) {
    const auto byte = static_cast<uint8_t>(c);
    if (needed_ > 0) {
      if (byte < low_ || byte > high_) return false;
      --needed_;
      low_ = 0x80;
      high_ = 0xbf;
      continue;
    }
    if (byte < 0x80) continue;
    if (byte >= 0xc2 && byte <= 0xdf) {
      needed_ = 1;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      needed_ = 2;
      if (byte == 0xe0) low_ = 0xa0;   // overlong
      if (byte == 0xed) high_ = 0x9f;  // UTF-16 surrogates
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      needed_ = 3;
      if (byte == 0xf0) low_ = 0x90;   // overlong
      if (byte == 0xf4) high_ = 0x8f;  // past U+10FFFF
    } else {
      return false;  // a stray continuation byte, C0/C1 (overlong) or F5..FF
    }
  }
  return true;
}

bool IsValidUtf8(absl::string_view text) {
  Utf8Validator validator;
  return validator.Feed(text) && validator.complete();
}

size_t ClientFrameReader::HeaderSize() const {
  const uint8_t length7 = header_[1] & 0x7f;
  const bool masked = (header_[1] & 0x80) != 0;
  return 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + (masked ? 4 : 0);
}

ClientFrameReader::Event ClientFrameReader::Fail(uint16_t code, absl::string_view why) {
  done_ = true;
  std::string().swap(message_);
  return Event{Event::Kind::kFail, why, code};
}

std::optional<ClientFrameReader::Event> ClientFrameReader::Next(absl::string_view& input) {
  if (release_pending_) {
    release_pending_ = false;
    if (message_opcode_ == 0) {
      std::string().swap(message_);  // nothing held while the client is quiet
    } else {
      message_.resize(control_start_);  // a control frame inside a fragmented message
    }
  }
  if (done_) {
    input = {};
    return std::nullopt;
  }
  while (!input.empty()) {
    if (!in_frame_) {
      header_[header_have_++] = static_cast<uint8_t>(input.front());
      input.remove_prefix(1);
      if (header_have_ < 2 || header_have_ < HeaderSize()) continue;
      header_have_ = 0;
      if (std::optional<Event> event = StartFrame()) return event;
      continue;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(payload_left_, input.size()));
    const size_t at = message_.size();
    message_.append(input.data(), take);
    for (size_t i = at; i < message_.size(); ++i) {
      message_[i] = static_cast<char>(message_[i] ^ mask_[mask_offset_]);
      mask_offset_ = (mask_offset_ + 1) & 3;
    }
    input.remove_prefix(take);
    payload_left_ -= take;
    if (opcode_ == kOpText || (opcode_ == kOpContinuation && message_opcode_ == kOpText)) {
      // Checked as it arrives: invalid text fails before the rest is read.
      if (!text_check_.Feed(absl::string_view(message_).substr(at))) {
        return Fail(kCloseInvalidPayload, "text message is not valid UTF-8");
      }
    }
    if (payload_left_ == 0) {
      if (std::optional<Event> event = FinishFrame()) return event;
    }
  }
  return std::nullopt;
}

std::optional<ClientFrameReader::Event> ClientFrameReader::StartFrame() {
  fin_ = (header_[0] & 0x80) != 0;
  const bool reserved_bits = (header_[0] & 0x70) != 0;
  opcode_ = header_[0] & 0x0f;
  const bool masked = (header_[1] & 0x80) != 0;
  const uint8_t length7 = header_[1] & 0x7f;
  switch (opcode_) {
    case kOpText:
    case kOpBinary:
      if (message_opcode_ != 0) return Fail(kCloseProtocolError, "a new message began inside a fragmented one");
      break;
    case kOpContinuation:
      if (message_opcode_ == 0) return Fail(kCloseProtocolError, "continuation frame without a message");
      break;
    case kOpClose:
    case kOpPing:
    case kOpPong:
      if (!fin_) return Fail(kCloseProtocolError, "fragmented control frame");
      if (length7 > kMaxControlPayload) return Fail(kCloseProtocolError, "control frame longer than 125 bytes");
      break;
    default:
      return Fail(kCloseProtocolError, "reserved opcode");
  }
  // No extension is negotiated on this path (compressing clients keep Beast).
  if (reserved_bits) return Fail(kCloseProtocolError, "reserved bits set");
  if (!masked) return Fail(kCloseProtocolError, "unmasked frame from a client");

  uint64_t length = length7;
  if (length7 >= 126) {
    const size_t digits = length7 == 126 ? 2 : 8;
    length = 0;
    for (size_t i = 0; i < digits; ++i) length = (length << 8) | header_[2 + i];
    if (length >> 63 != 0) return Fail(kCloseProtocolError, "frame length with its most significant bit set");
    // RFC 6455 §5.2: the minimal number of bytes must be used.
    if (length < (length7 == 126 ? 126u : 65536u)) return Fail(kCloseProtocolError, "frame length not minimal");
  }
  const bool control = (opcode_ & 0x8) != 0;
  if (!control && length > max_message_bytes_ - message_.size()) {
    return Fail(kCloseMessageTooBig, "message larger than the gateway's limit");
  }
  const size_t header_size = HeaderSize();
  std::copy_n(header_.begin() + static_cast<std::ptrdiff_t>(header_size - 4), 4, mask_.begin());
  mask_offset_ = 0;
  if (control) {
    control_start_ = message_.size();
  } else if (opcode_ != kOpContinuation) {
    message_opcode_ = opcode_;
    text_check_ = Utf8Validator();
  }
  payload_left_ = length;
  in_frame_ = true;
  if (length == 0) return FinishFrame();
  return std::nullopt;
}

std::optional<ClientFrameReader::Event> ClientFrameReader::FinishFrame() {
  in_frame_ = false;
  if ((opcode_ & 0x8) != 0) return FinishControlFrame();
  if (!fin_) return std::nullopt;
  const bool text = message_opcode_ == kOpText;
  if (text && !text_check_.complete()) return Fail(kCloseInvalidPayload, "text message is not valid UTF-8");
  message_opcode_ = 0;
  release_pending_ = true;
  return Event{text ? Event::Kind::kText : Event::Kind::kBinary, message_};
}

std::optional<ClientFrameReader::Event> ClientFrameReader::FinishControlFrame() {
  release_pending_ = true;
  const absl::string_view payload = absl::string_view(message_).substr(control_start_);
  switch (opcode_) {
    case kOpPing:
      return Event{Event::Kind::kPing, payload};
    case kOpPong:
      return Event{Event::Kind::kPong, payload};
    default:
      break;
  }
  // Close (RFC 6455 §5.5.1): empty, or a two-byte code and a UTF-8 reason.
  if (payload.empty()) {
    done_ = true;
    return Event{Event::Kind::kClose, payload, kCloseNormal};
  }
  if (payload.size() == 1) return Fail(kCloseProtocolError, "close frame with a one-byte payload");
  const auto code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]));
  if (!IsValidCloseCode(code)) return Fail(kCloseProtocolError, "invalid close code");
  const absl::string_view reason = payload.substr(2);
  // Beast answers an invalid reason with 1002 too: kept, so clients see no change.
  if (!IsValidUtf8(reason)) return Fail(kCloseProtocolError, "close reason is not valid UTF-8");
  done_ = true;
  return Event{Event::Kind::kClose, reason, code};
}

}  // namespace stockfeed::ws_gateway

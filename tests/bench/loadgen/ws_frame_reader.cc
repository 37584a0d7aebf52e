#include "ws_frame_reader.h"

#include <algorithm>
#include <cassert>

namespace stockfeed::bench {
namespace {

// Buffers that a big frame grew give their memory back once used: with
// thousands of connections, each reader must stay small.
constexpr size_t kKeptCapacity = 4096;

void Discard(std::string& buffer) {
  if (buffer.capacity() > kKeptCapacity) {
    std::string().swap(buffer);
  } else {
    buffer.clear();
  }
}

uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (const char c : bytes) value = (value << 8) | static_cast<uint8_t>(c);
  return value;
}

}  // namespace

void WsFrameReader::Feed(std::string_view chunk) {
  assert(input_.empty() && "Next() must return kNeedMore before the next chunk");
  input_ = chunk;
}

WsFrameReader::Result WsFrameReader::Next(Message& out) {
  // The previous message may have pointed into these.
  if (!InFragmentedMessage()) Discard(fragments_);
  for (;;) {
    if (carry_handled_) {
      Discard(carry_);
      carry_handled_ = false;
    }
    FrameHeader header;
    std::string_view frame;
    if (!carry_.empty()) {
      const Status status = FillCarry(header);
      if (status == Status::kInvalid) return Result::kProtocolError;
      if (status == Status::kIncomplete) return Result::kNeedMore;
      frame = carry_;
      carry_handled_ = true;
    } else if (input_.empty()) {
      return Result::kNeedMore;
    } else {
      const Status status = ParseHeader(input_, header);
      if (status == Status::kInvalid) return Result::kProtocolError;
      const bool whole_frame = status == Status::kComplete &&
                               input_.size() - header.header_size >= header.payload_size;
      if (!whole_frame) {  // cut off by the end of the chunk: keep it
        carry_.assign(input_);
        input_ = {};
        return Result::kNeedMore;
      }
      frame = input_.substr(0, header.header_size + header.payload_size);
      input_.remove_prefix(frame.size());
    }
    if (OnFrame(header, frame.substr(header.header_size), out)) return Result::kMessage;
  }
}

WsFrameReader::Status WsFrameReader::ParseHeader(std::string_view bytes,
                                                 FrameHeader& header) const {
  header.header_size = 2;
  if (bytes.size() < header.header_size) return Status::kIncomplete;
  const auto byte0 = static_cast<uint8_t>(bytes[0]);
  const auto byte1 = static_cast<uint8_t>(bytes[1]);
  header.fin = (byte0 & 0x80) != 0;
  header.rsv1 = (byte0 & 0x40) != 0;
  header.opcode = static_cast<Opcode>(byte0 & 0x0F);
  const bool rsv2_or_rsv3 = (byte0 & 0x30) != 0;
  const bool masked = (byte1 & 0x80) != 0;  // servers must not mask (§5.1)
  const uint8_t length7 = byte1 & 0x7F;
  if (rsv2_or_rsv3 || masked) return Status::kInvalid;

  switch (header.opcode) {
    case Opcode::kText:
    case Opcode::kBinary:
      // A new message may not start inside a fragmented one (§5.4).
      if (InFragmentedMessage() || (header.rsv1 && !compression_allowed_)) return Status::kInvalid;
      break;
    case Opcode::kContinuation:
      // RSV1 marks only a message's first frame (RFC 7692 §6.1).
      if (!InFragmentedMessage() || header.rsv1) return Status::kInvalid;
      break;
    case Opcode::kClose:
    case Opcode::kPing:
    case Opcode::kPong:
      // Control frames are never fragmented nor compressed (§5.5).
      if (!header.fin || header.rsv1 || length7 > 125) return Status::kInvalid;
      break;
    default:
      return Status::kInvalid;  // reserved opcode
  }

  const size_t extended_length_size = length7 == 127 ? 8 : length7 == 126 ? 2 : 0;
  header.header_size += extended_length_size;
  if (bytes.size() < header.header_size) return Status::kIncomplete;
  header.payload_size =
      extended_length_size == 0 ? length7 : ReadBigEndian(bytes.substr(2, extended_length_size));
  const uint64_t earlier_fragments =
      header.opcode == Opcode::kContinuation ? fragments_.size() : 0;
  // Checked before buffering anything; also keeps the sums below in range.
  if (header.payload_size > kMaxMessageBytes - earlier_fragments) return Status::kInvalid;
  return Status::kComplete;
}

WsFrameReader::Status WsFrameReader::FillCarry(FrameHeader& header) {
  for (;;) {
    const Status status = ParseHeader(carry_, header);
    if (status == Status::kInvalid) return status;
    const size_t wanted = status == Status::kComplete
                              ? header.header_size + header.payload_size
                              : header.header_size;
    if (carry_.size() >= wanted) return Status::kComplete;
    if (input_.empty()) return Status::kIncomplete;
    if (status == Status::kComplete) carry_.reserve(wanted);
    const size_t take = std::min(wanted - carry_.size(), input_.size());
    carry_.append(input_.substr(0, take));
    input_.remove_prefix(take);
  }
}

bool WsFrameReader::OnFrame(const FrameHeader& header, std::string_view payload, Message& out) {
  if (header.opcode != Opcode::kContinuation) {
    if (header.fin) {
      out = Message{header.opcode, header.rsv1, payload};
      return true;
    }
    fragmented_opcode_ = header.opcode;
    fragmented_compressed_ = header.rsv1;
    fragments_.assign(payload);
    return false;
  }
  fragments_.append(payload);
  if (!header.fin) return false;
  out = Message{fragmented_opcode_, fragmented_compressed_, fragments_};
  fragmented_opcode_ = Opcode::kContinuation;
  return true;
}

}  // namespace stockfeed::bench

#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// Close codes the reader fails a connection with (RFC 6455 §7.4.1).
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseInvalidPayload = 1007;
inline constexpr uint16_t kCloseMessageTooBig = 1009;

// Checks UTF-8 (RFC 3629) as it arrives in pieces: overlong forms,
// surrogates and code points past U+10FFFF are invalid.
class Utf8Validator {
 public:
  // False as soon as the bytes so far cannot begin valid UTF-8.
  bool Feed(absl::string_view bytes);
  // True when the bytes so far end on a whole character.
  bool complete() const { return needed_ == 0; }

 private:
  uint8_t needed_ = 0;  // continuation bytes still expected
  uint8_t low_ = 0x80;  // the allowed range of the next one
  uint8_t high_ = 0xbf;
};

// True when `text` is valid UTF-8.
bool IsValidUtf8(absl::string_view text);

// Reads the frames a client sends on an established, non-compressing
// WebSocket connection (RFC 6455 §5): unmasks them, joins fragments into
// messages, validates text as UTF-8 and checks every rule a server must
// enforce, failing the connection with the close code Beast would send.
// It holds no buffer between messages, so an idle connection costs only
// this object (the reason it exists instead of Beast's stream, whose
// per-connection state is ~3 KiB: docs/benchmarks.md, issue #16).
class ClientFrameReader {
 public:
  struct Event {
    enum class Kind {
      kText,    // a complete text message, valid UTF-8
      kBinary,  // a complete binary message
      kPing,    // answer with a pong carrying `payload`
      kPong,
      kClose,   // the client's close frame: reply with `close_code`, then close
      kFail,    // a protocol violation: send close `close_code`, then close
    };
    Kind kind;
    // The message, the ping or pong payload, the client's close reason, or
    // (kFail) what was wrong, for the log. Valid until the next call to Next().
    absl::string_view payload;
    uint16_t close_code = 0;  // kClose: the code to echo (1000 if it sent none); kFail: the code to send
  };

  // `max_message_bytes`: the largest message accepted (--max_message_bytes);
  // anything larger fails with 1009 as soon as its header says so.
  explicit ClientFrameReader(uint64_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Consumes bytes from the front of `input` until an event completes and
  // returns it, or returns nothing once `input` is empty. After kClose or
  // kFail the conversation is over: the rest of the input is consumed and
  // ignored.
  std::optional<Event> Next(absl::string_view& input);

  // True while nothing of a frame or message is held: the reader owns no
  // heap memory then.
  bool idle() const { return header_have_ == 0 && !in_frame_ && message_opcode_ == 0 && message_.empty(); }

 private:
  // The header's size, known once its first two bytes are in.
  size_t HeaderSize() const;
  // Checks the complete header in `header_` and starts its frame; an event
  // when the frame is invalid or (empty payload) already complete.
  std::optional<Event> StartFrame();
  // The frame's payload is all in: its event, if it completes one.
  std::optional<Event> FinishFrame();
  std::optional<Event> FinishControlFrame();
  Event Fail(uint16_t code, absl::string_view why);

  const uint64_t max_message_bytes_;
  std::array<uint8_t, 14> header_{};  // the longest header: 2 + 8 length + 4 mask
  uint8_t header_have_ = 0;
  bool in_frame_ = false;  // header read, payload (perhaps empty) being read
  bool fin_ = false;
  uint8_t opcode_ = 0;          // of the current frame
  uint8_t message_opcode_ = 0;  // text or binary while a message is in progress, else 0
  bool done_ = false;           // closed or failed: everything else is ignored
  uint8_t mask_offset_ = 0;     // position in the masking key of the next payload byte
  uint64_t payload_left_ = 0;
  // The message's unmasked payload so far; a control frame's payload is
  // appended after it and cut off again once reported.
  std::string message_;
  size_t control_start_ = 0;
  bool release_pending_ = false;  // the last event's bytes may go once it has been handled
  std::array<uint8_t, 4> mask_{};
  Utf8Validator text_check_;  // of the text message in progress
};

}  // namespace stockfeed::ws_gateway

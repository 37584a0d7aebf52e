// Turns the bytes a WebSocket client receives into whole messages
// (RFC 6455 §5). Pure: no sockets, no clock.
//
// Frames are parsed in place from the chunk just received; only a frame cut
// off at the end of a chunk is copied (into `carry_`), and only fragmented
// messages are reassembled (into `fragments_`). Both stay empty in the
// common case of whole unfragmented frames, so an idle reader is small.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stockfeed::bench {

class WsFrameReader {
 public:
  // Larger messages are protocol errors: it bounds what a connection buffers.
  static constexpr uint64_t kMaxMessageBytes = 16 * 1024 * 1024;

  enum class Opcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
  };

  struct Message {
    Opcode opcode = Opcode::kText;  // never kContinuation
    bool compressed = false;        // RSV1: a permessage-deflate message
    // Valid until the next call to Next(), and only while the chunk fed is.
    std::string_view payload;
  };

  enum class Result {
    kMessage,        // `out` holds the next message or control frame
    kNeedMore,       // everything fed is used up; feed the next chunk
    kProtocolError,  // the connection must be failed
  };

  // Allows RSV1 on data frames, once permessage-deflate is negotiated.
  void AllowCompression() { compression_allowed_ = true; }

  // Starts on a newly received chunk. Call Next() until it returns kNeedMore
  // before feeding again; `chunk` must stay valid until then.
  void Feed(std::string_view chunk);
  Result Next(Message& out);

 private:
  struct FrameHeader {
    bool fin = false;
    bool rsv1 = false;
    Opcode opcode = Opcode::kContinuation;
    size_t header_size = 0;
    uint64_t payload_size = 0;
  };
  enum class Status { kComplete, kIncomplete, kInvalid };

  // Reads and checks the header at the start of `bytes`. kIncomplete leaves
  // in `header.header_size` how many bytes the header needs, as far as known.
  Status ParseHeader(std::string_view bytes, FrameHeader& header) const;
  // Moves input into `carry_` until it holds the whole frame that starts
  // there (kComplete) or the input runs out (kIncomplete).
  Status FillCarry(FrameHeader& header);
  // Handles one whole frame. True when `out` holds a message; false when the
  // frame was a non-final fragment, stored in `fragments_`.
  bool OnFrame(const FrameHeader& header, std::string_view payload, Message& out);
  bool InFragmentedMessage() const { return fragmented_opcode_ != Opcode::kContinuation; }

  std::string_view input_;
  std::string carry_;         // a frame cut off at the end of a chunk
  bool carry_handled_ = false;  // `carry_` holds a frame already handled
  std::string fragments_;     // the payload of a fragmented message so far
  Opcode fragmented_opcode_ = Opcode::kContinuation;  // kContinuation: none
  bool fragmented_compressed_ = false;
  bool compression_allowed_ = false;
};

}  // namespace stockfeed::bench

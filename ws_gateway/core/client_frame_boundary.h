#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// Where the frames a client sends begin and end in its byte stream (RFC 6455
// §5.2). The gateway reads no further than the end of the current frame, so
// once Beast has finished a message none of the next one sits in its buffer:
// an idle connection can then wait for its socket to become readable with no
// read operation and no read buffer outstanding.
class ClientFrameBoundary {
 public:
  // The most bytes the next read may take without passing the end of the
  // current frame (its header first, then its payload). Never zero.
  size_t ReadLimit() const;
  // Accounts for `bytes` just read from the client.
  void Consumed(absl::string_view bytes);
  // True between frames: nothing of a frame has been read yet.
  bool AtBoundary() const { return header_have_ == 0 && payload_left_ == 0; }

 private:
  // The header's size, known once its first two bytes are in.
  size_t HeaderSize() const;
  uint64_t PayloadSize() const;

  std::array<uint8_t, 14> header_{};  // the longest header: 2 + 8 length + 4 mask
  size_t header_have_ = 0;
  uint64_t payload_left_ = 0;
};

}  // namespace stockfeed::ws_gateway

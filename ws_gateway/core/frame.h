#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// A server-to-client WebSocket text frame, built once and sent by every
// session as is: server frames are unmasked, so the bytes on the wire are the
// same for every client. Stored as header + payload + ',' so a session can
// also splice the payload into a batch array without copying.
class Frame {
 public:
  // A price frame carries what sessions filter and conflate on, and its
  // event time for the delivery-latency metric. With `deflate`, it also
  // carries its permessage-deflate form, compressed once.
  static std::shared_ptr<const Frame> Price(std::string payload, uint64_t seq, absl::string_view symbol,
                                            absl::string_view source, bool deflate = false,
                                            int64_t event_time_us = 0);
  // Any other message (welcome, status, replies).
  static std::shared_ptr<const Frame> Message(absl::string_view payload);

  // The complete frame: header and payload.
  absl::string_view wire() const { return absl::string_view(bytes_).substr(0, bytes_.size() - 1); }
  absl::string_view payload() const {
    return absl::string_view(bytes_).substr(header_size_, bytes_.size() - header_size_ - 1);
  }
  // The payload followed by ',', for all but the last element of a batch.
  absl::string_view payload_and_comma() const { return absl::string_view(bytes_).substr(header_size_); }
  // The complete compressed frame (RSV1 set) for clients that negotiated
  // permessage-deflate; empty when not prepared.
  absl::string_view deflated_wire() const { return deflated_; }

  // The price as a Server-Sent Event (core/sse.h), with id = seq. Built on
  // first use and kept: each shard owns its own copy of a frame and uses it
  // on its thread only, so an update is encoded once per shard however many
  // SSE clients take it, and not at all when none does.
  absl::string_view sse_event() const;

  bool is_price() const { return seq_ != 0; }
  uint64_t seq() const { return seq_; }
  const std::string& symbol() const { return symbol_; }
  const std::string& source() const { return source_; }
  int64_t event_time_us() const { return event_time_us_; }

  Frame(absl::string_view payload, uint64_t seq, absl::string_view symbol, absl::string_view source);

 private:
  std::string bytes_;
  std::string deflated_;
  mutable std::string sse_event_;
  uint8_t header_size_ = 0;
  uint64_t seq_ = 0;
  int64_t event_time_us_ = 0;
  std::string symbol_;
  std::string source_;
};

using FramePtr = std::shared_ptr<const Frame>;

// Writes the header of an unmasked, final text frame of `payload_size` bytes
// (RFC 6455 §5.2) into `out`, which must hold 10 bytes. Returns its length.
// `compressed` sets RSV1, which marks a permessage-deflate message.
size_t EncodeTextFrameHeader(uint64_t payload_size, char* out, bool compressed = false);

}  // namespace stockfeed::ws_gateway

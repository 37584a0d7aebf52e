#pragma once

#include <cstddef>
#include <optional>

#include "request_head.h"

namespace stockfeed::ws_gateway {

// Caps on the request head beyond the parser's byte cap (--max_header_bytes,
// which Beast enforces while reading): the request line and the field count.
struct HeadLimits {
  size_t max_request_line_bytes = 4096;
  size_t max_header_count = 64;
};
std::optional<Rejection> CheckHeadLimits(const RequestHead& head, const HeadLimits& limits);

// Fields a valid request must carry (RFC 9112 §3.2, RFC 6455 §4.2.1): HTTP/1.1
// needs exactly one Host; an upgrade needs a Sec-WebSocket-Key that is the
// base64 of 16 bytes. Refused with 400 before Beast sees the handshake.
std::optional<Rejection> CheckHandshakeFields(const RequestHead& head);

}  // namespace stockfeed::ws_gateway

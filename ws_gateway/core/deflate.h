#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// The window the gateway negotiates for permessage-deflate (RFC 7692): 2^9
// bytes, the smallest every client accepts. Prices are ~150 bytes, so a
// bigger window would gain nothing.
inline constexpr int kDeflateWindowBits = 9;

// Compresses one message for permessage-deflate with no context takeover:
// raw DEFLATE, sync-flushed, the trailing 00 00 ff ff removed (RFC 7692
// §7.2.1). Because no state carries over between messages, the result is the
// same for every client and can be computed once per update.
std::string DeflateMessage(absl::string_view payload);

}  // namespace stockfeed::ws_gateway

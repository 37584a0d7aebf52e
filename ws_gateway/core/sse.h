#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// Server-Sent Events (text/event-stream, HTML Living Standard §9.2) as the
// gateway writes them for GET /api/v1/stream.

// "event: <event>\ndata: <data>\n[id: <id>\n]\n"; a data with line breaks
// becomes several data lines. id 0 writes no id line.
std::string EncodeSseEvent(absl::string_view event, absl::string_view data, uint64_t id = 0);
// An id-only event: moves the client's Last-Event-ID without an event.
std::string EncodeSseId(uint64_t id);
// A comment line: keeps proxies and clients from timing the stream out.
inline constexpr absl::string_view kSseHeartbeat = ":\n\n";

// The response head of a stream, with a reconnect delay for EventSource. No
// Content-Length: the body ends when the connection does.
std::string SseResponseHead(int http_version_minor);

// A Last-Event-ID header: nullopt when absent or empty, the sequence it
// names, or an error for anything but a decimal number.
absl::StatusOr<std::optional<uint64_t>> ParseLastEventId(std::optional<absl::string_view> header);

}  // namespace stockfeed::ws_gateway

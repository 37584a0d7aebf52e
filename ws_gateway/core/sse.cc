#include "sse.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace stockfeed::ws_gateway {
namespace {

// What EventSource waits before reconnecting (it sends Last-Event-ID then).
constexpr int kRetryMilliseconds = 1000;

}  // namespace

std::string EncodeSseEvent(absl::string_view event, absl::string_view data, uint64_t id) {
  std::string out;
  out.reserve(event.size() + data.size() + 40);
  absl::StrAppend(&out, "event: ", event, "\n");
  for (absl::string_view line : absl::StrSplit(data, '\n')) absl::StrAppend(&out, "data: ", line, "\n");
  if (id != 0) absl::StrAppend(&out, "id: ", id, "\n");
  out.push_back('\n');
  return out;
}

std::string EncodeSseId(uint64_t id) { return absl::StrCat("id: ", id, "\n\n"); }

std::string SseResponseHead(int http_version_minor) {
  return absl::StrCat("HTTP/1.", http_version_minor,
                      " 200 OK\r\n"
                      "Server: stockfeed-ws-gateway\r\n"
                      "Content-Type: text/event-stream; charset=utf-8\r\n"
                      "Cache-Control: no-store\r\n"
                      "X-Content-Type-Options: nosniff\r\n"
                      // nginx: pass events on as they come instead of buffering them.
                      "X-Accel-Buffering: no\r\n"
                      "Connection: close\r\n"
                      "\r\n"
                      "retry: ",
                      kRetryMilliseconds, "\n\n");
}

absl::StatusOr<std::optional<uint64_t>> ParseLastEventId(std::optional<absl::string_view> header) {
  if (!header || header->empty()) return std::nullopt;
  uint64_t seq = 0;
  if (header->size() > 20 || !absl::SimpleAtoi(*header, &seq) || (*header)[0] == '+' || (*header)[0] == '-') {
    return absl::InvalidArgumentError("Last-Event-ID must be a sequence number the stream sent as id");
  }
  return seq;
}

}  // namespace stockfeed::ws_gateway

// libFuzzer target: the bytes a client sends on an established WebSocket
// connection, as the session feeds them to ClientFrameReader, cut into reads
// at points the input chooses. Checks the RFC 6455 rules the reader promises
// and that how the bytes are cut never changes what is read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/client_frame_reader.h"
#include "fuzz_check.h"

namespace {

using stockfeed::ws_gateway::ClientFrameReader;
using Kind = ClientFrameReader::Event::Kind;

constexpr uint64_t kMaxMessage = 256;  // small, so the limit is reached often

struct Seen {
  Kind kind;
  std::string payload;
  uint16_t code;
  bool operator==(const Seen& other) const {
    return kind == other.kind && payload == other.payload && code == other.code;
  }
};

// Feeds `stream` in reads of `step` bytes (0: one read), checking every event.
std::vector<Seen> ReadAll(absl::string_view stream, size_t step) {
  ClientFrameReader reader(kMaxMessage);
  std::vector<Seen> seen;
  bool ended = false;
  if (step == 0) step = stream.size() + 1;
  for (size_t offset = 0; offset < stream.size(); offset += step) {
    absl::string_view input = stream.substr(offset, step);
    while (std::optional<ClientFrameReader::Event> event = reader.Next(input)) {
      FUZZ_CHECK(!ended);  // nothing after a close or a failure
      switch (event->kind) {
        case Kind::kText:
          FUZZ_CHECK(stockfeed::ws_gateway::IsValidUtf8(event->payload));
          [[fallthrough]];
        case Kind::kBinary:
          FUZZ_CHECK(event->payload.size() <= kMaxMessage);
          break;
        case Kind::kPing:
        case Kind::kPong:
          FUZZ_CHECK(event->payload.size() <= 125);
          break;
        case Kind::kClose:
          ended = true;
          FUZZ_CHECK(event->close_code >= 1000 && event->close_code <= 4999);
          FUZZ_CHECK(event->payload.size() <= 123);
          FUZZ_CHECK(stockfeed::ws_gateway::IsValidUtf8(event->payload));
          break;
        case Kind::kFail:
          ended = true;
          FUZZ_CHECK(event->close_code == 1002 || event->close_code == 1007 || event->close_code == 1009);
          FUZZ_CHECK(!event->payload.empty());
          break;
      }
      seen.push_back({event->kind, std::string(event->payload), event->close_code});
    }
    FUZZ_CHECK(input.empty());  // every byte is taken
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte chooses the read size of the second pass.
  const size_t step = data[0] % 17 + 1;
  const absl::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  FUZZ_CHECK(ReadAll(stream, 0) == ReadAll(stream, step));
  return 0;
}

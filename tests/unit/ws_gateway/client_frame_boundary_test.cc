#include "core/client_frame_boundary.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

// A client frame (RFC 6455 §5.2): FIN + opcode, MASK + length (7, 16 or 64
// bit), a 4-byte mask key when masked, then the payload.
std::string ClientFrame(uint8_t opcode, size_t payload_size, bool masked = true) {
  std::string frame(1, static_cast<char>(0x80 | opcode));
  const char mask_bit = masked ? '\x80' : '\x00';
  if (payload_size < 126) {
    frame += static_cast<char>(mask_bit | static_cast<char>(payload_size));
  } else if (payload_size <= 0xffff) {
    frame += static_cast<char>(mask_bit | 126);
    frame += static_cast<char>(payload_size >> 8);
    frame += static_cast<char>(payload_size & 0xff);
  } else {
    frame += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((payload_size >> shift) & 0xff);
  }
  if (masked) frame += "\x11\x22\x33\x44";
  return frame + std::string(payload_size, 'x');
}

// Reads `stream` as the gateway does: each read takes at most ReadLimit()
// bytes (and at most `read_size`). Returns the offsets where AtBoundary() held.
std::vector<size_t> ReadAll(ClientFrameBoundary& boundary, const std::string& stream, size_t read_size) {
  std::vector<size_t> boundaries;
  size_t offset = 0;
  while (offset < stream.size()) {
    const size_t limit = boundary.ReadLimit();
    EXPECT_GT(limit, 0u);
    const size_t take = std::min({limit, read_size, stream.size() - offset});
    boundary.Consumed(absl::string_view(stream).substr(offset, take));
    offset += take;
    if (boundary.AtBoundary()) boundaries.push_back(offset);
  }
  return boundaries;
}

TEST(ClientFrameBoundaryTest, StartsBetweenFramesAndAsksForTheHeaderFirst) {
  ClientFrameBoundary boundary;
  EXPECT_TRUE(boundary.AtBoundary());
  EXPECT_EQ(boundary.ReadLimit(), 2u);
  boundary.Consumed(ClientFrame(0x1, 5).substr(0, 2));
  EXPECT_FALSE(boundary.AtBoundary());
  EXPECT_EQ(boundary.ReadLimit(), 4u);  // the mask key
  boundary.Consumed("\x11\x22\x33\x44");
  EXPECT_EQ(boundary.ReadLimit(), 5u);  // exactly the payload
  boundary.Consumed("hello");
  EXPECT_TRUE(boundary.AtBoundary());
}

TEST(ClientFrameBoundaryTest, ReadsNeverPassTheEndOfAFrame) {
  const std::string first = ClientFrame(0x1, 20);
  const std::string pong = ClientFrame(0xA, 0);
  const std::string medium = ClientFrame(0x1, 300);
  const std::string large = ClientFrame(0x2, 70000);
  const std::string stream = first + pong + medium + large;
  const std::vector<size_t> expected = {first.size(), first.size() + pong.size(),
                                        first.size() + pong.size() + medium.size(), stream.size()};
  for (size_t read_size : {size_t{1}, size_t{3}, size_t{1536}, stream.size()}) {
    ClientFrameBoundary boundary;
    EXPECT_EQ(ReadAll(boundary, stream, read_size), expected) << "reads of " << read_size;
  }
}

TEST(ClientFrameBoundaryTest, SixteenAndSixtyFourBitLengths) {
  for (size_t payload : {size_t{125}, size_t{126}, size_t{65535}, size_t{65536}}) {
    ClientFrameBoundary boundary;
    const std::string frame = ClientFrame(0x1, payload);
    EXPECT_EQ(ReadAll(boundary, frame, 4096), std::vector<size_t>{frame.size()}) << payload;
  }
}

TEST(ClientFrameBoundaryTest, UnmaskedFramesAreFollowedToo) {
  // Beast rejects them, but the boundary stays right until it does.
  ClientFrameBoundary boundary;
  const std::string stream = ClientFrame(0x1, 3, /*masked=*/false) + ClientFrame(0x1, 3);
  EXPECT_EQ(ReadAll(boundary, stream, 100), (std::vector<size_t>{5, stream.size()}));
}

}  // namespace
}  // namespace stockfeed::ws_gateway

#include "core/frame.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

std::vector<uint8_t> Header(uint64_t payload_size) {
  char out[10] = {};
  const size_t size = EncodeTextFrameHeader(payload_size, out);
  return std::vector<uint8_t>(out, out + size);
}

// RFC 6455 §5.2: FIN=1, RSV=0, opcode 0x1, MASK=0, then a 7-bit length, or
// 126 + 16-bit length, or 127 + 64-bit length, all network byte order.
TEST(EncodeTextFrameHeaderTest, SevenBitLengths) {
  EXPECT_EQ(Header(0), (std::vector<uint8_t>{0x81, 0x00}));
  EXPECT_EQ(Header(1), (std::vector<uint8_t>{0x81, 0x01}));
  EXPECT_EQ(Header(125), (std::vector<uint8_t>{0x81, 0x7d}));
}

TEST(EncodeTextFrameHeaderTest, SixteenBitLengths) {
  EXPECT_EQ(Header(126), (std::vector<uint8_t>{0x81, 0x7e, 0x00, 0x7e}));
  EXPECT_EQ(Header(258), (std::vector<uint8_t>{0x81, 0x7e, 0x01, 0x02}));
  EXPECT_EQ(Header(65535), (std::vector<uint8_t>{0x81, 0x7e, 0xff, 0xff}));
}

TEST(EncodeTextFrameHeaderTest, SixtyFourBitLengths) {
  EXPECT_EQ(Header(65536), (std::vector<uint8_t>{0x81, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
  EXPECT_EQ(Header(0x0102030405060708ULL),
            (std::vector<uint8_t>{0x81, 0x7f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
}

TEST(FrameTest, MessageViews) {
  const FramePtr frame = Frame::Message(R"({"type":"pong"})");
  EXPECT_EQ(frame->wire(), std::string("\x81\x0f") + R"({"type":"pong"})");
  EXPECT_EQ(frame->payload(), R"({"type":"pong"})");
  EXPECT_EQ(frame->payload_and_comma(), R"({"type":"pong"},)");
  EXPECT_FALSE(frame->is_price());
  EXPECT_EQ(frame->seq(), 0u);
  EXPECT_EQ(frame->symbol(), "");
}

TEST(FrameTest, PriceCarriesWhatSessionsFilterOn) {
  const FramePtr frame = Frame::Price("{\"p\":1}", 42, "AAPL", "finnhub");
  EXPECT_TRUE(frame->is_price());
  EXPECT_EQ(frame->seq(), 42u);
  EXPECT_EQ(frame->symbol(), "AAPL");
  EXPECT_EQ(frame->source(), "finnhub");
  EXPECT_EQ(frame->payload(), "{\"p\":1}");
}

TEST(FrameTest, EmptyPayload) {
  const FramePtr frame = Frame::Message("");
  EXPECT_EQ(frame->wire(), std::string("\x81\x00", 2));
  EXPECT_EQ(frame->payload(), "");
  EXPECT_EQ(frame->payload_and_comma(), ",");
}

TEST(FrameTest, LargePayloadsGetTheLongHeader) {
  for (const size_t size : {size_t{125}, size_t{126}, size_t{65535}, size_t{65536}, size_t{70000}}) {
    const std::string payload(size, 'x');
    const FramePtr frame = Frame::Message(payload);
    const size_t header = size < 126 ? 2 : size <= 65535 ? 4 : 10;
    ASSERT_EQ(frame->wire().size(), header + size) << size;
    const std::vector<uint8_t> want = Header(size);
    EXPECT_EQ(frame->wire().substr(0, header), std::string(want.begin(), want.end())) << size;
    EXPECT_EQ(frame->payload(), payload) << size;
    EXPECT_EQ(frame->payload_and_comma().size(), size + 1);
    EXPECT_EQ(frame->payload_and_comma().back(), ',');
  }
}

TEST(FrameTest, CopiesAreIndependentAndEqual) {
  const FramePtr frame = Frame::Price("abc", 7, "MSFT", "a");
  const Frame copy(*frame);
  EXPECT_EQ(copy.wire(), frame->wire());
  EXPECT_NE(copy.wire().data(), frame->wire().data());
  EXPECT_EQ(copy.seq(), 7u);
}

}  // namespace
}  // namespace stockfeed::ws_gateway

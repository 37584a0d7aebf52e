#include "core/deflate.h"

#include <string>

#include <boost/beast/zlib/inflate_stream.hpp>

#include "core/frame.h"
#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

// What a client does (RFC 7692 §7.2.2): append 00 00 ff ff and inflate.
std::string Inflate(const std::string& compressed) {
  namespace zlib = boost::beast::zlib;
  const std::string input = compressed + std::string("\x00\x00\xff\xff", 4);
  zlib::inflate_stream stream;
  stream.reset(15);  // a receiver may use any window >= the sender's
  std::string out(1 << 20, '\0');
  zlib::z_params params;
  params.next_in = input.data();
  params.avail_in = input.size();
  params.next_out = out.data();
  params.avail_out = out.size();
  boost::system::error_code ec;
  stream.write(params, zlib::Flush::sync, ec);
  EXPECT_FALSE(ec && ec != zlib::error::end_of_stream) << ec.message();
  out.resize(params.total_out);
  return out;
}

TEST(DeflateMessageTest, RoundTripsAndDropsTheFlushMarker) {
  const std::string price =
      R"({"type":"price","symbol":"AAPL","price":189.23,"source":"finnhub","timestamp":1764091234,"seq":42,"event_time_us":1764091234123456})";
  const std::string compressed = DeflateMessage(price);
  EXPECT_LT(compressed.size(), price.size());
  ASSERT_GE(compressed.size(), 4u);
  EXPECT_NE(compressed.substr(compressed.size() - 4), std::string("\x00\x00\xff\xff", 4));
  EXPECT_EQ(Inflate(compressed), price);
}

TEST(DeflateMessageTest, NoStateCarriesOverSoEveryClientGetsTheSameBytes) {
  const std::string message = std::string(300, 'a') + "tail";
  EXPECT_EQ(DeflateMessage(message), DeflateMessage(message));
  EXPECT_EQ(Inflate(DeflateMessage("")), "");
  const std::string big(100'000, 'x');
  EXPECT_TRUE(Inflate(DeflateMessage(big)) == big);  // (no 100 kB diff on failure)
}

TEST(DeflateMessageTest, PriceFramesCarryACompressedFormWithRsv1) {
  const FramePtr plain = Frame::Price(R"({"type":"price"})", 1, "AAPL", "finnhub");
  EXPECT_TRUE(plain->deflated_wire().empty());
  const FramePtr frame = Frame::Price(R"({"type":"price","x":"aaaaaaaaaaaaaaaaaaaaaaaa"})", 1, "AAPL",
                                      "finnhub", /*deflate=*/true);
  const absl::string_view wire = frame->deflated_wire();
  ASSERT_GE(wire.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(wire[0]), 0xC1);  // FIN + RSV1 + text
  const size_t length = static_cast<unsigned char>(wire[1]);
  ASSERT_LT(length, 126u);
  EXPECT_EQ(wire.size(), 2 + length);
  EXPECT_EQ(Inflate(std::string(wire.substr(2))), R"({"type":"price","x":"aaaaaaaaaaaaaaaaaaaaaaaa"})");
  EXPECT_EQ(static_cast<unsigned char>(frame->wire()[0]), 0x81);  // the plain form is unchanged
}

}  // namespace
}  // namespace stockfeed::ws_gateway

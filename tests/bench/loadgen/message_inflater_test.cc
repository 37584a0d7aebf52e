#include "message_inflater.h"

#include <gtest/gtest.h>

#include <string>

#include <boost/beast/zlib/deflate_stream.hpp>
#include <boost/beast/zlib/error.hpp>

#include "ws_frame_reader.h"

namespace stockfeed::bench {
namespace {

namespace zlib = boost::beast::zlib;

// What a permessage-deflate sender puts in a message: raw DEFLATE, sync
// flushed, without the trailing 00 00 ff ff.
std::string Compress(zlib::deflate_stream& stream, std::string_view message) {
  std::string out(message.size() + 1024, '\0');
  zlib::z_params zs{};
  zs.next_in = message.data();
  zs.avail_in = message.size();
  zs.next_out = out.data();
  zs.avail_out = out.size();
  boost::system::error_code ec;
  stream.write(zs, zlib::Flush::sync, ec);
  EXPECT_TRUE(!ec || ec == zlib::error::need_buffers) << ec.message();
  EXPECT_EQ(zs.avail_in, 0u);
  out.resize(zs.total_out);
  EXPECT_TRUE(out.ends_with(std::string_view("\x00\x00\xff\xff", 4)));
  out.resize(out.size() - 4);
  return out;
}

constexpr std::string_view kPrice =
    R"({"type":"price","symbol":"AAPL","price":189.23,"source":"finnhub",)"
    R"("timestamp":1764091234,"seq":1235,"event_time_us":1764091234123456})";

TEST(MessageInflater, KeepsTheContextBetweenMessages) {
  zlib::deflate_stream compressor;
  zlib::inflate_stream stream;
  MessageInflater inflater;
  const std::string first = Compress(compressor, kPrice);
  const std::string second = Compress(compressor, kPrice);
  EXPECT_LT(second.size(), first.size());  // refers back into the first
  EXPECT_EQ(inflater.Inflate(stream, first), kPrice);
  EXPECT_EQ(inflater.Inflate(stream, second), kPrice);
}

TEST(MessageInflater, ResetStreamForNoContextTakeover) {
  zlib::deflate_stream compressor;
  zlib::inflate_stream stream;
  MessageInflater inflater;
  for (int i = 0; i < 3; ++i) {
    const std::string message = std::string(kPrice) + std::to_string(i);
    EXPECT_EQ(inflater.Inflate(stream, Compress(compressor, message)), message);
    compressor.reset();
    stream.reset();
  }
}

TEST(MessageInflater, GrowsForLargeMessagesAndRejectsOversize) {
  zlib::deflate_stream compressor;
  zlib::inflate_stream stream;
  MessageInflater inflater;
  std::string big;
  for (int i = 0; big.size() < 1'000'000; ++i) big += std::to_string(i);
  EXPECT_EQ(inflater.Inflate(stream, Compress(compressor, big)), big);

  const std::string too_big(WsFrameReader::kMaxMessageBytes + 1, 'z');
  compressor.reset();
  stream.reset();
  EXPECT_FALSE(inflater.Inflate(stream, Compress(compressor, too_big)));
}

TEST(MessageInflater, RejectsCorruptData) {
  zlib::inflate_stream stream;
  MessageInflater inflater;
  // A block of the reserved type 3.
  EXPECT_FALSE(inflater.Inflate(stream, std::string_view("\x07\xff\xff", 3)));
}

}  // namespace
}  // namespace stockfeed::bench

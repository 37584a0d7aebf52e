#include "core/sse.h"

#include "core/api_messages.h"
#include "core/frame.h"
#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

TEST(SseEncodingTest, EventWithIdAndMultiLineData) {
  EXPECT_EQ(EncodeSseEvent("price", R"({"seq":7})", 7), "event: price\ndata: {\"seq\":7}\nid: 7\n\n");
  EXPECT_EQ(EncodeSseEvent("status", "{}"), "event: status\ndata: {}\n\n");
  EXPECT_EQ(EncodeSseEvent("x", "a\nb"), "event: x\ndata: a\ndata: b\n\n");
  EXPECT_EQ(EncodeSseId(42), "id: 42\n\n");
  EXPECT_EQ(kSseHeartbeat, ":\n\n");
}

TEST(SseEncodingTest, ResponseHeadIsAnEventStreamWithARetryDelay) {
  const std::string head = SseResponseHead(1);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(head.find("Content-Type: text/event-stream; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(head.find("Cache-Control: no-store\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\nretry: 1000\n\n")) << head;
  EXPECT_EQ(SseResponseHead(0).rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
}

TEST(SseEncodingTest, LastEventId) {
  EXPECT_EQ(*ParseLastEventId(std::nullopt), std::nullopt);
  EXPECT_EQ(*ParseLastEventId(""), std::nullopt);
  EXPECT_EQ(*ParseLastEventId("1234"), 1234u);
  EXPECT_EQ(*ParseLastEventId("18446744073709551615"), 18446744073709551615u);
  for (const char* bad : {"abc", "-1", "+1", "1.5", "18446744073709551616", "12abc", "99999999999999999999999"}) {
    EXPECT_FALSE(ParseLastEventId(bad).ok()) << bad;
  }
}

TEST(SseEncodingTest, PriceFrameCarriesItsEventEncodedOnce) {
  const FramePtr frame = Frame::Price(R"({"type":"price","seq":9})", 9, "AAPL", "finnhub");
  const absl::string_view event = frame->sse_event();
  EXPECT_EQ(event, "event: price\ndata: {\"type\":\"price\",\"seq\":9}\nid: 9\n\n");
  EXPECT_EQ(frame->sse_event().data(), event.data()) << "kept, not re-encoded";
}

TEST(ApiMessagesTest, SymbolListIsSortedWithoutRepeats) {
  EXPECT_EQ(EncodeSymbolList({"MSFT", "AAPL", "MSFT"}, {"finnhub", "alpha_vantage", "finnhub"}),
            R"({"symbols":["AAPL","MSFT"],"sources":["alpha_vantage","finnhub"]})");
  EXPECT_EQ(EncodeSymbolList({}, {}), R"({"symbols":[],"sources":[]})");
}

}  // namespace
}  // namespace stockfeed::ws_gateway

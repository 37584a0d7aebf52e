#include "core/client_frame_reader.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

using Kind = ClientFrameReader::Event::Kind;

constexpr uint64_t kMaxMessage = 4096;

// A frame as a client sends it (RFC 6455 §5.2): `first` is FIN/RSV/opcode,
// the payload masked with a fixed key unless `masked` is false. `length`
// overrides the encoded length (for lying headers).
std::string Frame(uint8_t first, const std::string& payload, bool masked = true, int64_t length = -1) {
  const uint64_t size = length >= 0 ? static_cast<uint64_t>(length) : payload.size();
  std::string frame(1, static_cast<char>(first));
  const auto mask_bit = static_cast<char>(masked ? 0x80 : 0);
  if (size < 126) {
    frame += static_cast<char>(mask_bit | static_cast<char>(size));
  } else if (size <= 0xffff) {
    frame += static_cast<char>(mask_bit | 126);
    frame += static_cast<char>(size >> 8);
    frame += static_cast<char>(size & 0xff);
  } else {
    frame += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((size >> shift) & 0xff);
  }
  const char key[4] = {'\x37', '\xfa', '\x21', '\x3d'};
  if (masked) frame.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) frame += masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
  return frame;
}
std::string Text(const std::string& payload) { return Frame(0x81, payload); }
std::string Close(uint16_t code, const std::string& reason = "") {
  std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
  return Frame(0x88, payload + reason);
}

struct Seen {
  Kind kind;
  std::string payload;
  uint16_t code;
};

// Feeds `stream` in pieces of `piece` bytes (0: all at once), copying each
// event out before the next call, as the session handles them.
std::vector<Seen> ReadAll(ClientFrameReader& reader, const std::string& stream, size_t piece = 0) {
  std::vector<Seen> seen;
  const size_t step = piece == 0 ? stream.size() : piece;
  for (size_t offset = 0; offset < stream.size(); offset += step) {
    absl::string_view input = absl::string_view(stream).substr(offset, step);
    while (std::optional<ClientFrameReader::Event> event = reader.Next(input)) {
      seen.push_back({event->kind, std::string(event->payload), event->close_code});
    }
    EXPECT_TRUE(input.empty());
  }
  return seen;
}

std::vector<Seen> ReadAll(const std::string& stream, size_t piece = 0) {
  ClientFrameReader reader(kMaxMessage);
  return ReadAll(reader, stream, piece);
}

// The one failure `stream` must end in.
void ExpectFails(const std::string& stream, uint16_t code) {
  for (const size_t piece : {size_t{0}, size_t{1}, size_t{3}}) {
    const std::vector<Seen> seen = ReadAll(stream, piece);
    ASSERT_FALSE(seen.empty()) << "piece " << piece;
    EXPECT_EQ(seen.back().kind, Kind::kFail) << "piece " << piece;
    EXPECT_EQ(seen.back().code, code) << "piece " << piece << ": " << seen.back().payload;
    EXPECT_FALSE(seen.back().payload.empty()) << "a failure says what was wrong";
  }
}

TEST(ClientFrameReaderTest, UnmasksTextMessagesWhateverTheReadSizes) {
  const std::string stream = Text(R"({"type":"ping"})") + Text("second") + Text("");
  for (const size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{5}, size_t{7}}) {
    ClientFrameReader reader(kMaxMessage);
    const std::vector<Seen> seen = ReadAll(reader, stream, piece);
    ASSERT_EQ(seen.size(), 3u) << "piece " << piece;
    EXPECT_EQ(seen[0].kind, Kind::kText);
    EXPECT_EQ(seen[0].payload, R"({"type":"ping"})");
    EXPECT_EQ(seen[1].payload, "second");
    EXPECT_EQ(seen[2].kind, Kind::kText);
    EXPECT_EQ(seen[2].payload, "");
    absl::string_view nothing;
    EXPECT_FALSE(reader.Next(nothing));
    EXPECT_TRUE(reader.idle()) << "nothing is held between messages";
  }
}

TEST(ClientFrameReaderTest, SixteenAndSixtyFourBitLengths) {
  const std::string medium(300, 'm');
  const std::vector<Seen> seen = ReadAll(Text(medium), 100);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].payload, medium);

  ClientFrameReader big_reader(1 << 20);
  const std::string big(70000, 'b');
  const std::vector<Seen> big_seen = ReadAll(big_reader, Text(big), 4096);
  ASSERT_EQ(big_seen.size(), 1u);
  EXPECT_EQ(big_seen[0].payload, big);
}

TEST(ClientFrameReaderTest, BinaryMessagesAreReportedWhole) {
  const std::vector<Seen> seen = ReadAll(Frame(0x82, std::string("\x01\x02\xff", 3)));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, Kind::kBinary);
  EXPECT_EQ(seen[0].payload, std::string("\x01\x02\xff", 3));
}

TEST(ClientFrameReaderTest, JoinsFragmentsWithControlFramesBetweenThem) {
  const std::string stream = Frame(0x01, "hel") + Frame(0x89, "are you there") + Frame(0x00, "lo ") +
                             Frame(0x8a, "") + Frame(0x80, "world");
  for (const size_t piece : {size_t{0}, size_t{1}, size_t{4}}) {
    const std::vector<Seen> seen = ReadAll(stream, piece);
    ASSERT_EQ(seen.size(), 3u) << "piece " << piece;
    EXPECT_EQ(seen[0].kind, Kind::kPing);
    EXPECT_EQ(seen[0].payload, "are you there");
    EXPECT_EQ(seen[1].kind, Kind::kPong);
    EXPECT_EQ(seen[1].payload, "");
    EXPECT_EQ(seen[2].kind, Kind::kText);
    EXPECT_EQ(seen[2].payload, "hello world") << "a control frame's payload is not part of the message";
  }
}

TEST(ClientFrameReaderTest, EmptyFragmentsAreAllowed) {
  const std::vector<Seen> seen = ReadAll(Frame(0x01, "") + Frame(0x00, "") + Frame(0x80, "x"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].payload, "x");
}

TEST(ClientFrameReaderTest, PingsAndPongsCarryTheirPayloads) {
  const std::string full(125, 'p');
  const std::vector<Seen> seen = ReadAll(Frame(0x89, full) + Frame(0x8a, "pong"), 1);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, Kind::kPing);
  EXPECT_EQ(seen[0].payload, full);
  EXPECT_EQ(seen[1].kind, Kind::kPong);
  EXPECT_EQ(seen[1].payload, "pong");
}

TEST(ClientFrameReaderTest, CloseWithACodeIsEchoedAndEndsTheConversation) {
  const std::vector<Seen> seen = ReadAll(Close(1001, "bye") + Text("after close"));
  ASSERT_EQ(seen.size(), 1u) << "nothing is read after a close frame";
  EXPECT_EQ(seen[0].kind, Kind::kClose);
  EXPECT_EQ(seen[0].code, 1001);
  EXPECT_EQ(seen[0].payload, "bye");

  for (const uint16_t code : {1000, 1003, 1007, 1011, 1013, 3000, 4001, 4999}) {
    const std::vector<Seen> one = ReadAll(Close(code));
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].kind, Kind::kClose);
    EXPECT_EQ(one[0].code, code);
  }
}

TEST(ClientFrameReaderTest, CloseWithoutACodeIsAnsweredWithNormalClosure) {
  const std::vector<Seen> seen = ReadAll(Frame(0x88, ""));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, Kind::kClose);
  EXPECT_EQ(seen[0].code, 1000);
}

TEST(ClientFrameReaderTest, InvalidCloseFramesFailWithProtocolError) {
  ExpectFails(Frame(0x88, "x"), 1002);  // a one-byte payload
  for (const uint16_t code : {0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 5000, 65535}) {
    ExpectFails(Close(code), 1002);
  }
  ExpectFails(Close(1000, "\xff"), 1002);  // the reason is not UTF-8 (Beast sends 1002)
}

TEST(ClientFrameReaderTest, UnmaskedFramesFail) {
  ExpectFails(Frame(0x81, "hi", /*masked=*/false), 1002);
  ExpectFails(Frame(0x89, "", /*masked=*/false), 1002);
}

TEST(ClientFrameReaderTest, ReservedBitsAndOpcodesFail) {
  for (const uint8_t first : {0xc1, 0xa1, 0x91, 0xc9, 0x83, 0x87, 0x8b, 0x8f}) {
    ExpectFails(Frame(first, "x"), 1002);
  }
}

TEST(ClientFrameReaderTest, ControlFramesMustBeShortAndWhole) {
  ExpectFails(Frame(0x89, std::string(126, 'p')), 1002);
  ExpectFails(Frame(0x09, "p"), 1002);  // a fragmented ping
  ExpectFails(Frame(0x08, ""), 1002);   // a fragmented close
}

TEST(ClientFrameReaderTest, FragmentationOutOfOrderFails) {
  ExpectFails(Frame(0x80, "x"), 1002);                    // continuation without a message
  ExpectFails(Frame(0x01, "a") + Frame(0x81, "b"), 1002);  // new text inside a fragmented message
  ExpectFails(Frame(0x01, "a") + Frame(0x82, "b"), 1002);
}

TEST(ClientFrameReaderTest, NonMinimalLengthsFail) {
  ExpectFails(Frame(0x81, "", true, 0).replace(1, 1, std::string("\xfe\x00\x05", 3)), 1002);
  std::string sixty_four("\x81\xff", 2);
  sixty_four += std::string("\x00\x00\x00\x00\x00\x00\xff\xff", 8);  // 65535 in 64 bits
  ExpectFails(sixty_four + "\x01\x02\x03\x04", 1002);
}

TEST(ClientFrameReaderTest, LengthClaimsPastTheLimitFailBeforeThePayload) {
  // 2^63 and more: the most significant bit must be 0.
  std::string huge("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14);
  ExpectFails(huge, 1002);
  // 2^63 - 1: a valid encoding, far past the gateway's limit.
  std::string claim("\x81\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04", 14);
  ExpectFails(claim, 1009);
  // Just past the limit, with no payload sent at all.
  ExpectFails(Frame(0x81, "", true, kMaxMessage + 1), 1009);
}

TEST(ClientFrameReaderTest, MessageSizeLimitCountsEveryFragment) {
  const std::vector<Seen> exact = ReadAll(Text(std::string(kMaxMessage, 'a')));
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0].kind, Kind::kText) << "a message of exactly the limit is accepted";

  const std::string half(kMaxMessage / 2, 'a');
  ExpectFails(Frame(0x01, half) + Frame(0x00, half) + Frame(0x80, "a"), 1009);
  // Control frames inside the message do not count toward it.
  const std::vector<Seen> with_ping =
      ReadAll(Frame(0x01, half) + Frame(0x89, std::string(125, 'p')) + Frame(0x80, half));
  ASSERT_EQ(with_ping.size(), 2u);
  EXPECT_EQ(with_ping[1].payload.size(), kMaxMessage);
}

TEST(ClientFrameReaderTest, InvalidUtf8TextFailsWith1007) {
  for (const std::string& bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xe0\x80\xaf"),
                                  std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                                  std::string("\xf5\x80\x80\x80"), std::string("a\x80"),
                                  std::string("\xe2\x82"), std::string("\xce")}) {
    ExpectFails(Text(bad), 1007);
  }
  // Caught in the first fragment, before the message ends.
  ClientFrameReader reader(kMaxMessage);
  const std::vector<Seen> seen = ReadAll(reader, Frame(0x01, "ok \xff"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].code, 1007);
  // A character split across fragments is fine; one left unfinished is not.
  const std::vector<Seen> split = ReadAll(Frame(0x01, "\xe2\x82") + Frame(0x80, "\xac"));
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0].payload, "\xe2\x82\xac");
  ExpectFails(Frame(0x01, "\xe2\x82") + Frame(0x80, ""), 1007);
  // Binary messages are not text.
  EXPECT_EQ(ReadAll(Frame(0x82, "\xff"))[0].kind, Kind::kBinary);
}

TEST(ClientFrameReaderTest, NothingIsReadAfterAFailure) {
  ClientFrameReader reader(kMaxMessage);
  const std::vector<Seen> seen = ReadAll(reader, Frame(0x83, "") + Text("ignored"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, Kind::kFail);
  EXPECT_TRUE(ReadAll(reader, Text("still ignored")).empty());
}

TEST(Utf8Test, AcceptsEveryLengthAndRejectsWhatRfc3629Forbids) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xc2\xa9 \xe2\x82\xac \xf0\x9f\x93\x88 \xf4\x8f\xbf\xbf \xed\x9f\xbf \xef\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));  // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x28\xa1"));
}

}  // namespace
}  // namespace stockfeed::ws_gateway

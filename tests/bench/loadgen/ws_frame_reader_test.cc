#include "ws_frame_reader.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace stockfeed::bench {
namespace {

using Opcode = WsFrameReader::Opcode;
using Result = WsFrameReader::Result;

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kRsv1 = 0x40;

// A server frame (unmasked unless `masked`) with the shortest length form
// for `payload`, or with `claimed_size` in the header instead.
std::string Frame(uint8_t first_byte, std::string_view payload, bool masked = false,
                  uint64_t claimed_size = UINT64_MAX) {
  const uint64_t size = claimed_size == UINT64_MAX ? payload.size() : claimed_size;
  const auto mask_bit = static_cast<char>(masked ? 0x80 : 0);
  std::string out(1, static_cast<char>(first_byte));
  int length_bytes = 0;
  if (size < 126) {
    out += static_cast<char>(mask_bit | static_cast<char>(size));
  } else if (size <= 0xFFFF) {
    out += static_cast<char>(mask_bit | 126);
    length_bytes = 2;
  } else {
    out += static_cast<char>(mask_bit | 127);
    length_bytes = 8;
  }
  for (int i = length_bytes - 1; i >= 0; --i) out += static_cast<char>(size >> (8 * i));
  if (masked) out += std::string(4, '\0');  // a zero key leaves the payload as is
  out += payload;
  return out;
}

std::string Text(std::string_view payload) { return Frame(kFin | 0x1, payload); }

struct Received {
  Opcode opcode;
  bool compressed;
  std::string payload;
  bool operator==(const Received&) const = default;
};

struct Outcome {
  std::vector<Received> messages;
  bool error = false;
};

// Feeds `chunks` in order and collects every message until an error.
Outcome Read(WsFrameReader& reader, std::initializer_list<std::string_view> chunks) {
  Outcome out;
  for (const std::string_view chunk : chunks) {
    reader.Feed(chunk);
    WsFrameReader::Message message;
    Result result;
    while ((result = reader.Next(message)) == Result::kMessage) {
      out.messages.push_back({message.opcode, message.compressed, std::string(message.payload)});
    }
    if (result == Result::kProtocolError) {
      out.error = true;
      break;
    }
  }
  return out;
}

Outcome Read(std::initializer_list<std::string_view> chunks) {
  WsFrameReader reader;
  return Read(reader, chunks);
}

TEST(WsFrameReader, SeveralFramesInOneChunk) {
  const std::string chunk = Text("a") + Frame(kFin | 0x2, "bb") + Text("") + Text("dddd");
  const Outcome out = Read({chunk});
  ASSERT_FALSE(out.error);
  const std::vector<Received> expected = {{Opcode::kText, false, "a"},
                                          {Opcode::kBinary, false, "bb"},
                                          {Opcode::kText, false, ""},
                                          {Opcode::kText, false, "dddd"}};
  EXPECT_EQ(out.messages, expected);
}

TEST(WsFrameReader, SixteenBitLengths) {
  for (const size_t size : {size_t{126}, size_t{300}, size_t{0xFFFF}}) {
    const std::string payload(size, 'x');
    const std::string frame = Text(payload);
    ASSERT_EQ(frame.size(), 4 + size);
    const Outcome out = Read({frame});
    ASSERT_FALSE(out.error);
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_EQ(out.messages[0].payload, payload);
  }
}

TEST(WsFrameReader, SixtyFourBitLengths) {
  for (const size_t size : {size_t{0x10000}, size_t{1'000'000}}) {
    std::string payload(size, 'y');
    payload.back() = 'z';
    const std::string frame = Text(payload) + Text("next");
    ASSERT_EQ(frame.size(), 10 + size + 6);
    // Split anywhere in the header, and in the payload.
    const std::string_view view = frame;
    for (size_t split = 0; split <= 12; ++split) {
      const Outcome out = Read({view.substr(0, split), view.substr(split, 1000),
                                view.substr(split + 1000)});
      ASSERT_FALSE(out.error);
      ASSERT_EQ(out.messages.size(), 2u);
      EXPECT_EQ(out.messages[0].payload, payload);
      EXPECT_EQ(out.messages[1].payload, "next");
    }
  }
}

TEST(WsFrameReader, SplitAtEveryByteBoundary) {
  // Short and 16-bit lengths, a control frame inside a fragmented message,
  // and an empty frame.
  const std::string stream =
      Text("first") + Text(std::string(300, 'm')) + Frame(0x1, "frag") +
      Frame(kFin | 0x9, "ping") + Frame(0x0, "ment") +
      Frame(kFin | 0x0, "ed") + Text("") + Frame(kFin | 0x8, "\x03\xe8");
  const std::vector<Received> expected = {
      {Opcode::kText, false, "first"},
      {Opcode::kText, false, std::string(300, 'm')},
      {Opcode::kPing, false, "ping"},
      {Opcode::kText, false, "fragmented"},
      {Opcode::kText, false, ""},
      {Opcode::kClose, false, "\x03\xe8"},
  };
  const std::string_view view = stream;
  for (size_t split = 0; split <= stream.size(); ++split) {
    const Outcome out = Read({view.substr(0, split), view.substr(split)});
    ASSERT_FALSE(out.error) << "split at " << split;
    ASSERT_EQ(out.messages, expected) << "split at " << split;
  }

  // One byte at a time.
  WsFrameReader reader;
  Outcome out;
  for (const char& c : stream) {
    const Outcome part = Read(reader, {std::string_view(&c, 1)});
    ASSERT_FALSE(part.error);
    out.messages.insert(out.messages.end(), part.messages.begin(), part.messages.end());
  }
  EXPECT_EQ(out.messages, expected);
}

TEST(WsFrameReader, ReassemblesFragmentedMessages) {
  WsFrameReader reader;
  reader.AllowCompression();
  const std::string chunk = Frame(kRsv1 | 0x2, "ab") + Frame(0x0, "cd") + Frame(kFin | 0x0, "e") +
                            Frame(kFin | 0x1, "whole");
  const Outcome out = Read(reader, {chunk});
  ASSERT_FALSE(out.error);
  const std::vector<Received> expected = {{Opcode::kBinary, true, "abcde"},
                                          {Opcode::kText, false, "whole"}};
  EXPECT_EQ(out.messages, expected);
}

TEST(WsFrameReader, PingPongAndClose) {
  const Outcome out = Read({Frame(kFin | 0x9, "are you there") + Frame(kFin | 0xA, "") +
                            Frame(kFin | 0x8, "\x03\xe9going away")});
  ASSERT_FALSE(out.error);
  const std::vector<Received> expected = {{Opcode::kPing, false, "are you there"},
                                          {Opcode::kPong, false, ""},
                                          {Opcode::kClose, false, "\x03\xe9going away"}};
  EXPECT_EQ(out.messages, expected);
}

TEST(WsFrameReader, RejectsMaskedServerFrames) {
  const Outcome out = Read({Text("ok") + Frame(kFin | 0x1, "masked", /*masked=*/true)});
  EXPECT_TRUE(out.error);
  ASSERT_EQ(out.messages.size(), 1u);  // frames before it still count
  // Detected from the first two bytes, before the rest arrives.
  EXPECT_TRUE(Read({Frame(kFin | 0x1, "masked", true).substr(0, 2)}).error);
}

TEST(WsFrameReader, RejectsOversizeMessages) {
  const uint64_t limit = WsFrameReader::kMaxMessageBytes;
  // The header alone is enough: nothing of the payload gets buffered.
  EXPECT_TRUE(Read({Frame(kFin | 0x1, "", false, limit + 1)}).error);
  EXPECT_TRUE(Read({Frame(kFin | 0x1, "", false, UINT64_MAX - 1)}).error);
  EXPECT_FALSE(Read({Frame(kFin | 0x1, "", false, limit)}).error);  // waits for the payload
  // Fragments count together.
  EXPECT_TRUE(Read({Frame(0x1, "0123456789") + Frame(kFin | 0x0, "", false, limit - 9)}).error);
  EXPECT_FALSE(Read({Frame(0x1, "0123456789") + Frame(kFin | 0x0, "", false, limit - 10)}).error);
}

TEST(WsFrameReader, RejectsProtocolViolations) {
  EXPECT_TRUE(Read({Frame(kFin | kRsv1 | 0x1, "deflate not negotiated")}).error);
  EXPECT_TRUE(Read({Frame(kFin | 0x20 | 0x1, "rsv2")}).error);
  EXPECT_TRUE(Read({Frame(kFin | 0x3, "reserved opcode")}).error);
  EXPECT_TRUE(Read({Frame(kFin | 0x0, "continuation of nothing")}).error);
  EXPECT_TRUE(Read({Frame(0x1, "unfinished") + Text("new message")}).error);
  EXPECT_TRUE(Read({Frame(0x9, "fragmented ping")}).error);
  EXPECT_TRUE(Read({Frame(kFin | 0x9, std::string(126, 'p'))}).error);

  WsFrameReader reader;
  reader.AllowCompression();
  EXPECT_FALSE(Read(reader, {Frame(kFin | kRsv1 | 0x1, "compressed")}).error);
  EXPECT_TRUE(Read(reader, {Frame(0x1, "a") + Frame(kFin | kRsv1 | 0x0, "rsv1 on a continuation")})
                  .error);
}

}  // namespace
}  // namespace stockfeed::bench

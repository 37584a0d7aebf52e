// Frames a client sends on an established connection, byte for byte over a
// real socket to the real gateway: what a conforming client gets back (pong,
// close echo, fragmented messages) and the close code every protocol
// violation earns (RFC 6455). Non-compressing clients are read by the
// gateway's own frame reader, compressing ones by Beast: both answer alike.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/raw_http.h"
#include "support/system.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

// A client frame: `first` is FIN/RSV/opcode; the payload masked unless not.
std::string ClientFrame(uint8_t first, const std::string& payload, bool masked = true) {
  std::string frame(1, static_cast<char>(first));
  const auto mask_bit = static_cast<char>(masked ? 0x80 : 0);
  if (payload.size() < 126) {
    frame += static_cast<char>(mask_bit | static_cast<char>(payload.size()));
  } else {
    frame += static_cast<char>(mask_bit | 126);
    frame += static_cast<char>(payload.size() >> 8);
    frame += static_cast<char>(payload.size() & 0xff);
  }
  const char key[4] = {'\x5a', '\x01', '\xc3', '\x7e'};
  if (masked) frame.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) frame += masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
  return frame;
}

struct ServerFrame {
  uint8_t opcode;
  std::string payload;
};

// The server's (unmasked) frames in `bytes`.
std::vector<ServerFrame> ParseServerFrames(const std::string& bytes) {
  std::vector<ServerFrame> frames;
  size_t at = 0;
  while (at + 2 <= bytes.size()) {
    const auto opcode = static_cast<uint8_t>(bytes[at] & 0x0f);
    uint64_t length = static_cast<uint8_t>(bytes[at + 1]) & 0x7f;
    size_t header = 2;
    if (length >= 126) {
      const size_t digits = length == 126 ? 2 : 8;
      if (at + 2 + digits > bytes.size()) break;
      length = 0;
      for (size_t i = 0; i < digits; ++i) length = (length << 8) | static_cast<uint8_t>(bytes[at + 2 + i]);
      header += digits;
    }
    if (at + header + length > bytes.size()) break;
    frames.push_back({opcode, bytes.substr(at + header, length)});
    at += header + length;
  }
  return frames;
}

class ClientFramesTest : public ::testing::Test {
 protected:
  // An upgraded connection; what followed the response head is kept.
  struct Connection {
    std::unique_ptr<RawConnection> raw;
    std::string received;
  };

  Connection Open(const std::string& extra_headers = "") {
    Connection connection{std::make_unique<RawConnection>(system_.gateway_port()), ""};
    EXPECT_TRUE(connection.raw->Send(UpgradeRequest(system_.gateway_port(), "/ws?protocol=v1&symbols=AAPL",
                                                    extra_headers)));
    const std::string head = connection.raw->ReadAll(seconds(10), /*stop_at_head_end=*/true);
    EXPECT_EQ(StatusOf(head), 101) << head;
    const size_t end = head.find("\r\n\r\n");
    if (end != std::string::npos) connection.received = head.substr(end + 4);
    return connection;
  }

  // Sends `bytes` and reads until the gateway ends the connection.
  std::vector<ServerFrame> SendAndReadToEnd(Connection& connection, const std::string& bytes) {
    EXPECT_TRUE(connection.raw->Send(bytes));
    connection.received += connection.raw->ReadAll(seconds(15));
    return ParseServerFrames(connection.received);
  }

  // The code of the gateway's close frame for `bytes`, which must be its last frame.
  std::optional<int> CloseCodeFor(const std::string& bytes) {
    Connection connection = Open();
    const std::vector<ServerFrame> frames = SendAndReadToEnd(connection, bytes);
    if (frames.empty() || frames.back().opcode != 0x8 || frames.back().payload.size() < 2) return std::nullopt;
    const std::string& payload = frames.back().payload;
    return (static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]);
  }

  System system_{{.rate = 20}};
};

TEST_F(ClientFramesTest, PingIsAnsweredWithItsPayloadAndFragmentsMakeOneMessage) {
  Connection connection = Open();
  const std::string request = R"({"type":"ping","id":"frag"})";
  const std::string bytes = ClientFrame(0x89, "are you there") + ClientFrame(0x01, request.substr(0, 10)) +
                            ClientFrame(0x8a, "") + ClientFrame(0x80, request.substr(10)) +
                            ClientFrame(0x88, std::string("\x03\xe8", 2) + "bye");
  const std::vector<ServerFrame> frames = SendAndReadToEnd(connection, bytes);
  bool pong = false, reply = false;
  for (const ServerFrame& frame : frames) {
    if (frame.opcode == 0xa && frame.payload == "are you there") pong = true;
    if (frame.opcode == 0x1 && frame.payload.find(R"("type":"pong")") != std::string::npos &&
        frame.payload.find("frag") != std::string::npos) {
      reply = true;
    }
  }
  EXPECT_TRUE(pong) << "a ping is answered with a pong carrying its payload";
  EXPECT_TRUE(reply) << "a fragmented text message is one message";
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().opcode, 0x8) << "the client's close is answered with a close frame";
  EXPECT_EQ(frames.back().payload.substr(0, 2), std::string("\x03\xe8", 2)) << "its code echoed (1000)";
}

TEST_F(ClientFramesTest, CloseCodesAreEchoed) {
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x88, std::string("\x0f\xa1", 2))), 4001);
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x88, "")), 1000) << "no code: answered with normal closure";
}

TEST_F(ClientFramesTest, ProtocolViolationsCloseWith1002) {
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x81, R"({"type":"ping"})", /*masked=*/false)), 1002) << "unmasked";
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x83, "x")), 1002) << "reserved opcode";
  EXPECT_EQ(CloseCodeFor(ClientFrame(0xc1, "x")), 1002) << "RSV1 without compression";
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x09, "x")), 1002) << "fragmented ping";
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x89, std::string(126, 'p'))), 1002) << "ping past 125 bytes";
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x80, "x")), 1002) << "continuation without a message";
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x88, std::string("\x03\xed", 2))), 1002) << "close code 1005";
  EXPECT_EQ(CloseCodeFor(std::string("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14)), 1002)
      << "a length of 2^63";
}

TEST_F(ClientFramesTest, InvalidTextCloses1007AndOversizedClaims1009) {
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x81, "\xed\xa0\x80")), 1007);
  EXPECT_EQ(CloseCodeFor(ClientFrame(0x01, "ok") + ClientFrame(0x80, "\xff")), 1007);
  // Only the header: the limit (4096 by default) applies before any payload.
  EXPECT_EQ(CloseCodeFor(std::string("\x81\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04", 14)), 1009);
}

TEST_F(ClientFramesTest, CompressingClientsGetTheSameAnswers) {
  System deflating({.rate = 20, .gateway_args = {"--permessage_deflate"}});
  const int port = deflating.gateway_port();
  RawConnection raw(port);
  ASSERT_TRUE(raw.Send(UpgradeRequest(port, "/ws?protocol=v1&symbols=AAPL",
                                      "Sec-WebSocket-Extensions: permessage-deflate\r\n")));
  const std::string head = raw.ReadAll(seconds(10), /*stop_at_head_end=*/true);
  ASSERT_NE(head.find("permessage-deflate"), std::string::npos) << head;
  ASSERT_TRUE(raw.Send(ClientFrame(0x89, "hi") + ClientFrame(0x81, "\xed\xa0\x80")));
  const std::vector<ServerFrame> frames = ParseServerFrames(head.substr(head.find("\r\n\r\n") + 4) +
                                                            raw.ReadAll(seconds(15)));
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().opcode, 0x8);
  EXPECT_EQ(frames.back().payload.substr(0, 2), std::string("\x03\xef", 2)) << "1007";
}

}  // namespace
}  // namespace stockfeed::testing

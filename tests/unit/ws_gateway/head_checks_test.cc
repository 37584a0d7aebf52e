#include "core/head_checks.h"

#include <string>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

RequestHead Upgrade(absl::string_view key) {
  RequestHead head{.method = "GET", .target = "/ws", .version = 11, .upgrade = true};
  head.fields = {{"Host", "127.0.0.1:8080"}, {"Upgrade", "websocket"}, {"Sec-WebSocket-Key", key}};
  return head;
}

struct KeyCase {
  std::string name;
  std::string key;
  bool valid;
};

class WebSocketKeyTest : public testing::TestWithParam<KeyCase> {};

TEST_P(WebSocketKeyTest, OnlyBase64OfSixteenBytesPasses) {
  const std::optional<Rejection> rejection = CheckHandshakeFields(Upgrade(GetParam().key));
  EXPECT_EQ(!rejection, GetParam().valid);
  if (rejection) {
    EXPECT_EQ(rejection->status, 400);
    EXPECT_EQ(rejection->code, "bad_websocket_key");
  }
}

INSTANTIATE_TEST_SUITE_P(Table, WebSocketKeyTest,
                         testing::Values(KeyCase{"Rfc6455Example", "dGhlIHNhbXBsZSBub25jZQ==", true},
                                         KeyCase{"Empty", "", false},
                                         KeyCase{"Short", "dGhlIHNhbXBsZQ==", false},
                                         KeyCase{"NotBase64", "dGhlIHNhbXBsZSBub25jZ!==", false},
                                         KeyCase{"SeventeenBytes", "dGhlIHNhbXBsZSBub25jZR==", false},
                                         KeyCase{"NoPadding", "dGhlIHNhbXBsZSBub25jZQAA", false}),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(HandshakeFieldsTest, MissingOrRepeatedKeyIsRefused) {
  RequestHead head = Upgrade("dGhlIHNhbXBsZSBub25jZQ==");
  head.fields.emplace_back("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_TRUE(CheckHandshakeFields(head));
  head.fields.pop_back();
  head.fields.pop_back();
  EXPECT_TRUE(CheckHandshakeFields(head));
}

TEST(HandshakeFieldsTest, Http11NeedsExactlyOneNonEmptyHost) {
  RequestHead head{.method = "GET", .target = "/", .version = 11};
  ASSERT_TRUE(CheckHandshakeFields(head));
  EXPECT_EQ(CheckHandshakeFields(head)->code, "bad_host");
  head.fields = {{"Host", ""}};
  EXPECT_TRUE(CheckHandshakeFields(head));
  head.fields = {{"host", "a"}, {"Host", "b"}};
  EXPECT_TRUE(CheckHandshakeFields(head));
  head.fields = {{"host", "example.com"}};
  EXPECT_FALSE(CheckHandshakeFields(head));
  // HTTP/1.0 predates Host.
  head.version = 10;
  head.fields.clear();
  EXPECT_FALSE(CheckHandshakeFields(head));
}

TEST(HeadLimitsTest, LongRequestLineIs414AndTooManyFields431) {
  const HeadLimits limits{.max_request_line_bytes = 64, .max_header_count = 2};
  const std::string long_target = "/" + std::string(60, 'a');
  RequestHead head{.method = "GET", .target = long_target, .version = 11};
  ASSERT_TRUE(CheckHeadLimits(head, limits));
  EXPECT_EQ(CheckHeadLimits(head, limits)->status, 414);
  head.target = "/";
  head.fields = {{"Host", "a"}, {"A", "1"}};
  EXPECT_FALSE(CheckHeadLimits(head, limits));
  head.fields.emplace_back("B", "2");
  ASSERT_TRUE(CheckHeadLimits(head, limits));
  EXPECT_EQ(CheckHeadLimits(head, limits)->status, 431);
}

}  // namespace
}  // namespace stockfeed::ws_gateway

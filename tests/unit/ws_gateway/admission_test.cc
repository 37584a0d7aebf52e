#include "core/admission.h"

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

AdmissionChain Chain() {
  return AdmissionChain({.max_request_line_bytes = 4096, .max_header_count = 4}, *OriginPolicy::Create({}));
}

TEST(AdmissionChainTest, AdmitsAPlainSameOriginUpgrade) {
  RequestHead head{.method = "GET", .target = "/ws", .version = 11, .upgrade = true};
  head.fields = {{"Host", "127.0.0.1:8080"},
                 {"Origin", "http://127.0.0.1:8080"},
                 {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  EXPECT_FALSE(Chain().Check(head));
}

TEST(AdmissionChainTest, ChecksRunInOrder_LimitsThenHandshakeThenOrigin) {
  // Wrong on all three counts: the head limit answers.
  RequestHead head{.method = "GET", .target = "/ws", .version = 11, .upgrade = true};
  head.fields = {{"Origin", "https://evil.example"}, {"A", "1"}, {"B", "2"}, {"C", "3"}, {"D", "4"}};
  ASSERT_TRUE(Chain().Check(head));
  EXPECT_EQ(Chain().Check(head)->status, 431);
  // Handshake fields before Origin.
  head.fields.resize(1);
  ASSERT_TRUE(Chain().Check(head));
  EXPECT_EQ(Chain().Check(head)->code, "bad_host");
  head.fields.emplace_back("Host", "127.0.0.1:8080");
  head.fields.emplace_back("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  ASSERT_TRUE(Chain().Check(head));
  EXPECT_EQ(Chain().Check(head)->status, 403);
}

}  // namespace
}  // namespace stockfeed::ws_gateway

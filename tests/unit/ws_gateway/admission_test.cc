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
  EXPECT_TRUE(std::holds_alternative<Admission>(Chain().Admit(head, absl::Now())));
}

std::optional<Rejection> Refusal(const AdmissionChain& chain, const RequestHead& head) {
  auto result = chain.Admit(head, absl::Now());
  if (auto* rejection = std::get_if<Rejection>(&result)) return *rejection;
  return std::nullopt;
}

TEST(AdmissionChainTest, ChecksRunInOrder_LimitsThenHandshakeThenOriginThenToken) {
  AdmissionChain chain = Chain();
  chain.tokens().SetVerifier(
      *TokenVerifier::FromKeys({{"k", TokenVerifier::Algorithm::kHs256, std::string(32, 's')}}, {}));
  // Wrong on all three counts: the head limit answers.
  RequestHead head{.method = "GET", .target = "/ws", .version = 11, .upgrade = true};
  head.fields = {{"Origin", "https://evil.example"}, {"A", "1"}, {"B", "2"}, {"C", "3"}, {"D", "4"}};
  ASSERT_TRUE(Refusal(chain, head));
  EXPECT_EQ(Refusal(chain, head)->status, 431);
  // Handshake fields before Origin.
  head.fields.resize(1);
  ASSERT_TRUE(Refusal(chain, head));
  EXPECT_EQ(Refusal(chain, head)->code, "bad_host");
  head.fields.emplace_back("Host", "127.0.0.1:8080");
  head.fields.emplace_back("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  ASSERT_TRUE(Refusal(chain, head));
  EXPECT_EQ(Refusal(chain, head)->status, 403);
  // Origin before token.
  head.fields.front().second = "http://127.0.0.1:8080";
  ASSERT_TRUE(Refusal(chain, head));
  EXPECT_EQ(Refusal(chain, head)->status, 401);
  EXPECT_EQ(Refusal(chain, head)->message, "missing token");
}

}  // namespace
}  // namespace stockfeed::ws_gateway

#include "core/origin_policy.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

OriginPolicy Policy(std::vector<std::string> allowed) {
  absl::StatusOr<OriginPolicy> policy = OriginPolicy::Create(allowed);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

struct Case {
  std::string name;
  std::vector<std::string> allowed;
  std::string origin;
  std::string host;  // the request's Host header
  bool allowed_expected;
};

class OriginPolicyTest : public testing::TestWithParam<Case> {};

TEST_P(OriginPolicyTest, Decides) {
  const Case& c = GetParam();
  EXPECT_EQ(Policy(c.allowed).Allows(c.origin, c.host), c.allowed_expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, OriginPolicyTest,
    testing::Values(
        Case{"DefaultAllowsLoopbackPages", {}, "http://localhost:3000", "gw.example.com", true},
        Case{"DefaultAllows127", {}, "http://127.0.0.1:5173", "127.0.0.1:8080", true},
        Case{"DefaultAllowsIpv6Loopback", {}, "http://[::1]:8080", "127.0.0.1:8080", true},
        Case{"DefaultRefusesOtherSites", {}, "https://evil.example", "127.0.0.1:8080", false},
        Case{"DefaultRefusesLookalike", {}, "http://127.0.0.1.evil.example", "127.0.0.1:8080", false},
        Case{"OwnOriginAlwaysAllowed", {"https://app.example.com"}, "http://gw.internal:8080",
             "gw.internal:8080", true},
        Case{"OwnOriginWithDefaultPort", {}, "https://feed.example.com", "feed.example.com", true},
        Case{"OwnHostOtherPortIsAnotherOrigin", {}, "http://feed.example.com:9999", "feed.example.com:8080",
             false},
        Case{"ExplicitListDropsLoopbackDefault", {"https://app.example.com"}, "http://localhost:3000",
             "gw:8080", false},
        Case{"ExactOrigin", {"https://app.example.com"}, "https://app.example.com", "gw:8080", true},
        Case{"ExactOriginCaseInsensitive", {"https://App.Example.com"}, "HTTPS://app.example.COM", "gw", true},
        Case{"ExactOriginWrongScheme", {"https://app.example.com"}, "http://app.example.com", "gw", false},
        Case{"ExactOriginWrongPort", {"https://app.example.com"}, "https://app.example.com:8443", "gw", false},
        Case{"WildcardSubdomain", {"*.example.com"}, "https://a.b.example.com:8443", "gw", true},
        Case{"WildcardExcludesApex", {"*.example.com"}, "https://example.com", "gw", false},
        Case{"WildcardExcludesSuffixLookalike", {"*.example.com"}, "https://evilexample.com", "gw", false},
        Case{"WildcardWithScheme", {"https://*.example.com"}, "http://a.example.com", "gw", false},
        Case{"Anything", {"*"}, "https://evil.example", "gw", true},
        Case{"DefaultAllowsPagesFromDisk", {}, "null", "127.0.0.1:8080", true},
        Case{"ExplicitListRefusesNull", {"https://app.example.com"}, "null", "gw:8080", false},
        Case{"NullWhenListed", {"https://app.example.com", "null"}, "null", "gw:8080", true},
        Case{"GarbageRefused", {}, "not an origin", "127.0.0.1:8080", false},
        Case{"UserinfoRefused", {}, "http://127.0.0.1@evil.example", "127.0.0.1:8080", false}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(OriginPolicyCreateTest, RejectsEntriesThatAreNeitherOriginsNorPatterns) {
  for (const char* bad : {"example.com", "https://", "*.", "https://a.*.com", "*.com/x"}) {
    EXPECT_FALSE(OriginPolicy::Create({bad}).ok()) << bad;
  }
}

TEST(OriginPolicyCheckTest, NoOriginPassesAForeignOneIs403) {
  const OriginPolicy policy = Policy({});
  RequestHead head{.method = "GET", .target = "/ws", .version = 11, .upgrade = true};
  head.fields = {{"Host", "127.0.0.1:8080"}};
  EXPECT_FALSE(policy.Check(head));
  head.fields.emplace_back("Origin", "https://evil.example");
  ASSERT_TRUE(policy.Check(head));
  EXPECT_EQ(policy.Check(head)->status, 403);
  EXPECT_EQ(policy.Check(head)->code, "origin_not_allowed");
}

TEST(OriginPolicyCheckTest, TwoOriginHeadersAreRefused) {
  RequestHead head{.method = "GET", .target = "/", .version = 11};
  head.fields = {{"Host", "127.0.0.1:8080"}, {"Origin", "http://127.0.0.1:8080"}, {"Origin", "http://x"}};
  EXPECT_TRUE(Policy({}).Check(head));
}

}  // namespace
}  // namespace stockfeed::ws_gateway

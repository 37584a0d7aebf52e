#include "stockfeed/common/host_port.h"

#include <string>

#include "gtest/gtest.h"

namespace stockfeed {
namespace {

struct GoodAddress {
  std::string text;
  std::string host;
  uint16_t port;
};

class ParseHostPortGoodTest : public testing::TestWithParam<GoodAddress> {};

TEST_P(ParseHostPortGoodTest, Parses) {
  const GoodAddress& want = GetParam();
  const absl::StatusOr<HostPort> parsed = ParseHostPort(want.text);
  ASSERT_TRUE(parsed.ok()) << want.text << ": " << parsed.status();
  EXPECT_EQ(parsed->host, want.host);
  EXPECT_EQ(parsed->port, want.port);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseHostPortGoodTest,
    testing::Values(GoodAddress{"127.0.0.1:8080", "127.0.0.1", 8080},
                    GoodAddress{"localhost:50051", "localhost", 50051},
                    GoodAddress{"[::1]:8080", "::1", 8080},
                    GoodAddress{"[::]:1", "::", 1},
                    GoodAddress{":9000", "0.0.0.0", 9000},
                    GoodAddress{"example.com:0", "example.com", 0},
                    GoodAddress{"h:65535", "h", 65535}));

class ParseHostPortBadTest : public testing::TestWithParam<std::string> {};

TEST_P(ParseHostPortBadTest, IsInvalidArgumentNamingTheText) {
  const absl::StatusOr<HostPort> parsed = ParseHostPort(GetParam());
  ASSERT_FALSE(parsed.ok()) << GetParam() << " parsed as " << parsed->ToString();
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("'" + GetParam() + "'"), absl::string_view::npos)
      << parsed.status();
}

INSTANTIATE_TEST_SUITE_P(Table, ParseHostPortBadTest,
                         testing::Values("", "localhost", "8080", "host:", "host:http",
                                         "host:65536", "host:-1", "host:99999999999", "::1:80",
                                         "[::1:80", "[]:80", "::1]:80"));

TEST(HostPortTest, ToStringBracketsIpv6Only) {
  EXPECT_EQ((HostPort{"127.0.0.1", 8080}).ToString(), "127.0.0.1:8080");
  EXPECT_EQ((HostPort{"::1", 8080}).ToString(), "[::1]:8080");
  EXPECT_EQ((HostPort{"localhost", 0}).ToString(), "localhost:0");
}

TEST(HostPortTest, ToStringRoundTripsThroughParse) {
  for (const char* text : {"127.0.0.1:1", "[fe80::1]:65535", "db.internal:5432"}) {
    const absl::StatusOr<HostPort> parsed = ParseHostPort(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->ToString(), text);
  }
}

TEST(HostPortListTest, ParsesEveryEntryInOrder) {
  const absl::StatusOr<std::vector<HostPort>> list = ParseHostPortList("127.0.1.1:50051, [::1]:1,replicas.svc:50051");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].ToString(), "127.0.1.1:50051");
  EXPECT_EQ((*list)[1].ToString(), "[::1]:1");
  EXPECT_EQ((*list)[2].ToString(), "replicas.svc:50051");
}

TEST(HostPortListTest, ASingleAddressIsAListOfOne) {
  const absl::StatusOr<std::vector<HostPort>> list = ParseHostPortList("127.0.0.1:50051");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 1u);
}

TEST(HostPortListTest, RejectsEmptyEntriesBadAddressesAndRepeats) {
  for (const char* text : {"", ",", "a:1,", "a:1,,b:2", "a:1,b", "a:1,a:1"}) {
    const absl::StatusOr<std::vector<HostPort>> list = ParseHostPortList(text);
    ASSERT_FALSE(list.ok()) << text;
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace stockfeed

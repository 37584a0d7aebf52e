#include "core/static_files.h"

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

constexpr absl::string_view kRoot = "/srv/web";

struct Good {
  std::string target;
  std::string file;  // relative to kRoot
};

class ResolveStaticPathGoodTest : public testing::TestWithParam<Good> {};

TEST_P(ResolveStaticPathGoodTest, MapsInsideTheRoot) {
  EXPECT_EQ(ResolveStaticPath(kRoot, GetParam().target), "/srv/web/" + GetParam().file);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ResolveStaticPathGoodTest,
    testing::Values(Good{"/", "index.html"}, Good{"/index.html", "index.html"}, Good{"/app.js", "app.js"},
                    Good{"/js/model.js", "js/model.js"}, Good{"/js/model.js?v=3", "js/model.js"},
                    Good{"/?x=../../etc/passwd", "index.html"}, Good{"/style.css#top", "style.css"},
                    Good{"//etc/passwd", "etc/passwd"}, Good{"/js//model.js", "js/model.js"},
                    Good{"/my%20file.txt", "my file.txt"}, Good{"/a%2fb", "a/b"},
                    Good{"/vendor/chart.umd.js", "vendor/chart.umd.js"},
                    Good{"/a..b", "a..b"},
                    // Decoded once: the survivor is a plain (odd) file name.
                    Good{"/%252e%252e/x", "%2e%2e/x"}));

class ResolveStaticPathBadTest : public testing::TestWithParam<std::string> {};

TEST_P(ResolveStaticPathBadTest, IsRefused) {
  const std::optional<std::string> file = ResolveStaticPath(kRoot, GetParam());
  EXPECT_EQ(file, std::nullopt) << GetParam() << " -> " << file.value_or("");
}

INSTANTIATE_TEST_SUITE_P(
    Table, ResolveStaticPathBadTest,
    testing::Values("", "index.html", "http://evil.example/x", "*", "/..", "/../etc/passwd",
                    "/js/../../etc/passwd", "/js/..", "/./index.html", "/%2e%2e/etc/passwd",
                    "/%2E%2E%2Fetc%2Fpasswd", "/%2e%2e%2f%2e%2e%2fetc", "/js/%2e%2e/%2e%2e/x",
                    "/..%5c..%5cetc", "/a\\b", "/js\\..\\..\\x", "/index.html%00.png", "/%00",
                    "/.env", "/.git/config", "/js/.hidden", "/%2egit/config", "/...", "/a%zz",
                    "/a%", "/a%4"));

TEST(ResolveStaticPathTest, RootWithTrailingSlash) {
  EXPECT_EQ(ResolveStaticPath("/srv/web/", "/app.js"), "/srv/web/app.js");
  EXPECT_EQ(ResolveStaticPath("web", "/"), "web/index.html");
}

TEST(ResolveStaticPathTest, HostileTargetsNeverLeaveTheRoot) {
  for (const char* target :
       {"//etc/passwd", "///etc//passwd", "/%2f%2fetc/passwd", "/js/%2e%2e%2e/x", "/%5c%5cserver/share",
        "/..;/x", "/%c0%ae%c0%ae/x", "/a/./b", "/~root"}) {
    const std::optional<std::string> file = ResolveStaticPath(kRoot, target);
    if (!file) continue;
    EXPECT_TRUE(absl::StartsWith(*file, "/srv/web/")) << target << " -> " << *file;
    EXPECT_FALSE(absl::StrContains(*file, "/../")) << target << " -> " << *file;
    EXPECT_FALSE(absl::StrContains(*file, "/./")) << target << " -> " << *file;
    EXPECT_FALSE(absl::StrContains(*file, '\\')) << target << " -> " << *file;
  }
}

TEST(ContentTypeForTest, KnownExtensions) {
  EXPECT_EQ(ContentTypeFor("/srv/web/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("data.json"), "application/json");
  EXPECT_EQ(ContentTypeFor("chart.umd.js.map"), "application/json");
  EXPECT_EQ(ContentTypeFor("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("logo.png"), "image/png");
  EXPECT_EQ(ContentTypeFor("favicon.ico"), "image/x-icon");
  EXPECT_EQ(ContentTypeFor("robots.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("font.woff2"), "font/woff2");
}

TEST(ContentTypeForTest, UnknownIsOctetStream) {
  EXPECT_EQ(ContentTypeFor("binary.exe"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("README"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("page.html.bak"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("font.woff"), "application/octet-stream");
}

TEST(CacheControlForTest, VendoredFilesAreCachedOthersRevalidate) {
  EXPECT_EQ(CacheControlFor("/vendor/chart.umd.js"), "public, max-age=86400");
  EXPECT_EQ(CacheControlFor("/app.js"), "no-cache");
  EXPECT_EQ(CacheControlFor("/"), "no-cache");
  EXPECT_EQ(CacheControlFor("/vendorish.js"), "no-cache");
  // Only the URL decides: a web root that happens to live under a vendor/ directory does not.
  EXPECT_EQ(CacheControlFor("/js/vendor/x.js"), "no-cache");
}

}  // namespace
}  // namespace stockfeed::ws_gateway

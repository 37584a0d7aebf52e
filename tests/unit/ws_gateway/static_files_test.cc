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
                    "/a%", "/a%4", "/node_modules/lightweight-charts/package.json",
                    "/js/node_modules/x.js"));

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

TEST(ServedContentTypeTest, TheDashboardsKindsOfFile) {
  EXPECT_EQ(ServedContentType("/srv/web/index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ServedContentType("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ServedContentType("mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ServedContentType("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ServedContentType("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(ServedContentType("logo.png"), "image/png");
  EXPECT_EQ(ServedContentType("favicon.ico"), "image/x-icon");
  EXPECT_EQ(ServedContentType("robots.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(ServedContentType("font.woff2"), "font/woff2");
  EXPECT_EQ(ServedContentType("vendor/lightweight-charts.LICENSE"), "text/plain; charset=utf-8");
}

TEST(ServedContentTypeTest, AnythingElseIsNotServed) {
  for (const char* path : {"package.json", "package-lock.json", "build.sh", "chart.js.map", "binary.exe", "README",
                           "page.html.bak", "font.woff", "Makefile", "main.cc"}) {
    EXPECT_EQ(ServedContentType(path), std::nullopt) << path;
  }
}

TEST(JudgeOpenedFileTest, OnlyRegularFilesReallyUnderTheRoot) {
  EXPECT_EQ(JudgeOpenedFile(FileKind::kRegular, "/srv/web/app.js", "/srv/web"), StaticVerdict::kServe);
  EXPECT_EQ(JudgeOpenedFile(FileKind::kRegular, "/srv/web/js/a.js", "/srv/web/"), StaticVerdict::kServe);
  // A symlink resolved to outside: not found, whatever it is.
  EXPECT_EQ(JudgeOpenedFile(FileKind::kRegular, "/etc/shadow", "/srv/web"), StaticVerdict::kNotFound);
  EXPECT_EQ(JudgeOpenedFile(FileKind::kRegular, "/srv/website/x.js", "/srv/web"), StaticVerdict::kNotFound);
  EXPECT_EQ(JudgeOpenedFile(FileKind::kRegular, "/srv/web", "/srv/web"), StaticVerdict::kNotFound);
  EXPECT_EQ(JudgeOpenedFile(FileKind::kRegular, "", "/srv/web"), StaticVerdict::kNotFound);
  EXPECT_EQ(JudgeOpenedFile(FileKind::kRegular, "/srv/web/x.js", ""), StaticVerdict::kNotFound)
      << "an unresolvable root serves nothing";
  EXPECT_EQ(JudgeOpenedFile(FileKind::kDirectory, "/srv/web/js", "/srv/web"), StaticVerdict::kForbidden);
  EXPECT_EQ(JudgeOpenedFile(FileKind::kOther, "/srv/web/fifo.js", "/srv/web"), StaticVerdict::kForbidden);
  EXPECT_EQ(JudgeOpenedFile(FileKind::kOther, "/dev/zero", "/srv/web"), StaticVerdict::kNotFound);
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

// Hostile web roots: what an operator's copy of web/ may contain (a symlink
// out of it, a FIFO, directories, npm files) must never be served, block
// the io thread or drop the connection without an answer; asked for over
// and over, the symlinks and the FIFO cost the gateway's other clients nothing.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "probe.h"
#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace fs = std::filesystem;

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class HostileWebRootTest : public ::testing::Test {
 protected:
  static constexpr double kRate = 1000;  // enough prices for a probe's p99

  void SetUp() override {
    // Not under TestOutputDir(): System starts by emptying that.
    char dir_template[] = "/tmp/stockfeed-webroot-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    root_ = dir_ / "web";
    outside_ = dir_ / "secret.txt";
    WriteFile(root_ / "index.html", "<!doctype html><title>stockfeed</title>");
    WriteFile(root_ / "js" / "app.js", "export const ok = 1;\n");
    WriteFile(root_ / "package.json", R"({"name":"web"})");
    WriteFile(root_ / "build.sh", "#!/bin/sh\n");
    WriteFile(root_ / "node_modules" / "lib" / "index.js", "module.exports = 1;\n");
    WriteFile(outside_, "the shadow file\n");
    fs::create_symlink(outside_, root_ / "leak.txt");
    fs::create_symlink("/etc/passwd", root_ / "passwd.js");
    fs::create_symlink(root_ / "js" / "app.js", root_ / "alias.js");  // stays inside: fine
    fs::create_directory_symlink("/etc", root_ / "etc");
    fs::create_directories(root_ / "bundle.js");
    ASSERT_EQ(::mkfifo((root_ / "feed.js").c_str(), 0644), 0);
    std::vector<std::string> gateway_args = SmallFeedLogArgs();
    gateway_args.push_back("--web_root=" + root_.string());
    system_ = std::make_unique<System>(System::Options{.rate = kRate, .gateway_args = gateway_args});
  }

  void TearDown() override {
    system_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path dir_, root_, outside_;
  std::unique_ptr<System> system_;
};

TEST_F(HostileWebRootTest, ServesOnlyRegularDashboardFilesInsideTheRoot) {
  const int port = system_->gateway_port();
  EXPECT_EQ(HttpGet(port, "/").status, 200);
  EXPECT_EQ(HttpGet(port, "/js/app.js").body, "export const ok = 1;\n");
  EXPECT_EQ(HttpGet(port, "/alias.js").status, 200) << "a symlink that stays inside the root is followed";

  // Symlinks out of the root: not found, content never sent.
  for (const char* target : {"/leak.txt", "/passwd.js", "/etc/passwd", "/etc/hostname"}) {
    const HttpResult result = HttpGet(port, target);
    EXPECT_EQ(result.status, 404) << target;
    EXPECT_EQ(result.body.find("shadow"), std::string::npos) << target;
    EXPECT_EQ(result.body.find("root:"), std::string::npos) << target;
  }
  // Not the dashboard's kind of file, or npm's.
  EXPECT_EQ(HttpGet(port, "/package.json").status, 404);
  EXPECT_EQ(HttpGet(port, "/build.sh").status, 404);
  EXPECT_NE(HttpGet(port, "/node_modules/lib/index.js").status, 200);
  // A directory gets an answer, not a dropped connection: 404 by its name,
  // or 403 once opened when its name looks like a file.
  EXPECT_EQ(HttpGet(port, "/js").status, 404);
  EXPECT_EQ(HttpGet(port, "/js/").status, 404);
  EXPECT_EQ(HttpGet(port, "/bundle.js").status, 403);
}

TEST_F(HostileWebRootTest, AFifoIsRefusedAtOnceAndBlocksNobody) {
  const int port = system_->gateway_port();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(HttpGet(port, "/feed.js").status, 403);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // Both io threads still answer (a blocked one would time these out).
  for (int i = 0; i < 8; ++i) EXPECT_EQ(HttpGet(port, "/js/app.js").status, 200) << i;
  WsClient client(port, "/ws?protocol=v1");
  EXPECT_TRUE(client.ReadUntilType("connected").has_value());
  EXPECT_TRUE(system_->gateway().running());
}

TEST_F(HostileWebRootTest, RequestsForSymlinksAndAFifoInALoopCostOthersNothing) {
  WaitForFullFeedLog(kRate);
  const int port = system_->gateway_port();
  const std::pair<const char*, int> requests[] = {
      {"/leak.txt", 404}, {"/passwd.js", 404}, {"/etc/passwd", 404}, {"/feed.js", 403}};
  std::atomic<int> answered{0}, wrongly_answered{0};
  const Impact impact =
      MeasureImpact(system_->gateway(), port, "/ws?protocol=v1", [&](const std::atomic<bool>& stop) {
    while (!stop.load()) {
      for (const auto& [target, expected_status] : requests) {
        if (HttpGet(port, target).status == expected_status) {
          ++answered;
        } else {
          ++wrongly_answered;
        }
      }
    }
  });
  ExpectContained(system_->gateway(), impact);
  std::cout << answered.load() << " requests answered as expected, " << wrongly_answered.load() << " not\n";
  EXPECT_GE(answered.load(), 100) << "the adversary hardly sent anything";
  EXPECT_EQ(wrongly_answered.load(), 0);
}

}  // namespace
}  // namespace stockfeed::testing

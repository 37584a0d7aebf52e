// The command line of the real binaries: --help, --version, flags from the
// environment, and settings that cannot work refused at start.
#include <stdlib.h>

#include <string>

#include <gtest/gtest.h>

#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

struct Finished {
  std::optional<int> exit_code;
  std::string output;
};

Finished RunToEnd(const std::string& binary, const std::vector<std::string>& args) {
  ChildProcess process(binary, args, TestOutputDir() + "/run.log");
  Finished run;
  run.exit_code = process.Wait(seconds(20));
  run.output = process.Log();
  return run;
}

// Sets an environment variable for the children started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(CliTest, HelpListsEachProgramsOwnFlagsWithDefaultsAndExitsZero) {
  const Finished gateway = RunToEnd(Binaries::Gateway(), {"--help"});
  EXPECT_EQ(gateway.exit_code, 0) << gateway.output;
  EXPECT_NE(gateway.output.find("--upstream ("), std::string::npos) << gateway.output;
  EXPECT_NE(gateway.output.find("default: 127.0.0.1:8080; env: STOCKFEED_LISTEN"), std::string::npos)
      << gateway.output;
  EXPECT_EQ(gateway.output.find("No flags matched"), std::string::npos);
  EXPECT_EQ(gateway.output.find("--flagfile"), std::string::npos) << "only the program's own flags";

  const Finished service = RunToEnd(Binaries::PriceService(), {"--help"});
  EXPECT_EQ(service.exit_code, 0) << service.output;
  for (const char* flag : {"--database_url (", "--admin_listen (", "--log_format (", "--rate ("}) {
    EXPECT_NE(service.output.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(service.output.find("default: 127.0.0.1:9464;"), std::string::npos);
}

TEST(CliTest, HelpOfTheCommandLineToolsListsTheirOwnFlags) {
  const std::vector<std::pair<std::string, const char*>> tools = {{STOCKFEED_TAIL_PATH, "--state_file ("},
                                                                  {STOCKFEED_TOKEN_PATH, "--ttl ("}};
  for (const auto& [binary, flag] : tools) {
    const Finished run = RunToEnd(binary, {"--help"});
    EXPECT_EQ(run.exit_code, 0) << binary << "\n" << run.output;
    EXPECT_NE(run.output.find(flag), std::string::npos) << binary << "\n" << run.output;
    EXPECT_EQ(run.output.find("No flags matched"), std::string::npos) << binary;
  }
}

TEST(CliTest, VersionPrintsVersionAndGitRevision) {
  for (const std::string& binary : {Binaries::Gateway(), Binaries::PriceService()}) {
    const Finished run = RunToEnd(binary, {"--version"});
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_NE(run.output.find(" 0.1.0 (git "), std::string::npos) << run.output;
  }
}

TEST(CliTest, FlagsComeFromTheEnvironmentAndTheCommandLineWins) {
  const int port = FreePort();
  {
    ScopedEnv listen("STOCKFEED_LISTEN", "127.0.0.1:" + std::to_string(port));
    ScopedEnv level("STOCKFEED_LOG_LEVEL", "nonsense");  // overridden below: must not matter
    ChildProcess gateway(Binaries::Gateway(),
                         {"--web_root=" + Binaries::WebRoot(), "--upstream=127.0.0.1:1", "--log_level=info"},
                         TestOutputDir() + "/ws_gateway.log");
    ASSERT_TRUE(WaitForPort(port, seconds(10))) << gateway.Log();
    EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  }
  ScopedEnv rate("STOCKFEED_RATE", "fast");
  const Finished bad = RunToEnd(Binaries::PriceService(), {"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("STOCKFEED_RATE='fast'"), std::string::npos) << bad.output;
}

TEST(CliTest, UnparseableDatabaseUrlIsAStartupError) {
  const Finished run = RunToEnd(Binaries::PriceService(), {"--source=postgres", "--database_url=postgresql://h:port/db?nope=1",
                                                      "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("--database_url: "), std::string::npos) << run.output;
}

TEST(CliTest, WebRootWithoutIndexHtmlIsAStartupError) {
  const Finished run = RunToEnd(Binaries::Gateway(), {"--web_root=" + TestOutputDir(), "--listen=127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("has no index.html"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace stockfeed::testing

#include "stockfeed/common/cli.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace stockfeed {
namespace {

// The program's own flags: ABSL_FLAG appears only in main.cpp.
std::vector<absl::CommandLineFlag*> OwnFlags() {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::EndsWith(flag->Filename(), "main.cpp")) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(), [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  return flags;
}

std::string EnvName(absl::string_view flag) { return absl::StrCat("STOCKFEED_", absl::AsciiStrToUpper(flag)); }

void PrintHelp(absl::string_view program, absl::string_view usage) {
  std::cout << program << ": " << usage << "\n\nUsage: " << program << " [--flag=value ...]\n\nFlags:\n";
  for (const absl::CommandLineFlag* flag : OwnFlags()) {
    std::string default_value = flag->DefaultValue();
    if (default_value.empty()) default_value = "\"\"";
    std::cout << "  --" << flag->Name() << " (" << flag->Help() << ")\n      default: " << default_value
              << "; env: " << EnvName(flag->Name()) << "\n";
  }
  std::cout << "\n  --help, --version; --helpfull lists the flags of every library too.\n"
               "Every flag can also come from the environment variable shown; the command line wins.\n";
}

// Whether `arg` sets flag `name`: --name, -name, --name=..., --noname.
bool Sets(absl::string_view arg, absl::string_view name) {
  if (!absl::ConsumePrefix(&arg, "--")) absl::ConsumePrefix(&arg, "-");
  return arg == name || arg == absl::StrCat("no", name) || absl::StartsWith(arg, absl::StrCat(name, "="));
}

}  // namespace

std::string VersionLine(absl::string_view program) {
  return absl::StrCat(program, " ", STOCKFEED_VERSION, " (git ", STOCKFEED_GIT_REVISION, ")");
}

absl::Status PrepareCommandLine(int argc, char** argv, absl::string_view program, absl::string_view usage) {
  std::vector<absl::string_view> args(argv + 1, argv + argc);
  for (absl::string_view arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      PrintHelp(program, usage);
      std::exit(EXIT_SUCCESS);
    }
    if (arg == "--version" || arg == "-version") {
      std::cout << VersionLine(program) << "\n";
      std::exit(EXIT_SUCCESS);
    }
  }
  for (absl::CommandLineFlag* flag : OwnFlags()) {
    const std::string env = EnvName(flag->Name());
    const char* value = std::getenv(env.c_str());
    if (value == nullptr) continue;
    if (std::any_of(args.begin(), args.end(), [&](absl::string_view arg) { return Sets(arg, flag->Name()); })) {
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(env, "='", value, "': ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace stockfeed

// What every stockfeed program does with its command line before parsing it.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace stockfeed {

// Before absl::ParseCommandLine:
//  - `--help` (or -h): prints `usage` and the program's own flags (those
//    defined in its main.cpp) with their defaults, exits 0. `--helpfull`
//    stays abseil's (every flag of every library).
//  - `--version`: prints "PROGRAM VERSION (git REVISION)", exits 0.
//  - every own flag not given on the command line takes its value from the
//    environment variable STOCKFEED_<FLAG> (upper case) if set; the command
//    line still wins. A bad value is an error naming the variable.
absl::Status PrepareCommandLine(int argc, char** argv, absl::string_view program, absl::string_view usage);

// "PROGRAM VERSION (git REVISION)", from the build's configure step.
std::string VersionLine(absl::string_view program);

}  // namespace stockfeed

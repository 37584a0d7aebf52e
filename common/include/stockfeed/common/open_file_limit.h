#pragma once

#include <cstdint>

namespace stockfeed {

// Raises this process's soft open-file limit (RLIMIT_NOFILE) to its hard
// limit, so connections are bounded by what the administrator allows rather
// than the common default of 1,024. Returns the soft limit now in force.
uint64_t RaiseOpenFileLimit();

}  // namespace stockfeed

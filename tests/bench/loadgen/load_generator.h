// Runs one load: ramps up connections, warms up, measures, and samples the
// servers under test. Progress lines go to `log`.
#pragma once

#include <ostream>

#include "load_config.h"
#include "load_result.h"

namespace stockfeed::bench {

// Throws std::runtime_error if the host cannot be resolved, std::system_error
// if a worker cannot set up its epoll loop.
LoadResult RunLoad(const LoadConfig& config, std::ostream& log);

}  // namespace stockfeed::bench

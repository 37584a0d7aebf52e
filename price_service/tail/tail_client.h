#pragma once

#include "absl/status/status.h"
#include "tail/tail_config.h"

namespace stockfeed::tail {

// Runs one stockfeed_tail command against price_service: prices on stdout,
// diagnostics (reconnects, gaps, epoch changes) on stderr. A stream runs
// until --count, --duration, SIGINT or SIGTERM, then saves its position.
// Construct nothing that starts threads before calling it: it takes over
// SIGINT/SIGTERM first.
absl::Status RunTail(const TailConfig& config);

}  // namespace stockfeed::tail

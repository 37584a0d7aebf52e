// Runs N Subscribe streams against price_service for warmup + duration
// seconds and collects what they received.
#pragma once

#include <ostream>

#include "grpc_load_result.h"

namespace stockfeed::bench {

// Progress lines (one a second when config.print_intervals) go to `log`.
GrpcLoadResult RunGrpcLoad(const GrpcLoadConfig& config, std::ostream& log);

}  // namespace stockfeed::bench

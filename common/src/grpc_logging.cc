#include "stockfeed/common/grpc_logging.h"

#include <grpc/support/log.h>

#include "spdlog/spdlog.h"

namespace stockfeed {
namespace {

void LogFromGrpc(gpr_log_func_args* args) {
  const spdlog::level::level_enum level = args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::err
                                          : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                                                    : spdlog::level::debug;
  spdlog::log(level, "grpc: {} ({}:{})", args->message, args->file, args->line);
}

}  // namespace

void RouteGrpcLogging() {
  gpr_set_log_function(LogFromGrpc);
  gpr_set_log_verbosity(spdlog::should_log(spdlog::level::debug) ? GPR_LOG_SEVERITY_DEBUG : GPR_LOG_SEVERITY_ERROR);
}

}  // namespace stockfeed

#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "core/service_config.h"

namespace stockfeed::price_service {

// price_service assembled: hub, source and gRPC server (with health checking
// and reflection). Tests start one in-process; main() uses RunPriceService.
class PriceServer {
 public:
  static absl::StatusOr<std::unique_ptr<PriceServer>> Start(const ServiceConfig& config);
  ~PriceServer();

  // The bound port (useful when the config asked for port 0).
  int port() const;
  // SIGHUP: re-reads the token keys; on error the previous ones stay.
  absl::Status Reload();
  // Stops the source, cancels every stream and waits up to the grace period.
  void Shutdown();

 private:
  struct Parts;
  explicit PriceServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Runs until SIGINT or SIGTERM, then shuts down cleanly.
absl::Status RunPriceService(const ServiceConfig& config);

}  // namespace stockfeed::price_service

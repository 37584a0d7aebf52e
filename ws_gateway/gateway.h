#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "core/gateway_config.h"

namespace stockfeed::ws_gateway {

// ws_gateway assembled: io shards, listener, upstream gRPC client and the
// broadcaster between them. Tests start one in-process; main() uses RunGateway.
class Gateway {
 public:
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(const GatewayConfig& config);
  ~Gateway();

  int port() const;
  // Re-reads the token keys (and TLS certificate); on error keeps the ones in
  // use. Connected clients are untouched. Thread-safe.
  absl::Status Reload();
  // Stops accepting and the upstream stream, sends close 1001 to every client
  // and waits for them up to --drain_timeout. Idempotent.
  void Drain();

 private:
  struct Parts;
  explicit Gateway(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// Runs until SIGINT or SIGTERM, then drains and returns.
absl::Status RunGateway(const GatewayConfig& config);

}  // namespace stockfeed::ws_gateway

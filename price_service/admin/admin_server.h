#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "stockfeed/common/host_port.h"
#include "stockfeed/common/metrics.h"

namespace stockfeed::price_service {

// The operator's HTTP port (--admin_listen), apart from the gRPC port so it
// can stay on loopback or a management network:
//   GET /metrics  Prometheus text format 0.0.4
//   GET /healthz  200 while the process runs
//   GET /readyz   200 while the gRPC health says SERVING, else 503
// One io thread; requests are small, bounded and time out.
class AdminServer {
 public:
  // Binds `address` (port 0 = any free port); a port in use is an error.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const HostPort& address,
                                                            const metrics::Registry& registry,
                                                            std::function<bool()> serving);
  ~AdminServer();

  int port() const { return port_; }

 private:
  struct Impl;
  explicit AdminServer(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace stockfeed::price_service

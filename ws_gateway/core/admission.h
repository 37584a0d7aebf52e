#pragma once

#include <optional>
#include <variant>

#include "absl/time/time.h"
#include "connection_gate.h"
#include "head_checks.h"
#include "log_throttle.h"
#include "origin_policy.h"
#include "request_head.h"

namespace stockfeed::ws_gateway {

// The ordered checks every HTTP request passes before any route sees it,
// WebSocket upgrades and plain HTTP alike (docs/security.md):
//   head limits → handshake fields → Origin.
// (The connection itself has already passed the ConnectionGate at accept.)
class AdmissionChain {
 public:
  AdmissionChain(HeadLimits limits, OriginPolicy origins)
      : limits_(limits), origins_(std::move(origins)) {}

  std::optional<Rejection> Check(const RequestHead& head) const;

 private:
  const HeadLimits limits_;
  const OriginPolicy origins_;
};

// What stands at the gateway's door, shared by the listener and every shard.
struct FrontDoor {
  ConnectionGate gate;
  AdmissionChain chain;
  LogThrottle refusals_log{absl::Seconds(10)};
};

}  // namespace stockfeed::ws_gateway

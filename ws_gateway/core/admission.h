#pragma once

#include <optional>
#include <variant>

#include "absl/time/time.h"
#include "connection_gate.h"
#include "head_checks.h"
#include "log_throttle.h"
#include "origin_policy.h"
#include "request_head.h"
#include "token_gate.h"

namespace stockfeed::ws_gateway {

// A request let in, and who sent it when it carried a token.
struct Admission {
  std::optional<TokenClaims> claims;
};

// The ordered checks every HTTP request passes before any route sees it,
// WebSocket upgrades and plain HTTP alike (docs/security.md):
//   head limits → handshake fields → Origin → token.
// (The connection itself has already passed the ConnectionGate at accept.)
class AdmissionChain {
 public:
  AdmissionChain(HeadLimits limits, OriginPolicy origins) : limits_(limits), origins_(std::move(origins)) {}

  std::variant<Admission, Rejection> Admit(const RequestHead& head, absl::Time now) const;
  TokenGate& tokens() { return tokens_; }
  const TokenGate& tokens() const { return tokens_; }

 private:
  const HeadLimits limits_;
  const OriginPolicy origins_;
  TokenGate tokens_;
};

// What stands at the gateway's door, shared by the listener and every shard.
struct FrontDoor {
  ConnectionGate gate;
  AdmissionChain chain;
  LogThrottle refusals_log{absl::Seconds(10)};
};

}  // namespace stockfeed::ws_gateway

#include "connection_gate.h"

namespace stockfeed::ws_gateway {

ConnectionGate::Slot& ConnectionGate::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    if (gate_) gate_->Release(address_);
    gate_ = other.gate_;
    address_ = std::move(other.address_);
    other.gate_ = nullptr;
  }
  return *this;
}

ConnectionGate::Slot::~Slot() {
  if (gate_) gate_->Release(address_);
}

ConnectionGate::ConnectionGate(Limits limits)
    : limits_(limits),
      // A cap of N per second admits bursts of N, then N per second.
      new_connections_(limits.new_connections_per_second,
                       std::max(1.0, limits.new_connections_per_second)) {}

ConnectionGate::Verdict ConnectionGate::TryReserve(const std::string& address, absl::Time now, Slot& slot) {
  std::lock_guard lock(mu_);
  if (open_ >= limits_.max_connections) return Verdict::kFull;
  if (limits_.max_per_address > 0) {
    const auto it = per_address_.find(address);
    if (it != per_address_.end() && it->second >= limits_.max_per_address) return Verdict::kAddressFull;
  }
  // Checked last: a socket refused for another reason costs no token.
  if (limits_.new_connections_per_second > 0 && !new_connections_.Allow(now)) return Verdict::kTooFast;
  ++open_;
  if (limits_.max_per_address > 0) ++per_address_[address];
  slot = Slot(this, address);
  return Verdict::kAdmitted;
}

size_t ConnectionGate::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

void ConnectionGate::Release(const std::string& address) {
  std::lock_guard lock(mu_);
  --open_;
  if (limits_.max_per_address == 0) return;
  const auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

int StatusFor(ConnectionGate::Verdict verdict) {
  switch (verdict) {
    case ConnectionGate::Verdict::kAddressFull:
      return 429;
    case ConnectionGate::Verdict::kFull:
    case ConnectionGate::Verdict::kTooFast:
      return 503;
    case ConnectionGate::Verdict::kAdmitted:
      break;
  }
  return 200;
}

const char* ReasonFor(ConnectionGate::Verdict verdict) {
  switch (verdict) {
    case ConnectionGate::Verdict::kFull:
      return "the gateway is at its connection limit";
    case ConnectionGate::Verdict::kAddressFull:
      return "too many connections from your address";
    case ConnectionGate::Verdict::kTooFast:
      return "too many new connections, retry in a second";
    case ConnectionGate::Verdict::kAdmitted:
      break;
  }
  return "ok";
}

}  // namespace stockfeed::ws_gateway

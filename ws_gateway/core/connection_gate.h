#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "rate_limiter.h"

namespace stockfeed::ws_gateway {

// The first check every socket passes, right after accept and before a byte
// is read: a slot under --max_connections (every socket, HTTP or WebSocket,
// counts from accept to close), under --max_connections_per_ip for its
// address, and under the gateway-wide new-connections-per-second cap.
// Thread-safe: the listener reserves, any io thread releases.
class ConnectionGate {
 public:
  struct Limits {
    size_t max_connections = 1;
    size_t max_per_address = 0;          // 0: no per-address limit
    double new_connections_per_second = 0;  // 0: no cap
  };
  enum class Verdict { kAdmitted, kFull, kAddressFull, kTooFast };

  // Holds one slot; releasing it (destruction) frees the slot.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept : gate_(other.gate_), address_(std::move(other.address_)) { other.gate_ = nullptr; }
    Slot& operator=(Slot&& other) noexcept;
    ~Slot();
    const std::string& address() const { return address_; }
    explicit operator bool() const { return gate_ != nullptr; }

   private:
    friend class ConnectionGate;
    Slot(ConnectionGate* gate, std::string address) : gate_(gate), address_(std::move(address)) {}
    ConnectionGate* gate_ = nullptr;
    std::string address_;
  };

  explicit ConnectionGate(Limits limits);

  // A slot for a socket from `address` (an IP address as text), or why not.
  Verdict TryReserve(const std::string& address, absl::Time now, Slot& slot);
  size_t open() const;

 private:
  void Release(const std::string& address);

  const Limits limits_;
  mutable std::mutex mu_;
  size_t open_ = 0;                                     // guarded by mu_
  absl::flat_hash_map<std::string, size_t> per_address_;  // guarded by mu_; no zero entries
  RateLimiter new_connections_;                         // guarded by mu_
};

// HTTP status and short client-facing text for a refused socket.
int StatusFor(ConnectionGate::Verdict verdict);
const char* ReasonFor(ConnectionGate::Verdict verdict);

}  // namespace stockfeed::ws_gateway

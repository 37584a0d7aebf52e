#pragma once

#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace stockfeed::ws_gateway {

// Says whether to log a refusal: once per (address, reason) per interval, so
// a flood from one address costs one log line, not one per request.
// Thread-safe; holds at most `max_keys` entries (then starts over).
class LogThrottle {
 public:
  explicit LogThrottle(absl::Duration interval, size_t max_keys = 10'000)
      : interval_(interval), max_keys_(max_keys) {}

  // True when this (address, reason) was not logged within the interval;
  // `suppressed` then holds how many were skipped since the last line.
  bool ShouldLog(absl::string_view address, absl::string_view reason, absl::Time now, uint64_t& suppressed);

 private:
  struct Entry {
    absl::Time last;
    uint64_t suppressed = 0;
  };
  const absl::Duration interval_;
  const size_t max_keys_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace stockfeed::ws_gateway

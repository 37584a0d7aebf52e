#include "log_throttle.h"

#include "absl/strings/str_cat.h"

namespace stockfeed::ws_gateway {

bool LogThrottle::ShouldLog(absl::string_view address, absl::string_view reason, absl::Time now,
                            uint64_t& suppressed) {
  std::lock_guard lock(mu_);
  if (entries_.size() >= max_keys_) entries_.clear();
  auto [it, inserted] = entries_.try_emplace(absl::StrCat(address, " ", reason), Entry{now, 0});
  suppressed = 0;
  if (inserted) return true;
  Entry& entry = it->second;
  if (now - entry.last < interval_) {
    ++entry.suppressed;
    return false;
  }
  suppressed = entry.suppressed;
  entry = Entry{now, 0};
  return true;
}

}  // namespace stockfeed::ws_gateway

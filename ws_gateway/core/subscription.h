#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "control_message.h"

namespace stockfeed::ws_gateway {

// What one WebSocket client receives: all symbols or a set, and all sources
// or a set. "*" in a subscribe means all; in an unsubscribe, none.
class Subscription {
 public:
  Subscription() = default;
  // From the connect URL (?symbols=…&sources=…); absent means all.
  Subscription(const std::optional<std::vector<std::string>>& symbols,
               const std::optional<std::vector<std::string>>& sources);

  bool Matches(absl::string_view symbol, absl::string_view source) const {
    return (all_symbols_ || symbols_.contains(symbol)) && (all_sources_ || sources_.contains(source));
  }

  // Adds names; fails (changing nothing) past `max_symbols` symbols.
  std::optional<ControlError> Add(const std::vector<std::string>& symbols,
                                  const std::vector<std::string>& sources, size_t max_symbols);
  // Removes names; removing one name from "all" is refused (subscribe to a list first).
  std::optional<ControlError> Remove(const std::vector<std::string>& symbols,
                                     const std::vector<std::string>& sources);

  // Sorted names; {"*"} for all.
  std::vector<std::string> SymbolList() const;
  std::vector<std::string> SourceList() const;
  bool all_sources() const { return all_sources_; }

 private:
  bool all_symbols_ = true;
  bool all_sources_ = true;
  absl::flat_hash_set<std::string> symbols_;
  absl::flat_hash_set<std::string> sources_;
};

}  // namespace stockfeed::ws_gateway

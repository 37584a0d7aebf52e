#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace stockfeed {

// Which symbol/source pairs a subscriber wants. An empty set means "all".
class SymbolFilter {
 public:
  SymbolFilter() = default;
  SymbolFilter(const std::vector<std::string>& symbols, const std::vector<std::string>& sources);

  bool Matches(absl::string_view symbol, absl::string_view source) const {
    return (symbols_.empty() || symbols_.contains(symbol)) &&
           (sources_.empty() || sources_.contains(source));
  }
  bool MatchesAll() const { return symbols_.empty() && sources_.empty(); }
  const absl::flat_hash_set<std::string>& symbols() const { return symbols_; }
  const absl::flat_hash_set<std::string>& sources() const { return sources_; }

 private:
  absl::flat_hash_set<std::string> symbols_;
  absl::flat_hash_set<std::string> sources_;
};

}  // namespace stockfeed

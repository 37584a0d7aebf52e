#include "subscription.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace stockfeed::ws_gateway {
namespace {

constexpr absl::string_view kAll = "*";

bool Contains(const std::vector<std::string>& names, absl::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> Sorted(bool all, const absl::flat_hash_set<std::string>& names) {
  if (all) return {std::string(kAll)};
  std::vector<std::string> list(names.begin(), names.end());
  std::sort(list.begin(), list.end());
  return list;
}

// Refused when removing single names from "all": subscribe to a list first.
std::optional<ControlError> CheckRemovable(absl::string_view kind, const std::vector<std::string>& names,
                                           bool all) {
  if (names.empty() || Contains(names, kAll) || !all) return std::nullopt;
  return ControlError{"invalid_message",
                      absl::StrCat("subscribed to all ", kind, "; subscribe to a list before removing ",
                                   "single ones, or unsubscribe from \"*\"")};
}

void RemoveNames(const std::vector<std::string>& names, bool& all, absl::flat_hash_set<std::string>& set) {
  if (names.empty()) return;
  if (Contains(names, kAll)) {
    all = false;
    set.clear();
    return;
  }
  for (const std::string& name : names) set.erase(name);
}

}  // namespace

Subscription::Subscription(const std::optional<std::vector<std::string>>& symbols,
                           const std::optional<std::vector<std::string>>& sources) {
  if (symbols && !Contains(*symbols, kAll)) {
    all_symbols_ = false;
    symbols_.insert(symbols->begin(), symbols->end());
  }
  if (sources && !Contains(*sources, kAll)) {
    all_sources_ = false;
    sources_.insert(sources->begin(), sources->end());
  }
}

std::optional<ControlError> Subscription::Add(const std::vector<std::string>& symbols,
                                              const std::vector<std::string>& sources,
                                              size_t max_symbols) {
  if (!symbols.empty() && !Contains(symbols, kAll)) {
    // Subscribing to a list while receiving "all" narrows to that list: it is
    // what a client that picks a watch list means.
    const size_t kept = all_symbols_ ? 0 : symbols_.size();
    absl::flat_hash_set<absl::string_view> added;
    for (const std::string& symbol : symbols) {
      if (all_symbols_ || !symbols_.contains(symbol)) added.insert(symbol);
    }
    if (kept + added.size() > max_symbols) {
      return ControlError{"too_many_symbols",
                          absl::StrCat("a connection may subscribe to at most ", max_symbols,
                                       " symbols (has ", kept, ", asked for ", added.size(), " more)")};
    }
  }
  const auto add = [](const std::vector<std::string>& names, bool& all,
                      absl::flat_hash_set<std::string>& set) {
    if (names.empty()) return;
    if (Contains(names, kAll)) {
      all = true;
      set.clear();
      return;
    }
    if (all) set.clear();
    all = false;
    set.insert(names.begin(), names.end());
  };
  add(symbols, all_symbols_, symbols_);
  add(sources, all_sources_, sources_);
  return std::nullopt;
}

std::optional<ControlError> Subscription::Remove(const std::vector<std::string>& symbols,
                                                 const std::vector<std::string>& sources) {
  // Check both before changing either: a refused request changes nothing.
  if (auto error = CheckRemovable("symbols", symbols, all_symbols_)) return error;
  if (auto error = CheckRemovable("sources", sources, all_sources_)) return error;
  RemoveNames(symbols, all_symbols_, symbols_);
  RemoveNames(sources, all_sources_, sources_);
  return std::nullopt;
}

std::vector<std::string> Subscription::SymbolList() const { return Sorted(all_symbols_, symbols_); }
std::vector<std::string> Subscription::SourceList() const { return Sorted(all_sources_, sources_); }

}  // namespace stockfeed::ws_gateway

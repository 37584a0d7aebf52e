#include "stockfeed/common/symbols.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace stockfeed {
namespace {

template <typename AllowedChar>
absl::Status ValidateName(absl::string_view kind, absl::string_view name, AllowedChar allowed) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " must be 1 to ", kMaxNameLength, " characters long"));
  }
  for (char c : name) {
    if (!allowed(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid ", kind, " '", absl::CHexEscape(name), "': character '", absl::CHexEscape(absl::string_view(&c, 1)),
          "' is not allowed"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSymbol(absl::string_view symbol) {
  return ValidateName("symbol", symbol, [](char c) {
    return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-' || c == '^' || c == '=' ||
           c == '/';
  });
}

absl::Status ValidateSource(absl::string_view source) {
  return ValidateName("source", source, [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '.' || c == '-';
  });
}

std::vector<std::string> SplitNameList(absl::string_view text) {
  std::vector<std::string> names;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (!part.empty()) names.emplace_back(part);
  }
  return names;
}

}  // namespace stockfeed

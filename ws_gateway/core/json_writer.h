#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// Appends compact JSON to a string. Hand-rolled because price messages are
// built once per update on the hot path and tests pin their exact bytes.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray(absl::string_view key);
  JsonWriter& EndArray();
  JsonWriter& Key(absl::string_view key);

  JsonWriter& String(absl::string_view key, absl::string_view value);
  JsonWriter& Number(absl::string_view key, double value);
  JsonWriter& Int(absl::string_view key, int64_t value);
  JsonWriter& Uint(absl::string_view key, uint64_t value);
  JsonWriter& Bool(absl::string_view key, bool value);
  // Array elements.
  JsonWriter& StringElement(absl::string_view value);
  // Splices already-encoded JSON as the next element.
  JsonWriter& RawElement(absl::string_view json);

 private:
  template <typename Integer>
  JsonWriter& AppendInteger(absl::string_view key, Integer value);
  void Separator();
  void AppendString(absl::string_view value);

  std::string& out_;
  bool first_ = true;
};

}  // namespace stockfeed::ws_gateway

#include "json_writer.h"

#include <charconv>
#include <cmath>

namespace stockfeed::ws_gateway {

void JsonWriter::Separator() {
  if (!first_) out_.push_back(',');
  first_ = false;
}

JsonWriter& JsonWriter::BeginObject() {
  Separator();
  out_.push_back('{');
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::BeginArray(absl::string_view key) {
  Key(key);
  out_.push_back('[');
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_.push_back(']');
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::Key(absl::string_view key) {
  Separator();
  AppendString(key);
  out_.push_back(':');
  first_ = true;  // the value that follows needs no comma
  return *this;
}

JsonWriter& JsonWriter::String(absl::string_view key, absl::string_view value) {
  Key(key);
  AppendString(value);
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::Number(absl::string_view key, double value) {
  Key(key);
  if (!std::isfinite(value)) {
    out_.append("null");  // JSON has no NaN or Infinity
  } else {
    char buffer[32];
    // Shortest text that reads back as the same double: 189.23, not 189.22999999999999.
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, result.ptr);
  }
  first_ = false;
  return *this;
}

template <typename Integer>
JsonWriter& JsonWriter::AppendInteger(absl::string_view key, Integer value) {
  Key(key);
  char buffer[24];
  out_.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::Int(absl::string_view key, int64_t value) { return AppendInteger(key, value); }

JsonWriter& JsonWriter::Uint(absl::string_view key, uint64_t value) { return AppendInteger(key, value); }

JsonWriter& JsonWriter::Bool(absl::string_view key, bool value) {
  Key(key);
  out_.append(value ? "true" : "false");
  first_ = false;
  return *this;
}

JsonWriter& JsonWriter::StringElement(absl::string_view value) {
  Separator();
  AppendString(value);
  return *this;
}

JsonWriter& JsonWriter::RawElement(absl::string_view json) {
  Separator();
  out_.append(json.data(), json.size());
  return *this;
}

void JsonWriter::AppendString(absl::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_.push_back('"');
  for (const char c : value) {
    switch (c) {
      case '"': out_.append("\\\""); break;
      case '\\': out_.append("\\\\"); break;
      case '\n': out_.append("\\n"); break;
      case '\r': out_.append("\\r"); break;
      case '\t': out_.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out_.append("\\u00");
          out_.push_back(kHex[(c >> 4) & 0xf]);
          out_.push_back(kHex[c & 0xf]);
        } else {
          out_.push_back(c);
        }
    }
  }
  out_.push_back('"');
}

}  // namespace stockfeed::ws_gateway

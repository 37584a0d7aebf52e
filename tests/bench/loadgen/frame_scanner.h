// Pulls the few fields the load generator needs out of a gateway text frame
// without building a DOM: the frame is one JSON object or an array of them
// (batch mode), and only each object's top-level "type", "seq" and
// "event_time_us" matter. Nested values are skipped structurally, so a
// "seq" inside a nested snapshot entry is never mistaken for the object's.
#pragma once

#include <cstdint>
#include <string_view>

namespace stockfeed::bench {

struct ScannedObject {
  std::string_view type;  // raw (unescaped) string; empty if absent
  bool has_seq = false;
  uint64_t seq = 0;
  bool has_event_time = false;
  int64_t event_time_us = 0;

  bool is_price() const { return type == "price"; }
};

// Calls `on_object(const ScannedObject&)` for the frame's object, or for each
// object element of a top-level array, in order. Non-object array elements
// are skipped. Returns false if the frame is not well-formed JSON of that
// shape; objects reported before the error stay reported.
template <typename OnObject>
bool ScanFrame(std::string_view frame, OnObject&& on_object);

namespace detail {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool AtEnd() const { return p_ == end_; }
  bool Consume(char c) {
    SkipSpace();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  char Peek() {
    SkipSpace();
    return p_ < end_ ? *p_ : '\0';
  }

  // Parses one object at the cursor; fills `out` from its top-level members.
  bool Object(ScannedObject& out);
  bool SkipValue(int depth = 0);

 private:
  bool String(std::string_view& out);  // raw contents, escapes left as-is
  bool Integer(std::string_view& digits, bool& negative, bool& integral);

  const char* p_;
  const char* end_;
};

}  // namespace detail

template <typename OnObject>
bool ScanFrame(std::string_view frame, OnObject&& on_object) {
  detail::Scanner s(frame);
  const char first = s.Peek();
  if (first == '{') {
    ScannedObject obj;
    if (!s.Object(obj)) return false;
    on_object(static_cast<const ScannedObject&>(obj));
  } else if (first == '[') {
    s.Consume('[');
    if (!s.Consume(']')) {
      do {
        if (s.Peek() == '{') {
          ScannedObject obj;
          if (!s.Object(obj)) return false;
          on_object(static_cast<const ScannedObject&>(obj));
        } else if (!s.SkipValue()) {
          return false;
        }
      } while (s.Consume(','));
      if (!s.Consume(']')) return false;
    }
  } else {
    return false;
  }
  s.SkipSpace();
  return s.AtEnd();
}

}  // namespace stockfeed::bench

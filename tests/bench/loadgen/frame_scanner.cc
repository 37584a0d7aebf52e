#include "frame_scanner.h"

namespace stockfeed::bench::detail {
namespace {

constexpr int kMaxDepth = 64;

bool ParseUnsigned(std::string_view digits, uint64_t& out) {
  if (digits.empty() || digits.size() > 20) return false;
  uint64_t v = 0;
  for (char c : digits) {
    const auto d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;  // does not fit uint64
    v = v * 10 + d;
  }
  out = v;
  return true;
}

}  // namespace

bool Scanner::String(std::string_view& out) {
  if (p_ >= end_ || *p_ != '"') return false;
  const char* start = ++p_;
  while (p_ < end_) {
    const char c = *p_;
    if (c == '"') {
      out = std::string_view(start, static_cast<size_t>(p_ - start));
      ++p_;
      return true;
    }
    if (c == '\\') {
      if (++p_ >= end_) return false;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      return false;  // raw control characters are not allowed in strings
    }
    ++p_;
  }
  return false;
}

// Consumes a JSON number; `digits` gets the integer part without the sign,
// `integral` says whether there was no fraction or exponent.
bool Scanner::Integer(std::string_view& digits, bool& negative, bool& integral) {
  negative = p_ < end_ && *p_ == '-';
  if (negative) ++p_;
  const char* start = p_;
  while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
  if (p_ == start) return false;
  if (*start == '0' && p_ - start > 1) return false;  // no leading zeros
  digits = std::string_view(start, static_cast<size_t>(p_ - start));
  integral = true;
  if (p_ < end_ && *p_ == '.') {
    integral = false;
    const char* frac = ++p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ == frac) return false;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    integral = false;
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    const char* exp = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ == exp) return false;
  }
  return true;
}

bool Scanner::SkipValue(int depth) {
  if (depth > kMaxDepth) return false;
  switch (Peek()) {
    case '"': {
      std::string_view ignored;
      return String(ignored);
    }
    case '{': {
      ++p_;
      if (Consume('}')) return true;
      do {
        SkipSpace();
        std::string_view key;
        if (!String(key) || !Consume(':') || !SkipValue(depth + 1)) return false;
      } while (Consume(','));
      return Consume('}');
    }
    case '[': {
      ++p_;
      if (Consume(']')) return true;
      do {
        if (!SkipValue(depth + 1)) return false;
      } while (Consume(','));
      return Consume(']');
    }
    case 't':
    case 'f':
    case 'n': {
      for (std::string_view word : {"true", "false", "null"}) {
        if (static_cast<size_t>(end_ - p_) >= word.size() &&
            std::string_view(p_, word.size()) == word) {
          p_ += word.size();
          return true;
        }
      }
      return false;
    }
    default: {
      std::string_view digits;
      bool negative = false, integral = false;
      return Integer(digits, negative, integral);
    }
  }
}

bool Scanner::Object(ScannedObject& out) {
  if (!Consume('{')) return false;
  if (Consume('}')) return true;
  do {
    SkipSpace();
    std::string_view key;
    if (!String(key) || !Consume(':')) return false;
    SkipSpace();
    if (key == "type" && p_ < end_ && *p_ == '"') {
      if (!String(out.type)) return false;
    } else if ((key == "seq" || key == "event_time_us") && p_ < end_ &&
               (*p_ == '-' || (*p_ >= '0' && *p_ <= '9'))) {
      std::string_view digits;
      bool negative = false, integral = false;
      if (!Integer(digits, negative, integral)) return false;
      uint64_t value = 0;
      // Only plain integers count; anything else reads as "field absent".
      if (integral && ParseUnsigned(digits, value)) {
        if (key == "seq" && !negative) {
          out.has_seq = true;
          out.seq = value;
        } else if (key == "event_time_us" && value <= INT64_MAX) {
          out.has_event_time = true;
          out.event_time_us = negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
        }
      }
    } else if (!SkipValue(1)) {
      return false;
    }
  } while (Consume(','));
  return Consume('}');
}

}  // namespace stockfeed::bench::detail

#include "control_message.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "stockfeed/common/symbols.h"

namespace stockfeed::ws_gateway {
namespace {

namespace json = boost::json;

ControlError Error(absl::string_view code, std::string message) {
  return ControlError{std::string(code), std::move(message)};
}

// What a client sent, as quoted back in an error: enough to recognise it,
// never more (the fuzzer found a 1 KB protocol name echoed whole).
std::string Echo(absl::string_view text) {
  constexpr size_t kMaxEcho = 64;
  if (text.size() <= kMaxEcho) return std::string(text);
  size_t cut = kMaxEcho;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
  return absl::StrCat(text.substr(0, cut), "…");
}

std::string MaxRateRule() {
  return absl::StrCat("'max_rate' must be 0 (no limit) or a number from ", kMinRateLimit, " to ", kMaxRateLimit);
}

// "*" stands for all (subscribe) or none (unsubscribe); see Subscription.
absl::Status ValidateOrStar(absl::string_view name, absl::Status (*validate)(absl::string_view)) {
  return name == "*" ? absl::OkStatus() : validate(name);
}

// Fills `out` from a JSON array of strings, checking each with `validate`.
std::optional<ControlError> ReadNames(const json::object& object, absl::string_view field,
                                      absl::Status (*validate)(absl::string_view),
                                      size_t max_names, std::vector<std::string>& out) {
  const json::value* value = object.if_contains(json::string_view(field.data(), field.size()));
  if (value == nullptr) return std::nullopt;
  const json::array* array = value->if_array();
  if (array == nullptr) {
    return Error("invalid_message", absl::StrCat("'", field, "' must be an array of strings"));
  }
  if (array->size() > max_names) {
    return Error("too_many_symbols",
                 absl::StrCat("'", field, "' has ", array->size(), " entries; the limit is ", max_names));
  }
  for (const json::value& element : *array) {
    const json::string* name = element.if_string();
    if (name == nullptr) {
      return Error("invalid_message", absl::StrCat("'", field, "' must be an array of strings"));
    }
    const absl::string_view view(name->data(), name->size());
    if (absl::Status status = ValidateOrStar(view, validate); !status.ok()) {
      return Error(field == "symbols" ? "invalid_symbol" : "invalid_source", std::string(status.message()));
    }
    out.emplace_back(view);
  }
  return std::nullopt;
}

std::optional<ControlError> ValidateNames(const std::vector<std::string>& names,
                                          absl::Status (*validate)(absl::string_view),
                                          absl::string_view code) {
  for (const std::string& name : names) {
    if (absl::Status status = ValidateOrStar(name, validate); !status.ok()) {
      return Error(code, std::string(status.message()));
    }
  }
  return std::nullopt;
}

}  // namespace

// Percent-decoding for query values ('+' means space in forms).
std::optional<std::string> UrlDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      int value = 0;
      if (i + 2 >= text.size()) return std::nullopt;
      for (int k = 1; k <= 2; ++k) {
        const char h = text[i + k];
        value <<= 4;
        if (h >= '0' && h <= '9') value |= h - '0';
        else if (h >= 'a' && h <= 'f') value |= h - 'a' + 10;
        else if (h >= 'A' && h <= 'F') value |= h - 'A' + 10;
        else return std::nullopt;
      }
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::variant<ControlRequest, ControlError> ParseControlMessage(absl::string_view text,
                                                               size_t max_symbols, size_t max_history) {
  if (text == "/stats") {
    ControlRequest request;
    request.type = ControlRequest::Type::kStatsText;
    return request;
  }

  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return Error("invalid_json", absl::StrCat("message is not valid JSON: ", ec.message()));
  const json::object* object = parsed.if_object();
  if (object == nullptr) return Error("invalid_message", "message must be a JSON object");
  const json::value* type_value = object->if_contains("type");
  if (type_value == nullptr || !type_value->is_string()) {
    return Error("invalid_message", "message needs a string field 'type'");
  }
  const json::string& type = type_value->get_string();

  ControlRequest request;
  if (type == "ping") {
    request.type = ControlRequest::Type::kPing;
    if (const json::value* id = object->if_contains("id")) {
      if (!id->is_string()) return Error("invalid_message", "'id' must be a string");
      request.id = std::string(id->get_string());
    }
  } else if (type == "stats") {
    request.type = ControlRequest::Type::kStats;
  } else if (type == "subscribe" || type == "unsubscribe") {
    request.type = type == "subscribe" ? ControlRequest::Type::kSubscribe
                                       : ControlRequest::Type::kUnsubscribe;
    if (auto error = ReadNames(*object, "symbols", ValidateSymbol, max_symbols, request.symbols)) {
      return *error;
    }
    if (auto error = ReadNames(*object, "sources", ValidateSource, max_symbols, request.sources)) {
      return *error;
    }
    if (const json::value* history = object->if_contains("history")) {
      if (!history->is_int64() || history->as_int64() < 0 ||
          static_cast<uint64_t>(history->as_int64()) > max_history) {
        return Error("invalid_message", absl::StrCat("'history' must be an integer from 0 to ", max_history));
      }
      request.history = static_cast<size_t>(history->as_int64());
    }
    if (const json::value* rate = object->if_contains("max_rate")) {
      if (!rate->is_number() || !IsValidMaxRate(rate->to_number<double>())) {
        return Error("invalid_message", MaxRateRule());
      }
      request.max_rate = rate->to_number<double>();
    }
  } else if (type == "refresh") {
    request.type = ControlRequest::Type::kRefresh;
    const json::value* token = object->if_contains("token");
    if (token == nullptr || !token->is_string() || token->get_string().empty()) {
      return Error("invalid_message", "'refresh' needs a string field 'token'");
    }
    request.token = std::string(token->get_string());
  } else {
    return Error("unknown_type",
                 absl::StrCat("unknown message type '", Echo(absl::string_view(type.data(), type.size())),
                              "' (expected ping, stats, subscribe, unsubscribe or refresh)"));
  }
  return request;
}

std::variant<ConnectParams, ControlError> ParseConnectParams(absl::string_view target,
                                                             size_t max_symbols, size_t max_history) {
  ConnectParams params;
  const size_t question = target.find('?');
  if (question == absl::string_view::npos) return params;

  for (absl::string_view pair : absl::StrSplit(target.substr(question + 1), '&', absl::SkipEmpty())) {
    const std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    const std::optional<std::string> value = UrlDecode(kv.second);
    if (!value) return Error("invalid_query", absl::StrCat("bad percent-encoding in '", Echo(kv.first), "'"));
    if (kv.first == "protocol") {
      if (*value != "v1") {
        return Error("invalid_query", absl::StrCat("protocol '", Echo(*value), "' is not supported (use v1)"));
      }
      params.rich = true;
    } else if (kv.first == "batch") {
      params.batch = *value == "1" || *value == "true";
    } else if (kv.first == "symbols" || kv.first == "sources") {
      const bool symbols = kv.first == "symbols";
      std::vector<std::string> names = SplitNameList(*value);
      if (names.empty()) continue;  // "symbols=" alone means no filter, like its absence
      if (names.size() > max_symbols) {
        return Error("too_many_symbols",
                     absl::StrCat("'", kv.first, "' has ", names.size(), " entries; the limit is ", max_symbols));
      }
      if (auto error = ValidateNames(names, symbols ? ValidateSymbol : ValidateSource,
                                     symbols ? "invalid_symbol" : "invalid_source")) {
        return *error;
      }
      (symbols ? params.symbols : params.sources) = std::move(names);
    } else if (kv.first == "after_seq") {
      uint64_t seq = 0;
      if (!absl::SimpleAtoi(*value, &seq)) {
        return Error("invalid_query", "'after_seq' must be a non-negative integer");
      }
      params.after_seq = seq;
    } else if (kv.first == "epoch") {
      params.epoch = *value;
    } else if (kv.first == "history") {
      if (!absl::SimpleAtoi(*value, &params.history) || params.history > max_history) {
        return Error("invalid_query", absl::StrCat("'history' must be an integer from 0 to ", max_history));
      }
    } else if (kv.first == "max_rate") {
      if (!absl::SimpleAtod(*value, &params.max_rate) || !IsValidMaxRate(params.max_rate)) {
        return Error("invalid_query", MaxRateRule());
      }
    }
  }
  return params;
}

bool IsValidMaxRate(double rate) { return rate == 0 || (rate >= kMinRateLimit && rate <= kMaxRateLimit); }

bool IsWebSocketPath(absl::string_view target) {
  const absl::string_view path = target.substr(0, target.find('?'));
  return path == "/" || path == "/ws";
}

absl::string_view ControlRequest::TypeName(Type type) {
  switch (type) {
    case Type::kPing: return "ping";
    case Type::kStats: return "stats";
    case Type::kStatsText: return "stats_text";
    case Type::kSubscribe: return "subscribe";
    case Type::kUnsubscribe: return "unsubscribe";
    case Type::kRefresh: return "refresh";
  }
  return "unknown";
}

}  // namespace stockfeed::ws_gateway

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// A message a client sent, understood.
struct ControlRequest {
  enum class Type { kPing, kStats, kStatsText, kSubscribe, kUnsubscribe, kRefresh };
  // ping, stats, stats_text, subscribe, unsubscribe, refresh (metrics labels).
  static absl::string_view TypeName(Type type);
  Type type = Type::kPing;
  // subscribe / unsubscribe
  std::vector<std::string> symbols;
  std::vector<std::string> sources;
  // subscribe: how many recent prices per newly added symbol to send first
  // (nullopt: the default), and the most deliveries per second (0: no limit).
  std::optional<size_t> history;
  std::optional<double> max_rate;
  // ping: echoed back when given, so a client can match replies.
  std::optional<std::string> id;
  // refresh: the new access token.
  std::string token;
};

// A message the gateway could not accept. `code` is one of the documented
// error codes (docs/protocol.md); the connection stays open.
struct ControlError {
  std::string code;
  std::string message;
};

// Parses one text frame: the workshop's "/stats", or a JSON object with a
// "type" of ping, stats, subscribe or unsubscribe. Never throws.
std::variant<ControlRequest, ControlError> ParseControlMessage(absl::string_view text,
                                                               size_t max_symbols, size_t max_history);

// Percent-decoding of one query value ('+' means space, as in forms);
// nullopt for a malformed escape.
std::optional<std::string> UrlDecode(absl::string_view text);

// What a client asked for in the WebSocket URL's query string.
struct ConnectParams {
  bool rich = false;  // protocol=v1: status, acks and snapshot objects
  bool batch = false; // batch=1: several price objects per frame, as a JSON array
  std::optional<std::vector<std::string>> symbols;  // absent = all
  std::optional<std::vector<std::string>> sources;
  std::optional<uint64_t> after_seq;  // resume
  std::string epoch;
  size_t history = 0;     // recent prices per symbol sent after the snapshot
  double max_rate = 0;    // deliveries per second at most; 0 = as they come
};

// Parses "/ws?protocol=v1&symbols=AAPL,MSFT&after_seq=12&epoch=…". Unknown
// parameters are ignored (forward compatibility); bad values are errors.
std::variant<ConnectParams, ControlError> ParseConnectParams(absl::string_view target,
                                                             size_t max_symbols, size_t max_history);

// max_rate a client may ask for (deliveries per second): 0 (no limit), or
// from the lowest (one delivery per 1,000 s: the interval stays far inside a
// clock duration) to the highest.
inline constexpr double kMinRateLimit = 0.001;
inline constexpr double kMaxRateLimit = 1000;
bool IsValidMaxRate(double rate);

// "/", "/ws" (with any query) are WebSocket endpoints.
bool IsWebSocketPath(absl::string_view target);

}  // namespace stockfeed::ws_gateway

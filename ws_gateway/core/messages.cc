#include "messages.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "json_writer.h"

namespace stockfeed::ws_gateway {

std::string EncodePrice(const v1::PriceUpdate& update, bool snapshot) {
  std::string out;
  out.reserve(160);
  JsonWriter json(out);
  json.BeginObject()
      .String("type", "price")
      .String("symbol", update.symbol())
      .Number("price", update.price())
      .String("source", update.source())
      .Int("timestamp", update.event_time_us() / 1'000'000)
      .Uint("seq", update.sequence())
      .Int("event_time_us", update.event_time_us());
  if (snapshot) json.Bool("snapshot", true);
  json.EndObject();
  return out;
}

std::string MarkedAsSnapshot(absl::string_view price) {
  // EncodePrice puts the mark last, just before the closing brace.
  static constexpr absl::string_view kMarkedEnd = R"(,"snapshot":true})";
  if (absl::EndsWith(price, kMarkedEnd)) return std::string(price);
  price.remove_suffix(1);
  return absl::StrCat(price, kMarkedEnd);
}

std::string EncodeWelcome(absl::string_view epoch, uint64_t seq, bool rich) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject().String("type", "connected").String("message", "Connected to stock price feed");
  if (rich) json.String("protocol", "v1").String("epoch", epoch).Uint("seq", seq);
  json.EndObject();
  return out;
}

absl::string_view UpstreamStateName(UpstreamState state) {
  switch (state) {
    case UpstreamState::kConnecting: return "connecting";
    case UpstreamState::kConnected: return "connected";
    case UpstreamState::kReconnecting: return "reconnecting";
  }
  return "unknown";
}

std::string EncodeStats(const GatewayStats& stats) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject()
      .String("type", "stats")
      .Uint("active_connections", stats.active_connections)
      .Uint("total_connections", stats.total_connections)
      .Uint("messages_sent", stats.messages_sent)
      .Uint("uptime_seconds", stats.uptime_seconds)
      .String("upstream", UpstreamStateName(stats.upstream))
      .Uint("seq", stats.last_seq)
      .String("upstream_replica", stats.upstream_replica)
      .String("upstream_health", stats.upstream_health)
      .Uint("upstream_failovers", stats.upstream_failovers)
      .Uint("sse_clients", stats.sse_clients)
      .EndObject();
  return out;
}

std::string EncodeStatsText(const GatewayStats& stats) {
  return absl::StrCat("Active connections: ", stats.active_connections,
                      ", total connections: ", stats.total_connections,
                      ", messages sent: ", stats.messages_sent,
                      ", uptime: ", stats.uptime_seconds, "s",
                      ", upstream: ", UpstreamStateName(stats.upstream));
}

std::string EncodeStatus(UpstreamState state, absl::string_view message) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject()
      .String("type", "status")
      .String("upstream", UpstreamStateName(state))
      .String("message", message)
      .EndObject();
  return out;
}

std::string EncodePong(const std::optional<std::string>& id) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject().String("type", "pong");
  if (id) json.String("id", *id);
  json.EndObject();
  return out;
}

std::string EncodeError(absl::string_view code, absl::string_view message) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject().String("type", "error").String("code", code).String("message", message).EndObject();
  return out;
}

std::string EncodeTokenExpiring(int64_t expires_in_seconds) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject().String("type", "token_expiring").Int("expires_in", expires_in_seconds).EndObject();
  return out;
}

std::string EncodeRefreshed(int64_t expires_in_seconds) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject().String("type", "refreshed").Int("expires_in", expires_in_seconds).EndObject();
  return out;
}

std::string EncodeSnapshot(absl::string_view epoch, uint64_t seq,
                           const std::vector<absl::string_view>& prices) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject().String("type", "snapshot").String("epoch", epoch).Uint("seq", seq);
  json.BeginArray("prices");
  for (absl::string_view price : prices) json.RawElement(price);
  json.EndArray().EndObject();
  return out;
}

std::string EncodeResumed(uint64_t from_seq) {
  std::string out;
  JsonWriter(out).BeginObject().String("type", "resumed").Uint("from_seq", from_seq).EndObject();
  return out;
}

std::string EncodeResync(absl::string_view reason) {
  std::string out;
  JsonWriter(out).BeginObject().String("type", "resync").String("reason", reason).EndObject();
  return out;
}

std::string EncodeEpoch(absl::string_view epoch) {
  std::string out;
  JsonWriter(out)
      .BeginObject()
      .String("type", "epoch")
      .String("epoch", epoch)
      .String("message", "the price feed restarted: sequences start again")
      .EndObject();
  return out;
}

std::string EncodeConflated(uint64_t skipped) {
  std::string out;
  JsonWriter(out).BeginObject().String("type", "conflated").Uint("skipped", skipped).EndObject();
  return out;
}

std::string EncodeHistory(const std::vector<absl::string_view>& prices, bool truncated) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject().String("type", "history").BeginArray("prices");
  for (absl::string_view price : prices) json.RawElement(price);
  json.EndArray();
  if (truncated) json.Bool("truncated", true);
  json.EndObject();
  return out;
}

std::string EncodeSubscribed(const std::vector<std::string>& symbols,
                             const std::vector<std::string>& sources, uint64_t seq) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject().String("type", "subscribed");
  json.BeginArray("symbols");
  for (const std::string& symbol : symbols) json.StringElement(symbol);
  json.EndArray().BeginArray("sources");
  for (const std::string& source : sources) json.StringElement(source);
  json.EndArray().Uint("seq", seq).EndObject();
  return out;
}

}  // namespace stockfeed::ws_gateway

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::ws_gateway {

// JSON messages the gateway sends. Shapes are documented in docs/protocol.md;
// the price message is the workshop's {type,symbol,price,source,timestamp}
// plus seq and event_time_us, so the workshop dashboard works unmodified.

// {"type":"price",...}. `snapshot` marks a latest-known value sent at connect
// or after a resync rather than a live tick.
std::string EncodePrice(const v1::PriceUpdate& update, bool snapshot = false);
// An EncodePrice payload with the `snapshot` mark (unchanged if it has it):
// the bytes EncodePrice(update, true) gives, without the update.
std::string MarkedAsSnapshot(absl::string_view price);

std::string EncodeWelcome(absl::string_view epoch, uint64_t seq, bool rich);

enum class UpstreamState { kConnecting, kConnected, kReconnecting };
absl::string_view UpstreamStateName(UpstreamState state);

struct GatewayStats {
  uint64_t active_connections = 0;
  uint64_t total_connections = 0;
  uint64_t messages_sent = 0;
  uint64_t uptime_seconds = 0;
  UpstreamState upstream = UpstreamState::kConnecting;
  uint64_t last_seq = 0;
  uint64_t sse_clients = 0;  // of active_connections, those on GET /api/v1/stream
  // The price_service replica in use (or being tried), its health, and how
  // often the gateway moved between replicas.
  std::string upstream_replica;
  std::string upstream_health = "unknown";
  uint64_t upstream_failovers = 0;
};
std::string EncodeStats(const GatewayStats& stats);
// The plain-text answer to the workshop's "/stats" message.
std::string EncodeStatsText(const GatewayStats& stats);

std::string EncodeStatus(UpstreamState state, absl::string_view message);
// {"type":"pong"}, echoing the ping's "id" when it had one.
std::string EncodePong(const std::optional<std::string>& id);
std::string EncodeError(absl::string_view code, absl::string_view message);
// Token auth: {"type":"token_expiring","expires_in":S} before the token runs
// out, and {"type":"refreshed","expires_in":S} when a refresh was accepted.
std::string EncodeTokenExpiring(int64_t expires_in_seconds);
std::string EncodeRefreshed(int64_t expires_in_seconds);

// {"type":"snapshot","epoch":…,"seq":…,"prices":[…]} from encoded price objects.
std::string EncodeSnapshot(absl::string_view epoch, uint64_t seq,
                           const std::vector<absl::string_view>& prices);

// Resume outcomes: the missed updates follow, or they cannot be recovered
// and a fresh snapshot follows.
std::string EncodeResumed(uint64_t from_seq);
std::string EncodeResync(absl::string_view reason);
// {"type":"epoch","epoch":…}: the feed restarted its numbering; the prices
// that follow belong to `epoch`, with sequences from 1 again (v1 clients).
std::string EncodeEpoch(absl::string_view epoch);
// The client fell behind: `skipped` updates were replaced by latest values.
std::string EncodeConflated(uint64_t skipped);

// {"type":"history","prices":[…]}: recent prices, oldest first, sent before
// live updates of newly subscribed symbols. `truncated` (shown only when
// set): --max_history_bytes or the reply budget shortened it.
std::string EncodeHistory(const std::vector<absl::string_view>& prices, bool truncated = false);

std::string EncodeSubscribed(const std::vector<std::string>& symbols,
                             const std::vector<std::string>& sources, uint64_t seq);

}  // namespace stockfeed::ws_gateway

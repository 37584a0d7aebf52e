#include "net/gateway_metrics.h"

#include <string>

#include "net/shard.h"
#include "stockfeed/common/process_metrics.h"

namespace stockfeed::ws_gateway {
namespace {

using metrics::FamilySink;
using metrics::Type;

metrics::Buckets PricesPerWriteBuckets() { return metrics::ExponentialBuckets(1, 2, 11); }  // 1 … 1024

std::vector<std::string> ShardLabels(size_t shards) {
  std::vector<std::string> labels;
  for (size_t i = 0; i < shards; ++i) labels.push_back(std::to_string(i));
  return labels;
}

}  // namespace

ShardMetrics::ShardMetrics()
    : prices_per_write(PricesPerWriteBuckets()),
      latency(metrics::LatencyBuckets()),
      pass_duration(metrics::LatencyBuckets()) {}

GatewayMetrics::GatewayMetrics()
    : rejected(registry_.AddLabeledCounter(
          "ws_gateway_connections_rejected_total",
          "Connections and requests the front door or the upgrade refused, by reason.",
          {"reason",
           {"connection_limit", "address_limit", "connection_rate", "bad_request", "header_too_large",
            "request_line_too_long", "too_many_headers", "bad_host", "bad_websocket_key", "origin_not_allowed",
            "not_found", "shutting_down", "handshake_failed", "descriptor_limit", "other"}})),
      closed(registry_.AddLabeledCounter(
          "ws_gateway_connections_closed_total", "WebSocket connections ended, by reason.",
          {"reason",
           {"client", "shutdown", "idle_timeout", "write_stalled", "write_error", "output_budget", "message_flood",
            "message_too_big", "binary_frame", "close_timeout", "other"}})),
      close_codes(registry_.AddLabeledCounter("ws_gateway_close_frames_sent_total",
                                              "WebSocket close frames sent to clients, by close code.",
                                              {"code", {"1001", "1003", "1008", "1009", "other"}})),
      control_messages(registry_.AddLabeledCounter(
          "ws_gateway_control_messages_total", "Messages received from clients, by type.",
          {"type", {"ping", "stats", "stats_text", "subscribe", "unsubscribe", "invalid"}})),
      control_errors(registry_.AddLabeledCounter("ws_gateway_control_errors_total",
                                                 "Error replies sent to clients, by error code.",
                                                 {"code",
                                                  {"invalid_json", "invalid_message", "unknown_type", "invalid_symbol",
                                                   "invalid_source", "too_many_symbols", "reply_rate_limited", "other"}})),
      upstream_updates(registry_.AddCounter("ws_gateway_upstream_updates_total",
                                            "Price updates received from price_service.")),
      upstream_reconnects(registry_.AddCounter(
          "ws_gateway_upstream_reconnects_total",
          "Times the upstream stream ended or could not be opened and a reconnect was scheduled.")),
      upstream_epoch_changes(registry_.AddCounter("ws_gateway_upstream_epoch_changes_total",
                                                  "Times the feed's epoch changed (the service restarted its numbering).")),
      upstream_gaps(registry_.AddCounter("ws_gateway_upstream_sequence_gaps_total",
                                         "Times the upstream sequence jumped (updates the gateway never saw).")) {
  metrics::RegisterProcessMetrics(registry_);
}

void GatewayMetrics::RegisterShards(const std::vector<std::unique_ptr<Shard>>& shards,
                                    const GatewayCounters& counters,
                                    const std::atomic<UpstreamState>& upstream_state,
                                    const std::atomic<uint64_t>& last_sequence) {
  metrics::Registry& r = registry_;
  r.AddGaugeFunction("ws_gateway_connections_active", "WebSocket clients connected now.",
                     [&counters] { return static_cast<double>(counters.active_connections.load()); });
  r.AddCounterFunction("ws_gateway_connections_accepted_total", "WebSocket handshakes completed.",
                       [&counters] { return static_cast<double>(counters.total_connections.load()); });
  r.AddCounterFunction("ws_gateway_conflations_total", "Times a client fell behind and was sent the latest values only.",
                       [&counters] { return static_cast<double>(counters.conflations.load()); });
  r.AddCounterFunction("ws_gateway_stalled_clients_dropped_total",
                       "Clients dropped because their writes made no progress for --write_stall_timeout.",
                       [&counters] { return static_cast<double>(counters.slow_disconnects.load()); });

  // Every state is reported, 1 for the current one: dashboards can graph it.
  constexpr UpstreamState kStates[] = {UpstreamState::kConnecting, UpstreamState::kConnected,
                                       UpstreamState::kReconnecting};
  std::vector<std::string> states;
  for (UpstreamState state : kStates) states.emplace_back(UpstreamStateName(state));
  r.AddCollector({"ws_gateway_upstream_state", "Upstream (price_service) stream state: 1 for the current state.",
                  Type::kGauge, {"state", states}, [&upstream_state, kStates](FamilySink& sink) {
                    const UpstreamState current = upstream_state.load();
                    for (size_t i = 0; i < std::size(kStates); ++i) sink.Labeled(i, kStates[i] == current ? 1 : 0);
                  }});
  r.AddGaugeFunction("ws_gateway_upstream_last_sequence", "Sequence of the last update received from price_service.",
                     [&last_sequence] { return static_cast<double>(last_sequence.load()); });

  const auto sum = [&shards](auto read) {
    return [&shards, read] {
      double total = 0;
      for (const auto& shard : shards) total += static_cast<double>(read(*shard));
      return total;
    };
  };
  r.AddCounterFunction("ws_gateway_messages_sent_total", "WebSocket messages queued to clients (prices and replies).",
                       sum([](const Shard& s) { return s.messages_sent(); }));
  r.AddCounterFunction("ws_gateway_bytes_sent_total", "Bytes written to client sockets.",
                       sum([](const Shard& s) { return s.metrics().bytes_sent.Value(); }));
  r.AddCounterFunction("ws_gateway_socket_writes_total", "Socket writes (writev/sendmsg) to clients.",
                       sum([](const Shard& s) { return s.metrics().socket_writes.Value(); }));

  const auto merged = [&shards](metrics::ThreadHistogram ShardMetrics::*histogram) {
    return [&shards, histogram](FamilySink& sink) {
      metrics::HistogramSnapshot total;
      for (const auto& shard : shards) total.Merge((shard->metrics().*histogram).Snapshot());
      sink.Histogram(total);
    };
  };
  r.AddCollector({"ws_gateway_prices_per_write", "Prices carried by each socket write to a client.", Type::kHistogram,
                  {}, merged(&ShardMetrics::prices_per_write)});
  r.AddCollector({"ws_gateway_delivery_latency_seconds",
                  "Price event time to written to a client socket, for the oldest price of each write.",
                  Type::kHistogram, {}, merged(&ShardMetrics::latency)});
  r.AddCollector({"ws_gateway_fanout_pass_duration_seconds", "Duration of one fan-out pass over a shard's clients.",
                  Type::kHistogram, {}, merged(&ShardMetrics::pass_duration)});

  const auto per_shard = [&shards](std::atomic<uint64_t> ShardMetrics::*gauge) {
    return [&shards, gauge](FamilySink& sink) {
      for (size_t i = 0; i < shards.size(); ++i) {
        sink.Labeled(i, static_cast<double>((shards[i]->metrics().*gauge).load(std::memory_order_relaxed)));
      }
    };
  };
  const metrics::LabelSet shard_labels{"shard", ShardLabels(shards.size())};
  r.AddCollector({"ws_gateway_shard_backlog_frames", "Frames the shard's clients are behind the feed, summed over the last sweep round.",
                  Type::kGauge, shard_labels, per_shard(&ShardMetrics::backlog_frames)});
  r.AddCollector({"ws_gateway_shard_max_client_backlog_frames",
                  "Frames the shard's furthest-behind client is behind the feed (last sweep round).", Type::kGauge,
                  shard_labels, per_shard(&ShardMetrics::max_client_backlog_frames)});
  r.AddCollector({"ws_gateway_shard_clients", "WebSocket clients per io thread.", Type::kGauge, shard_labels,
                  [&shards](FamilySink& sink) {
                    for (size_t i = 0; i < shards.size(); ++i) {
                      sink.Labeled(i, static_cast<double>(shards[i]->session_count()));
                    }
                  }});
}

}  // namespace stockfeed::ws_gateway

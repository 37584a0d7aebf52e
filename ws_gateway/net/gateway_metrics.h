// What ws_gateway counts, and how the scrape reads it. Events that happen per
// connection or per control message count in shared atomic counters here;
// per-message and per-write numbers stay in each shard (ShardMetrics) as
// plain single-writer counters and are summed at scrape time.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "core/messages.h"
#include "stockfeed/common/metrics.h"

namespace stockfeed::ws_gateway {

class Shard;
struct GatewayCounters;

// Per shard, written only on the shard's thread.
struct ShardMetrics {
  metrics::ThreadCounter bytes_sent;
  metrics::ThreadCounter socket_writes;
  // Live prices per socket write: how well the fan-out shares syscalls.
  metrics::ThreadHistogram prices_per_write;
  // Event time of a live price (PriceUpdate.event_time_us) to the moment the
  // kernel took it, for the oldest live price of each socket write: one
  // clock read per write, not per price.
  metrics::ThreadHistogram latency;
  metrics::ThreadHistogram pass_duration;
  // Frames between the log's head and each session's cursor, from the sweep.
  std::atomic<uint64_t> backlog_frames{0};
  std::atomic<uint64_t> max_client_backlog_frames{0};

  ShardMetrics();
};

// The gateway's registry and its event counters; any thread.
class GatewayMetrics {
  metrics::Registry registry_;  // first: the references below point into it

 public:
  GatewayMetrics();

  const metrics::Registry& registry() const { return registry_; }

  // Label values, "other" last (unknown names count there).
  metrics::LabeledCounter& rejected;        // WebSocket upgrades refused, by reason
  metrics::LabeledCounter& closed;          // connections ended, by reason
  metrics::LabeledCounter& close_codes;     // close frames sent, by code
  metrics::LabeledCounter& control_messages;  // client messages, by type
  metrics::LabeledCounter& control_errors;    // error replies, by code
  metrics::Counter& upstream_updates;
  metrics::Counter& upstream_reconnects;
  metrics::Counter& upstream_epoch_changes;
  metrics::Counter& upstream_gaps;

  // Families read from the shards and from the gateway's own state.
  void RegisterShards(const std::vector<std::unique_ptr<Shard>>& shards, const GatewayCounters& counters,
                      const std::atomic<UpstreamState>& upstream_state,
                      const std::atomic<uint64_t>& last_sequence);
};

}  // namespace stockfeed::ws_gateway

#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/admission.h"
#include "core/feed_log.h"
#include "core/gateway_config.h"
#include "core/messages.h"
#include "core/sweep_list.h"
#include "net/gateway_metrics.h"
#include "net/send_batch.h"
#include "shard_client.h"

namespace stockfeed::ws_gateway {

class BarsClient;

// Something that happened upstream, delivered to every shard in order.
struct FeedEvent {
  enum class Kind { kPrice, kEpoch, kGap, kStatus };
  static FeedEvent Price(FramePtr frame) { return {Kind::kPrice, std::move(frame), {}, {}}; }
  static FeedEvent Epoch(std::string epoch) { return {Kind::kEpoch, nullptr, std::move(epoch), {}}; }
  static FeedEvent Gap() { return {Kind::kGap, nullptr, {}, {}}; }
  static FeedEvent Status(UpstreamState state, FramePtr message) {
    return {Kind::kStatus, std::move(message), {}, state};
  }

  Kind kind = Kind::kPrice;
  FramePtr frame;     // kPrice: the price; kStatus: the status message
  std::string epoch;  // kEpoch
  UpstreamState state = UpstreamState::kConnecting;  // kStatus
};

// Gateway-wide numbers that every shard updates.
struct GatewayCounters {
  std::atomic<uint64_t> active_connections{0};
  std::atomic<uint64_t> total_connections{0};
  std::atomic<uint64_t> conflations{0};
  std::atomic<uint64_t> slow_disconnects{0};
  std::atomic<uint64_t> budget_disconnects{0};  // past --max_client_queue_bytes
  std::atomic<uint64_t> sse_clients{0};  // of active_connections, those on /api/v1/stream
};

// One io thread with its own io_context, its sessions and its own copy of the
// feed log. Sessions never leave their shard, so the hot path (fan-out to a
// shard's sessions) needs no locks and no strands; the only lock guards the
// inbox the upstream thread fills.
class Shard {
 public:
  using StatsFunction = std::function<GatewayStats()>;

  Shard(int index, const GatewayConfig& config, GatewayCounters& counters, FrontDoor& front_door,
        GatewayMetrics& events,
        StatsFunction stats);
  ~Shard();

  // Thread-safe.
  void Deliver(FeedEvent event);
  void Start();
  // Sends close 1001 to every session; thread-safe.
  void CloseAll(std::string reason);
  void Stop();
  uint64_t messages_sent() const { return messages_sent_.load(std::memory_order_relaxed); }
  uint64_t session_count() const { return session_count_.load(std::memory_order_relaxed); }
  const ShardMetrics& metrics() const { return metrics_; }
  GatewayMetrics& events() { return events_; }
  const GatewayMetrics& events() const { return events_; }

  // On the shard's thread only.
  boost::asio::io_context& io() { return io_; }
  const GatewayConfig& config() const { return config_; }
  GatewayCounters& counters() { return counters_; }
  FrontDoor& front_door() { return front_door_; }
  ShardMetrics& metrics() { return metrics_; }
  const FeedLog& log() const { return log_; }
  GatewayStats Stats() const { return stats_(); }
  UpstreamState upstream_state() const { return upstream_state_; }
  const FramePtr& status_frame() const { return status_frame_; }
  bool draining() const { return draining_; }
  // GET /api/v1/bars goes through this (set before Start; null: no route).
  BarsClient* bars_client() const { return bars_client_; }
  void set_bars_client(BarsClient* client) { bars_client_ = client; }
  void Add(ShardClient* client);
  void Remove(ShardClient* client);
  // Queues a fan-out pass: right away, or when --fanout_interval since the
  // last one has passed; what arrives until then goes out in the same writes.
  void SchedulePass();
  // Runs a fan-out pass now if one is due, after taking what the upstream
  // delivered. Connection setup (accepts, refusals, handshakes) calls this
  // first: a burst of clients queues such handlers by the hundred ahead of
  // the timer that starts the next pass, and without it every price waits
  // for the whole burst (docs/reliability.md).
  void DeliverDuePrices();
  void CountSent(uint64_t messages) {
    messages_sent_.store(messages_sent_.load(std::memory_order_relaxed) + messages,
                         std::memory_order_relaxed);
  }
  int index() const { return index_; }
  // A large reply was freed: the sweep asks malloc to return free heap to
  // the system (glibc keeps it otherwise), at most once a sweep round.
  void RequestMemoryTrim() { trim_requested_ = true; }

 private:
  // How many clients ahead RunPass() prefetches (see there).
  static constexpr size_t kPrefetchAhead = 4;
  // Clients per sweep slice: a slice that pings all of them (a few µs each)
  // takes a millisecond or two, and a price that arrives during a sweep
  // waits for at most two slices.
  static constexpr size_t kSweepSlice = 256;

  // Prices that arrive while the core is busy with a pass would wait for
  // the rest of it and then for their clients' places in the next one: up
  // to two passes. So every kArrivalCheckInterval clients a scheduled pass
  // looks for arrivals and takes them (TakeArrivedPrices), once: the clients
  // it has not reached yet send them in this pass, and a catch-up pass
  // serves those before. When the feed keeps the core busy (about one update
  // per pass), an update then waits about one pass for any client. Once per
  // pass, and the catch-up takes nothing and leaves the --fanout_interval
  // clock alone: taking at every check made the slowest burst of a run
  // later (docs/benchmarks.md). A pass that delivers a status first
  // (DrainInbox) takes nothing: what arrived after the status must not
  // overtake it.
  static constexpr size_t kArrivalCheckInterval = 64;

  void DrainInbox();
  std::chrono::steady_clock::duration PassInterval() const;
  void RunPass(bool take_arrivals);
  // Moves the prices at the front of the inbox into the log; true if any.
  bool TakeArrivedPrices();
  void ScheduleSweep();
  void SweepSlice();

  const int index_;
  const GatewayConfig& config_;
  GatewayCounters& counters_;
  FrontDoor& front_door_;
  GatewayMetrics& events_;
  ShardMetrics metrics_;
  StatsFunction stats_;

  std::mutex inbox_mu_;
  std::vector<FeedEvent> inbox_;  // guarded by inbox_mu_
  std::vector<FeedEvent> draining_events_;

  FeedLog log_;
  SweepList<ShardClient, &ShardClient::shard_slot_> sessions_;  // WebSocket and SSE clients alike
  std::vector<ShardClient*> sweep_slice_;
  // What the sweep round has seen so far, published when it ends.
  uint64_t round_backlog_ = 0;
  uint64_t round_max_backlog_ = 0;
  UpstreamState upstream_state_ = UpstreamState::kConnecting;
  FramePtr status_frame_;
  bool draining_ = false;
  bool trim_requested_ = false;
  BarsClient* bars_client_ = nullptr;
  std::atomic<uint64_t> messages_sent_{0};
  std::atomic<uint64_t> session_count_{0};

  // Declared after the state above so it is destroyed first: handlers still
  // pending at shutdown (clients that never finished the close handshake) own
  // sessions whose destructors remove themselves from sessions_.
  boost::asio::io_context io_{1};
  boost::asio::steady_timer sweep_timer_{io_};
  boost::asio::steady_timer pass_timer_{io_};
  // Null when config.io_uring is off or the kernel refuses io_uring.
  std::unique_ptr<SendBatch> send_batch_;
  bool pass_scheduled_ = false;
  // Identifies the scheduled pass, so that its timer or post finds out that
  // DeliverDuePrices has run it already.
  uint64_t pass_ticket_ = 0;
  std::chrono::steady_clock::time_point last_pass_{};
  bool catching_up_ = false;  // the next pass serves the clients a take skipped
  std::thread thread_;
};

}  // namespace stockfeed::ws_gateway

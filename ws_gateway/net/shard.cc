#include "shard.h"

#include <malloc.h>

#include <algorithm>
#include <mutex>
#include <utility>

#include <boost/asio/post.hpp>

#include "spdlog/spdlog.h"

namespace stockfeed::ws_gateway {

Shard::Shard(int index, const GatewayConfig& config, GatewayCounters& counters, FrontDoor& front_door,
             GatewayMetrics& events,
             StatsFunction stats)
    : index_(index),
      config_(config),
      counters_(counters),
      front_door_(front_door),
      events_(events),
      stats_(std::move(stats)),
      log_(config.log_capacity, config.history_depth),
      status_frame_(Frame::Message(EncodeStatus(UpstreamState::kConnecting, "connecting to the price service"))) {
  if (!config.io_uring) return;
  std::string why;
  send_batch_ = SendBatch::Create(why);
  static std::once_flag told;
  if (!send_batch_) {
    std::call_once(told, [&why] { spdlog::warn("io_uring unavailable ({}): fan-out writes use sendmsg", why); });
  }
}

Shard::~Shard() { Stop(); }

void Shard::Start() {
  ScheduleSweep();
  thread_ = std::thread([this] { io_.run(); });
}

void Shard::Stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void Shard::Deliver(FeedEvent event) {
  bool was_empty = false;
  {
    std::lock_guard lock(inbox_mu_);
    was_empty = inbox_.empty();
    inbox_.push_back(std::move(event));
  }
  // One wake-up per burst: under load the shard finds many events at once and
  // its sessions write them together.
  if (was_empty) boost::asio::post(io_, [this] { DrainInbox(); });
}

void Shard::DrainInbox() {
  {
    std::lock_guard lock(inbox_mu_);
    draining_events_.swap(inbox_);
  }
  bool prices = false;
  for (FeedEvent& event : draining_events_) {
    switch (event.kind) {
      case FeedEvent::Kind::kPrice:
        log_.Append(std::move(event.frame));
        prices = true;
        break;
      case FeedEvent::Kind::kEpoch:
        log_.StartEpoch(std::move(event.epoch));
        break;
      case FeedEvent::Kind::kGap:
        log_.MarkGap();
        break;
      case FeedEvent::Kind::kStatus:
        // Prices the gateway had before the change reach clients before its
        // status (the next pass may be a fan-out interval away).
        if (prices || pass_scheduled_) RunPass(/*take_arrivals=*/false);
        prices = false;
        upstream_state_ = event.state;
        status_frame_ = event.frame;
        for (ShardClient* session : sessions_) session->SendStatus(status_frame_);
        break;
    }
  }
  draining_events_.clear();
  if (prices) SchedulePass();
}

std::chrono::steady_clock::duration Shard::PassInterval() const {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(config_.fanout_interval));
}

void Shard::SchedulePass() {
  if (pass_scheduled_) return;
  pass_scheduled_ = true;
  const auto interval = PassInterval();
  const auto run = [this, ticket = ++pass_ticket_] {
    if (ticket != pass_ticket_) return;  // DeliverDuePrices ran it
    pass_scheduled_ = false;
    RunPass(/*take_arrivals=*/true);
  };
  // Never inline: sessions ask for a pass from inside one.
  if (std::chrono::steady_clock::now() - last_pass_ >= interval) {
    boost::asio::post(io_, run);
    return;
  }
  pass_timer_.expires_at(last_pass_ + interval);
  pass_timer_.async_wait([run](const boost::system::error_code& ec) {
    if (!ec) run();
  });
}

void Shard::DeliverDuePrices() {
  if (std::chrono::steady_clock::now() - last_pass_ < PassInterval()) return;
  DrainInbox();
  if (!pass_scheduled_) return;
  pass_scheduled_ = false;
  ++pass_ticket_;
  RunPass(/*take_arrivals=*/true);
}

void Shard::RunPass(bool take_arrivals) {
  const auto start = std::chrono::steady_clock::now();
  // The pass that serves the clients a take skipped finishes the taking
  // pass: pacing counts from that one, so the next update is not held back,
  // and it takes nothing itself, so passes keep their pacing under load.
  if (std::exchange(catching_up_, false)) {
    take_arrivals = false;
  } else {
    last_pass_ = start;
  }
  // A session mid-write is skipped; when its write completes it asks for a pass.
  // Each client's state is cold by now (thousands of them, a pass ago):
  // the pass asks for a client's first line (its vtable pointer) eight
  // clients ahead and for all of it four ahead, so those cache misses
  // overlap the sends before it instead of adding to them.
  const size_t count = sessions_.size();
  bool took_arrivals = false;
  if (send_batch_) send_batch_->Begin();
  for (size_t i = 0; i < count; ++i) {
    if (take_arrivals && !took_arrivals && i % kArrivalCheckInterval == kArrivalCheckInterval - 1) {
      took_arrivals = TakeArrivedPrices();
    }
    if (i + 2 * kPrefetchAhead < count) __builtin_prefetch(sessions_[i + 2 * kPrefetchAhead]);
    if (i + kPrefetchAhead < count) sessions_[i + kPrefetchAhead]->PrefetchForPump();
    sessions_[i]->Pump();
  }
  if (send_batch_) send_batch_->End();
  metrics_.pass_duration.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  // The clients before the point the prices were taken at still need them.
  if (took_arrivals) {
    catching_up_ = true;
    SchedulePass();
  }
}

bool Shard::TakeArrivedPrices() {
  std::lock_guard lock(inbox_mu_);
  // Only the prices at the front: an epoch, gap or status, and all that
  // came after it, keeps its order and waits for DrainInbox (which was
  // posted when the first of them arrived).
  const auto first_other = std::find_if(inbox_.begin(), inbox_.end(),
                                        [](const FeedEvent& event) { return event.kind != FeedEvent::Kind::kPrice; });
  if (first_other == inbox_.begin()) return false;
  for (auto event = inbox_.begin(); event != first_other; ++event) log_.Append(std::move(event->frame));
  inbox_.erase(inbox_.begin(), first_other);
  return true;
}

void Shard::Add(ShardClient* session) {
  sessions_.Add(session);
  session_count_.store(sessions_.size(), std::memory_order_relaxed);
}

void Shard::Remove(ShardClient* session) {
  sessions_.Remove(session);
  session_count_.store(sessions_.size(), std::memory_order_relaxed);
}

void Shard::CloseAll(std::string reason) {
  boost::asio::post(io_, [this, reason = std::move(reason)] {
    draining_ = true;
    // Close may run handlers that remove sessions: iterate over a copy.
    const std::vector<ShardClient*> sessions(sessions_.begin(), sessions_.end());
    for (ShardClient* session : sessions) session->CloseForShutdown(reason);
  });
}

void Shard::ScheduleSweep() {
  // Often enough to ping at half the idle timeout and drop at the full one
  // with little slack; at most once a second.
  const absl::Duration period = std::clamp(
      std::min(config_.idle_timeout, config_.write_stall_timeout) / 4, absl::Milliseconds(10), absl::Seconds(1));
  sweep_timer_.expires_after(absl::ToChronoNanoseconds(period));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) SweepSlice();
  });
}

void Shard::SweepSlice() {
  const auto now = std::chrono::steady_clock::now();
  // Aborting a session may remove it, and so reorder the list: check a copy.
  const absl::Span<ShardClient* const> slice = sessions_.NextSlice(kSweepSlice);
  sweep_slice_.assign(slice.begin(), slice.end());
  for (ShardClient* session : sweep_slice_) {
    const uint64_t behind = log_.head() - session->cursor_;
    round_backlog_ += behind;
    round_max_backlog_ = std::max(round_max_backlog_, behind);
    session->CheckTimeouts(now);
  }
  if (!sessions_.round_done()) {
    // The next slice queues behind what arrived meanwhile: a price waits
    // for at most one more slice before its pass. The slices still follow
    // each other closely, so the pings a sweep sends leave together, as in
    // one walk (spread over the period, they cost the passes more: see
    // docs/benchmarks.md).
    boost::asio::post(io_, [this] { SweepSlice(); });
    return;
  }
  sessions_.StartRound();
  metrics_.backlog_frames.store(std::exchange(round_backlog_, 0), std::memory_order_relaxed);
  metrics_.max_client_backlog_frames.store(std::exchange(round_max_backlog_, 0), std::memory_order_relaxed);
  if (trim_requested_) {
    trim_requested_ = false;
    malloc_trim(0);
  }
  ScheduleSweep();
}

}  // namespace stockfeed::ws_gateway

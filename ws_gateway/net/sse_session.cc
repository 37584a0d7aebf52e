#include "sse_session.h"

#include <boost/asio/error.hpp>

#include "absl/strings/str_cat.h"
#include "core/messages.h"
#include "core/sse.h"
#include "shard.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::ws_gateway {
namespace {

// Same write sizes as a WebSocket session (session.cc): a burst leaves in one
// sendmsg, and one client's backlog cannot hold up the shard's pass.
constexpr size_t kMaxChunksPerWrite = 256;
constexpr size_t kMaxWritesPerPump = 4;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(absl::ToChronoNanoseconds(d));
}

}  // namespace

SseSession::SseSession(Shard& shard, tcp::socket socket, ConnectionGate::Slot slot, ConnectParams params,
                       std::string peer)
    : shard_(shard),
      connection_slot_(std::move(slot)),
      socket_(std::move(socket)),
      peer_(std::move(peer)),
      params_(std::move(params)),
      subscription_(params_.symbols, params_.sources) {}

SseSession::~SseSession() {
  if (!registered_) return;
  shard_.Remove(this);
  --shard_.counters().sse_clients;
  const uint64_t active = --shard_.counters().active_connections;
  spdlog::info("SSE client disconnected: peer={} active={}", peer_, active);
}

void SseSession::Start(int http_version_minor) {
  socket_.Bind(weak_from_this(), [this] {
    if (closing_) {
      EndStream();
    } else if (shard_.config().fanout_interval == absl::ZeroDuration()) {
      Pump();
    } else if (cursor_ != shard_.log().head()) {
      shard_.SchedulePass();
    }
  });
  open_ = true;
  registered_ = true;
  shard_.Add(this);
  ++shard_.counters().total_connections;
  ++shard_.counters().sse_clients;
  const uint64_t active = ++shard_.counters().active_connections;
  spdlog::info("SSE client connected: peer={} active={}", peer_, active);

  const FeedLog& log = shard_.log();
  socket_.QueueCopy(SseResponseHead(http_version_minor));
  SendEvent("connected", EncodeWelcome(log.epoch(), log.last_seq(), /*rich=*/true));
  SendEvent("status", shard_.status_frame()->payload());
  cursor_ = log.head();
  epoch_known_ = log.epoch_number();  // the connected event names the epoch
  bool resumed = false;
  if (params_.after_seq) {
    const std::string epoch = params_.epoch.empty() ? log.epoch() : params_.epoch;
    if (std::optional<uint64_t> resume = log.ResumeCursor(epoch, *params_.after_seq)) {
      cursor_ = *resume;
      resumed = true;
      SendEvent("resumed", EncodeResumed(*params_.after_seq + 1));
    } else {
      SendEvent("resync", EncodeResync(epoch != log.epoch() ? "the feed restarted (new epoch)"
                                                            : "the requested updates are no longer held"));
    }
  }
  if (!resumed) {
    // The latest value of every matching pair, as one event whose id is the
    // position it reflects: a reconnect resumes right after it.
    std::vector<absl::string_view> payloads;
    const std::vector<FramePtr> latest = log.Latest(0, cursor_, [this](const Frame& f) { return Wanted(f); });
    payloads.reserve(latest.size());
    for (const FramePtr& frame : latest) payloads.push_back(frame->payload());
    SendEvent("snapshot", EncodeSnapshot(log.epoch(), log.last_seq(), payloads), log.last_seq());
  }
  socket_.Flush();
  WatchForClose();
  Pump();
}

void SseSession::SendEvent(absl::string_view event, absl::string_view data, uint64_t id) {
  if (!open_) return;
  std::string bytes = EncodeSseEvent(event, data, id);
  // The same byte budget as a WebSocket client's replies (prices are conflated instead).
  if (socket_.pending_bytes() + bytes.size() > shard_.config().max_client_queue_bytes) {
    ++shard_.counters().budget_disconnects;
    Abort(absl::StrCat("unread output past --max_client_queue_bytes (", socket_.pending_bytes(), " bytes pending)"));
    return;
  }
  socket_.QueueCopy(bytes);
  shard_.CountSent(1);
  last_write_ = std::chrono::steady_clock::now();
}

void SseSession::SendStatus(const FramePtr& status) {
  if (!open_ || closing_) return;
  SendEvent("status", status->payload());
  socket_.Flush();
}

void SseSession::Pump() {
  for (size_t writes = 0; writes < kMaxWritesPerPump; ++writes) {
    if (!open_ || closing_ || socket_.writing()) return;
    if (socket_.error()) {
      Abort(socket_.error().message());
      return;
    }
    const FeedLog& log = shard_.log();
    if (cursor_ == log.head()) return;
    AnnounceEpochIfDue();
    if (FellBehind(log, shard_.config().max_backlog)) {
      Conflate();
    } else {
      QueueBacklog();
    }
    socket_.Flush();
  }
  if (cursor_ != shard_.log().head()) shard_.SchedulePass();
}

void SseSession::QueueBacklog() {
  const FeedLog& log = shard_.log();
  size_t queued = 0;
  // The socket holds a reference to each frame until written: the log may
  // overwrite its slot meanwhile.
  const uint64_t up_to = DeliverableUpTo(log);
  while (cursor_ < up_to && socket_.queued_chunks() < kMaxChunksPerWrite) {
    const FramePtr& frame = log.at(++cursor_);
    if (!Wanted(*frame)) continue;
    socket_.Queue(frame, frame->sse_event());
    ++queued;
  }
  if (queued == 0) return;
  shard_.CountSent(queued);
  last_write_ = std::chrono::steady_clock::now();
}

void SseSession::Conflate() {
  const FeedLog& log = shard_.log();
  const uint64_t skipped = log.head() - cursor_;
  const std::vector<FramePtr> latest = log.Latest(cursor_, log.head(), [this](const Frame& f) { return Wanted(f); });
  cursor_ = log.head();
  AnnounceEpochIfDue();
  ++shard_.counters().conflations;
  spdlog::debug("conflating slow SSE client: peer={} skipped={} sent={}", peer_, skipped, latest.size());
  SendEvent("conflated", EncodeConflated(skipped));
  // In log order, so their ids still increase.
  for (const FramePtr& frame : latest) socket_.Queue(frame, frame->sse_event());
  shard_.CountSent(latest.size());
}

void SseSession::AnnounceEpochIfDue() {
  const FeedLog& log = shard_.log();
  if (const FeedLog::EpochStart* due = EpochNoticeDue(log)) SendEvent("epoch", EncodeEpoch(due->epoch));
}

void SseSession::CheckTimeouts(std::chrono::steady_clock::time_point now) {
  if (!open_) return;
  const GatewayConfig& config = shard_.config();
  if (socket_.writing() && now - socket_.write_started() >= ToChrono(config.write_stall_timeout)) {
    ++shard_.counters().slow_disconnects;
    Abort("client stopped reading (write stalled past --write_stall_timeout)");
    return;
  }
  // The WebSocket ping's cadence: proxies and clients see traffic on a quiet feed.
  if (!closing_ && !socket_.writing() && now - last_write_ >= ToChrono(config.idle_timeout / 2)) {
    socket_.Queue(nullptr, kSseHeartbeat);
    socket_.Flush();
    last_write_ = now;
  }
}

void SseSession::CloseForShutdown(const std::string& reason) {
  if (!open_ || closing_) return;
  SendEvent("shutdown", EncodeError("shutting_down", reason));
  closing_ = true;
  socket_.Flush();
  if (!socket_.writing()) EndStream();
}

void SseSession::EndStream() {
  error_code ignored;
  socket_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
}

void SseSession::WatchForClose() {
  socket_.next_layer().async_read_some(
      net::buffer(read_scratch_), [self = shared_from_this()](const error_code& ec, std::size_t) {
        if (!ec) {
          self->Abort("sent data on an event stream");
          return;
        }
        self->open_ = false;  // gone; the last reference goes with this handler
      });
}

void SseSession::Abort(absl::string_view why) {
  if (!open_) return;
  spdlog::warn("dropping SSE client: peer={} reason={}", peer_, why);
  open_ = false;
  error_code ignored;
  socket_.next_layer().close(ignored);
}

}  // namespace stockfeed::ws_gateway

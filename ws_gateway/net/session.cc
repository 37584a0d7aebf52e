#include "session.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <variant>

#include <boost/beast/websocket/rfc6455.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/algorithm/container.h"
#include "core/deflate.h"
#include "core/heartbeat.h"
#include "core/messages.h"
#include "shard.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::ws_gateway {
namespace {

namespace websocket = boost::beast::websocket;

// Frames one write takes: a burst of a few hundred leaves in one sendmsg
// (FrameSocket gathers up to 1024 buffers), about 35 KiB of prices.
constexpr size_t kMaxChunksPerWrite = 256;
// Writes one Pump() may make in a row for a client catching up.
constexpr size_t kMaxWritesPerPump = 4;
// Replies a client may leave unread before it counts as flooding us; the
// bytes they hold are bounded by --max_client_queue_bytes.
constexpr size_t kMaxQueuedChunks = 1024;
// A reply this large leaves buffers worth giving back once it is written.
constexpr size_t kLargeReplyBytes = 64 << 10;
// Room for a history reply's own JSON around the prices it splices.
constexpr size_t kHistoryEnvelopeBytes = 64;
// Recent prices per symbol sent on subscribe when the client does not say.
constexpr size_t kDefaultHistory = 10;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(absl::ToChronoNanoseconds(d));
}

bool Expected(const error_code& ec) {
  return ec == websocket::error::closed || ec == boost::asio::error::operation_aborted ||
         ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset ||
         ec == boost::asio::error::broken_pipe || ec == boost::beast::error::timeout;
}

}  // namespace

Session::Session(Shard& shard, tcp::socket socket, ConnectionGate::Slot slot, ConnectParams params,
                 std::string peer, SessionAuth auth)
    : shard_(shard),
      connection_slot_(std::move(slot)),
      socket_(std::move(socket)),
      ws_(std::make_unique<websocket::stream<FrameSocket&>>(socket_)),
      reader_(shard.config().max_message_bytes),
      peer_(std::move(peer)),
      params_(std::move(params)),
      auth_(std::move(auth)),
      subscription_(params_.symbols, params_.sources),
      control_limiter_(shard.config().control_rate, shard.config().control_burst),
      reply_limiter_(static_cast<double>(shard.config().reply_bytes_per_second),
                     static_cast<double>(shard.config().max_client_queue_bytes)) {
  SetMaxRate(params_.max_rate);
}

Session::~Session() {
  if (sent_large_reply_) shard_.RequestMemoryTrim();
  if (!registered_) return;
  shard_.Remove(this);
  shard_.events().closed.For(end_reason_.empty() ? "client" : end_reason_).Add();
  const uint64_t active = --shard_.counters().active_connections;
  spdlog::info("client disconnected: peer={} active={}", peer_, active);
}

void Session::Start(boost::beast::http::request<boost::beast::http::string_body> request) {
  const GatewayConfig& config = shard_.config();
  // Without pacing, a finished write takes what arrived meanwhile right away;
  // with it, the shard's next pass does, together with what arrives until then.
  socket_.CountWritesIn(&shard_.metrics());
  socket_.Bind(weak_from_this(), [this] {
    if (shutdown_due_) {
      ShutdownWhenWritten();
      return;
    }
    if (shard_.config().fanout_interval == absl::ZeroDuration()) {
      Pump();
    } else if (cursor_ != shard_.log().head()) {
      shard_.SchedulePass();
    }
  });
  // Beast times the handshake only. Idle clients are pinged and dropped by
  // the shard's sweep (CheckTimeouts): no timer per connection, and a ping
  // is two static bytes in the write queue.
  websocket::stream_base::timeout timeouts;
  timeouts.handshake_timeout = ToChrono(config.handshake_timeout);
  timeouts.idle_timeout = websocket::stream_base::none();
  timeouts.keep_alive_pings = false;
  ws_->set_option(timeouts);
  ws_->control_callback([this](websocket::frame_type kind, boost::beast::string_view) { OnControlFrame(kind); });
  if (config.permessage_deflate) {
    // No context takeover and the smallest window: each price is compressed
    // once for everybody (core/deflate.h).
    websocket::permessage_deflate deflate;
    deflate.server_enable = true;
    deflate.server_no_context_takeover = true;
    deflate.server_max_window_bits = kDeflateWindowBits;
    ws_->set_option(deflate);
  }
  // A browser that sends its token as a subprotocol ("bearer.<token>") must
  // get one of its offered protocols back: "stockfeed", never the token.
  const auto protocols = request.find(boost::beast::http::field::sec_websocket_protocol);
  const bool offered_stockfeed =
      protocols != request.end() &&
      absl::c_any_of(absl::StrSplit(absl::string_view(protocols->value().data(), protocols->value().size()), ','),
                     [](absl::string_view entry) { return absl::StripAsciiWhitespace(entry) == "stockfeed"; });
  // Beast has negotiated the extensions when it calls the decorator.
  ws_->set_option(websocket::stream_base::decorator([this, offered_stockfeed](websocket::response_type& response) {
    response.set(boost::beast::http::field::server, "stockfeed-ws-gateway");
    if (offered_stockfeed) response.set(boost::beast::http::field::sec_websocket_protocol, "stockfeed");
    const auto extensions = response.find(boost::beast::http::field::sec_websocket_extensions);
    deflate_ = extensions != response.end() &&
               absl::StrContains(absl::string_view(extensions->value().data(), extensions->value().size()),
                                 "permessage-deflate");
  }));
  ws_->read_message_max(config.max_message_bytes);
  ws_->async_accept(request, [self = shared_from_this()](const error_code& ec) { self->OnAccept(ec); });
}

void Session::OnAccept(const error_code& ec) {
  shard_.DeliverDuePrices();
  if (ec) {
    spdlog::warn("websocket handshake failed: peer={} error={}", peer_, ec.message());
    shard_.events().rejected.For("handshake_failed").Add();
    return;
  }
  open_ = true;
  registered_ = true;
  HeardFromClient();
  shard_.Add(this);
  const uint64_t connection_number = ++shard_.counters().total_connections;
  ping_after_ms_ = static_cast<uint32_t>(std::min<int64_t>(
      absl::ToInt64Milliseconds(PingAfterSilence(shard_.config().idle_timeout, connection_number)), UINT32_MAX));
  const uint64_t active = ++shard_.counters().active_connections;
  spdlog::info("client connected: peer={} protocol={} sub={} active={}", peer_, params_.rich ? "v1" : "workshop",
               auth_.claims ? auth_.claims->subject : "-", active);
  SendInitial();
  SendForbidden(auth_.refused_symbols);
  auth_.refused_symbols.clear();
  if (!deflate_) {
    // From here on our reader takes the client's frames: Beast's stream goes
    // (once its accept operation has finished with it).
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->ws_.reset(); });
  }
  Read();
  Pump();
}

void Session::SendInitial() {
  const FeedLog& log = shard_.log();
  Send(EncodeWelcome(log.epoch(), log.last_seq(), params_.rich));
  const auto wanted = [this](const Frame& frame) {
    return subscription_.Matches(frame.symbol(), frame.source());
  };
  cursor_ = log.head();
  epoch_known_ = log.epoch_number();  // the welcome names the epoch
  if (!params_.rich) {
    // The workshop's dashboard expects plain price messages right away. Rich
  // clients always get a snapshot message, even an empty one.
    SendPrices(log.Latest(0, cursor_, wanted));
    return;
  }
  Send(std::string(shard_.status_frame()->payload()));
  if (params_.after_seq) {
    if (std::optional<uint64_t> resume = log.ResumeCursor(params_.epoch, *params_.after_seq)) {
      cursor_ = *resume;
      Send(EncodeResumed(*params_.after_seq + 1));
      return;
    }
    Send(EncodeResync(params_.epoch != log.epoch()
                          ? "the feed restarted (new epoch)"
                          : "the requested updates are no longer held"));
  }
  SendPrices(log.Latest(0, cursor_, wanted));
  SendHistory(params_.history, wanted);
}

void Session::SendHistory(size_t count, absl::FunctionRef<bool(const Frame&)> wanted, size_t reserve) {
  if (count == 0) return;
  // Sized to what the client may still spend, so it is never built to be refused.
  const auto affordable = static_cast<size_t>(reply_limiter_.Available(absl::Now()));
  const size_t overhead = kHistoryEnvelopeBytes + reserve;
  const size_t max_bytes = std::min(shard_.config().max_history_bytes, affordable > overhead ? affordable - overhead : 0);
  if (max_bytes == 0) {
    RefuseReply("history");
    return;
  }
  const FeedLog::HistoryFrames history = shard_.log().History(count, cursor_, wanted, max_bytes);
  if (history.frames.empty()) {
    if (history.truncated) RefuseReply("history");
    return;
  }
  std::vector<absl::string_view> payloads;
  payloads.reserve(history.frames.size());
  for (const FramePtr& frame : history.frames) payloads.push_back(frame->payload());
  std::string reply = EncodeHistory(payloads, history.truncated);
  if (!PayForReply(reply.size())) {
    RefuseReply("history");
    return;
  }
  Send(std::move(reply));
}

bool Session::PayForReply(size_t bytes) {
  return reply_limiter_.Allow(absl::Now(), static_cast<double>(bytes));
}

void Session::RefuseReply(absl::string_view what) {
  SendError({"reply_rate_limited", absl::StrCat(what, " not sent: replies are limited to ",
                                                shard_.config().reply_bytes_per_second,
                                                " bytes/s per client; ask again later")});
}

void Session::SetMaxRate(double per_second) {
  min_interval_ = per_second > 0 ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                       std::chrono::duration<double>(1.0 / per_second))
                                 : std::chrono::steady_clock::duration::zero();
}

bool Session::RateAllowsDelivery() {
  if (min_interval_ == std::chrono::steady_clock::duration::zero()) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_delivery_ >= min_interval_) {
    last_delivery_ = now;
    return true;
  }
  if (!rate_timer_armed_) {
    if (!rate_timer_) rate_timer_ = std::make_unique<boost::asio::steady_timer>(shard_.io());
    rate_timer_armed_ = true;
    rate_timer_->expires_at(last_delivery_ + min_interval_);
    rate_timer_->async_wait([self = shared_from_this()](const error_code& ec) {
      self->rate_timer_armed_ = false;
      if (!ec) self->Pump();
    });
  }
  return false;
}

void Session::SendPrices(const std::vector<FramePtr>& prices) {
  if (!params_.rich) {
    // Marked, so the client can tell them from live prices: they are the
    // latest per pair, and their seqs are not consecutive.
    std::vector<FramePtr> marked;
    marked.reserve(prices.size());
    size_t bytes = 0;
    for (const FramePtr& frame : prices) {
      marked.push_back(Frame::Message(MarkedAsSnapshot(frame->payload())));
      bytes += marked.back()->wire().size();
    }
    if (!PayForReply(bytes)) {
      RefuseReply("snapshot");
      return;
    }
    for (FramePtr& frame : marked) {
      const absl::string_view wire = frame->wire();
      socket_.Queue(std::move(frame), wire);
    }
    shard_.CountSent(marked.size());
    socket_.Flush();
    return;
  }
  std::vector<absl::string_view> payloads;
  payloads.reserve(prices.size());
  for (const FramePtr& frame : prices) payloads.push_back(frame->payload());
  const FeedLog& log = shard_.log();
  std::string snapshot = EncodeSnapshot(log.epoch(), log.last_seq(), payloads);
  if (!PayForReply(snapshot.size())) {
    RefuseReply("snapshot");
    return;
  }
  Send(std::move(snapshot));
}

void Session::Send(std::string message) {
  if (!open_ || closing_) return;
  FrameSocket& socket = socket_;
  if (socket.queued_chunks() > kMaxQueuedChunks ||
      socket.pending_bytes() + message.size() > shard_.config().max_client_queue_bytes) {
    ++shard_.counters().budget_disconnects;
    Abort(absl::StrCat("unread output past --max_client_queue_bytes (", socket.pending_bytes(), " bytes pending, ",
                       socket.queued_chunks(), " chunks)"),
          "output_budget");
    return;
  }
  if (message.size() >= kLargeReplyBytes) sent_large_reply_ = true;
  FramePtr frame = Frame::Message(message);
  socket.Queue(frame, frame->wire());
  shard_.CountSent(1);
  socket.Flush();
}

void Session::SendStatus(const FramePtr& status) {
  if (!params_.rich || !open_ || closing_) return;
  socket_.Queue(status, status->wire());
  shard_.CountSent(1);
  socket_.Flush();
}

void Session::Pump() {
  FrameSocket& socket = socket_;
  // Flush() usually writes at once and leaves the socket idle, so a client
  // with a backlog takes a few writes in a row; past that, the next pass
  // serves the rest, so one long backlog cannot hold up the shard. In a pass
  // with a SendBatch the write waits for the batch, so a client takes one
  // write per pass there (and more from on_idle_ once the batch is sent).
  for (size_t writes = 0; writes < kMaxWritesPerPump; ++writes) {
    if (!open_ || closing_ || socket.writing()) return;
    if (socket.error()) {
      Abort(socket.error().message(), "write_error");
      return;
    }
    const FeedLog& log = shard_.log();
    if (cursor_ == log.head()) return;
    AnnounceEpochIfDue();
    if (min_interval_ != std::chrono::steady_clock::duration::zero()) {
      // Rate-limited clients get the latest value of what changed, at most
      // max_rate times a second: they asked for conflation.
      if (RateAllowsDelivery()) Conflate(/*announce=*/false);
      socket.Flush();
      return;
    }
    if (FellBehind(log, shard_.config().max_backlog)) {
      Conflate(/*announce=*/true);
    } else {
      QueueBacklog();
    }
    socket.Flush();
  }
  if (cursor_ != shard_.log().head()) shard_.SchedulePass();
}

size_t Session::QueueBacklog() {
  const FeedLog& log = shard_.log();
  FrameSocket& socket = socket_;
  const size_t room = kMaxChunksPerWrite > socket.queued_chunks()
                          ? kMaxChunksPerWrite - socket.queued_chunks()
                          : 1;
  // Batch mode spends two chunks on the array's brackets and header.
  const size_t max_frames = params_.batch ? std::max<size_t>(room, 3) - 2 : room;

  // The socket holds a reference to each frame until written: the log may
  // overwrite its slot meanwhile. Frames are per shard, so the reference
  // count is never contended across threads. One scratch list per io
  // thread, not per session: an idle client keeps no buffer for it, and the
  // pass does not load one more cold cache line per client.
  thread_local std::vector<FramePtr> batch;
  batch.clear();
  const uint64_t up_to = DeliverableUpTo(log);
  while (cursor_ < up_to && batch.size() < max_frames) {
    const FramePtr& frame = log.at(++cursor_);
    if (subscription_.Matches(frame->symbol(), frame->source())) batch.push_back(frame);
  }
  if (batch.empty()) return 0;

  // Compressed frames are shared as they are; batching them would mean
  // compressing per client, so compressed clients get one price per frame.
  if (deflate_ || !params_.batch || batch.size() == 1) {
    for (FramePtr& frame : batch) {
      const absl::string_view bytes = WireOf(*frame);
      socket.Queue(std::move(frame), bytes, /*live=*/true);
    }
  } else {
    // One text frame holding a JSON array spliced from the shared payloads.
    size_t payload_size = 1;  // '['
    // The last comma becomes the closing bracket, so the sizes add up.
    for (const FramePtr& frame : batch) payload_size += frame->payload_and_comma().size();
    char header[11];
    const size_t header_size = EncodeTextFrameHeader(payload_size, header);
    header[header_size] = '[';
    socket.QueueCopy(absl::string_view(header, header_size + 1));
    for (size_t i = 0; i + 1 < batch.size(); ++i) {
      const absl::string_view bytes = batch[i]->payload_and_comma();
      socket.Queue(std::move(batch[i]), bytes, /*live=*/true);
    }
    const absl::string_view last = batch.back()->payload();
    socket.Queue(std::move(batch.back()), last, /*live=*/true);
    static constexpr char kClose[] = "]";
    socket.Queue(nullptr, absl::string_view(kClose, 1));
  }
  const size_t queued = batch.size();
  batch.clear();
  shard_.CountSent(queued);
  return queued;
}

void Session::Conflate(bool announce) {
  const FeedLog& log = shard_.log();
  const uint64_t skipped = log.head() - cursor_;
  std::vector<FramePtr> latest = log.Latest(cursor_, log.head(), [this](const Frame& frame) {
    return subscription_.Matches(frame.symbol(), frame.source());
  });
  cursor_ = log.head();
  AnnounceEpochIfDue();
  if (announce) {
    ++shard_.counters().conflations;
    spdlog::debug("conflating slow client: peer={} skipped={} sent={}", peer_, skipped, latest.size());
    if (params_.rich) Send(EncodeConflated(skipped));
  }
  FrameSocket& socket = socket_;
  for (const FramePtr& frame : latest) socket.Queue(frame, WireOf(*frame));
  shard_.CountSent(latest.size());
}

void Session::AnnounceEpochIfDue() {
  const FeedLog& log = shard_.log();
  const FeedLog::EpochStart* due = EpochNoticeDue(log);
  if (due != nullptr && params_.rich) Send(EncodeEpoch(due->epoch));
}

void Session::Read() {
  if (deflate_ && !socket_.at_frame_boundary()) {
    ReadMessage();
    return;
  }
  // An idle client costs a one-byte peek only: no read buffer until it
  // sends something. (A peek, not async_wait: Asio tries a receive at once,
  // so bytes or an EOF already there are seen without waiting for another
  // readiness event.) For a compressing client Beast holds none of its bytes
  // between messages, and pongs, the answer to our keep-alive pings, are
  // taken here, so answering them does not leave a Beast read behind either.
  thread_local char peeked;
  socket_.next_layer().async_receive(net::buffer(&peeked, 1), tcp::socket::message_peek,
                                     [self = shared_from_this()](const error_code& ec, std::size_t) {
    if (ec) {
      self->OnRead(ec, 0);
    } else if (!self->deflate_) {
      self->ReadFrames();
    } else if (!self->closing_ && self->socket_.TakePong()) {
      self->OnControlFrame(websocket::frame_type::pong);
      self->Read();
    } else {
      self->ReadMessage();
    }
  });
}

void Session::ReadMessage() {
  ws_->async_read(read_buffer_, [self = shared_from_this()](const error_code& ec, std::size_t bytes) {
    self->OnRead(ec, bytes);
  });
}

void Session::OnRead(const error_code& ec, std::size_t bytes) {
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      // Beast has sent close 1009.
      SetEndReason("message_too_big");
      shard_.events().close_codes.For("1009").Add();
    }
    if (!Expected(ec)) spdlog::info("client read failed: peer={} error={}", peer_, ec.message());
    open_ = false;
    return;  // the last reference goes with this handler
  }
  HeardFromClient();
  if (!ws_->got_text()) {
    read_buffer_.consume(bytes);
    Close(websocket::close_code::unknown_data, "binary frames are not supported; send JSON text");
    return;
  }
  const auto data = read_buffer_.cdata();
  HandleText(absl::string_view(static_cast<const char*>(data.data()), data.size()));
  read_buffer_.consume(bytes);
  read_buffer_.shrink_to_fit();  // empty: nothing held while the client is quiet
  Read();
}

void Session::ReadFrames() {
  // One read per wake-up, into the io thread's buffer: a client sending
  // without pause cannot hold up the shard, and none holds a read buffer.
  thread_local std::array<char, 16 << 10> buffer;
  ssize_t received;
  do {
    received = ::recv(socket_.next_layer().native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  } while (received < 0 && errno == EINTR);
  if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    Read();
    return;
  }
  if (received <= 0) {
    OnRead(received == 0 ? error_code(net::error::eof) : error_code(errno, boost::system::system_category()), 0);
    return;
  }
  absl::string_view input(buffer.data(), static_cast<size_t>(received));
  while (open_) {
    const std::optional<ClientFrameReader::Event> event = reader_.Next(input);
    if (!event) break;
    OnClientFrame(*event);
  }
  if (open_) Read();
}

void Session::OnClientFrame(const ClientFrameReader::Event& event) {
  using Kind = ClientFrameReader::Event::Kind;
  switch (event.kind) {
    case Kind::kText:
      if (closing_) return;  // our close frame is out: nothing more is answered
      HeardFromClient();
      HandleText(event.payload);
      return;
    case Kind::kBinary:
      if (closing_) return;
      HeardFromClient();
      Close(websocket::close_code::unknown_data, "binary frames are not supported; send JSON text");
      return;
    case Kind::kPing:
      OnControlFrame(websocket::frame_type::ping);
      if (open_ && !closing_) {
        // The pong carries the ping's payload (RFC 6455 §5.5.3).
        char pong[2 + 125];
        pong[0] = '\x8a';
        pong[1] = static_cast<char>(event.payload.size());
        event.payload.copy(pong + 2, event.payload.size());
        socket_.QueueCopy(absl::string_view(pong, 2 + event.payload.size()));
        socket_.Flush();
      }
      return;
    case Kind::kPong:
      OnControlFrame(websocket::frame_type::pong);
      return;
    case Kind::kClose:
      OnControlFrame(websocket::frame_type::close);
      if (!closing_) {
        // The client began the close handshake: echo its code, as Beast does.
        SetEndReason("client");
        closing_ = true;
        close_started_ = std::chrono::steady_clock::now();
        QueueCloseFrame(event.close_code, "");
      }
      ShutdownWhenWritten();
      return;
    case Kind::kFail:
      spdlog::info("client read failed: peer={} error={}", peer_, event.payload);
      if (event.close_code == kCloseMessageTooBig) {
        SetEndReason("message_too_big");
        shard_.events().close_codes.For("1009").Add();
      }
      if (!closing_) {
        closing_ = true;
        close_started_ = std::chrono::steady_clock::now();
        QueueCloseFrame(event.close_code, "");
      }
      ShutdownWhenWritten();
      return;
  }
}

void Session::QueueCloseFrame(uint16_t code, absl::string_view reason) {
  // A control frame's payload is at most 125 bytes: the code and 123 of reason.
  reason = reason.substr(0, 123);
  char frame[2 + 125];
  frame[0] = '\x88';
  frame[1] = static_cast<char>(2 + reason.size());
  frame[2] = static_cast<char>(code >> 8);
  frame[3] = static_cast<char>(code & 0xff);
  reason.copy(frame + 4, reason.size());
  socket_.QueueCopy(absl::string_view(frame, 4 + reason.size()));
  socket_.Flush();
}

void Session::ShutdownWhenWritten() {
  socket_.Flush();
  if (socket_.pending_bytes() > 0 && !socket_.error()) {
    shutdown_due_ = true;  // the socket's on_idle calls again
    return;
  }
  shutdown_due_ = false;
  error_code ignored;
  socket_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
}

void Session::HandleText(absl::string_view text) {
  const GatewayConfig& config = shard_.config();
  if (!control_limiter_.Allow(absl::Now())) {
    CloseForFlood();
    return;
  }
  std::variant<ControlRequest, ControlError> parsed =
      ParseControlMessage(text, config.max_symbols_per_connection, config.history_depth);
  if (auto* error = std::get_if<ControlError>(&parsed)) {
    shard_.events().control_messages.For("invalid").Add();
    SendError(*error);
    return;
  }
  ControlRequest& request = std::get<ControlRequest>(parsed);
  shard_.events().control_messages.For(ControlRequest::TypeName(request.type)).Add();
  switch (request.type) {
    case ControlRequest::Type::kPing:
      Send(EncodePong(request.id));
      return;
    case ControlRequest::Type::kStats:
    case ControlRequest::Type::kStatsText: {
      std::string stats = request.type == ControlRequest::Type::kStats ? EncodeStats(shard_.Stats())
                                                                       : EncodeStatsText(shard_.Stats());
      if (PayForReply(stats.size())) {
        Send(std::move(stats));
      } else {
        RefuseReply("stats");
      }
      return;
    }
    case ControlRequest::Type::kRefresh:
      Refresh(request.token);
      return;
    case ControlRequest::Type::kSubscribe:
    case ControlRequest::Type::kUnsubscribe:
      break;
  }
  // A client that manages subscriptions speaks the rich protocol.
  params_.rich = true;
  if (request.type == ControlRequest::Type::kSubscribe && auth_.claims) {
    // What the token does not allow is refused; the rest of the request applies.
    SendForbidden(RestrictSymbols(*auth_.claims, request.symbols));
  }
  const Subscription before = subscription_;
  std::optional<ControlError> error =
      request.type == ControlRequest::Type::kSubscribe
          ? subscription_.Add(request.symbols, request.sources, config.max_symbols_per_connection)
          : subscription_.Remove(request.symbols, request.sources);
  if (error) {
    SendError(*error);
    return;
  }
  if (request.max_rate) SetMaxRate(*request.max_rate);
  const FeedLog& log = shard_.log();
  Send(EncodeSubscribed(subscription_.SymbolList(), subscription_.SourceList(), log.last_seq()));
  if (request.type == ControlRequest::Type::kUnsubscribe) {
    // Nothing was added: no history, and the (empty) snapshot without
    // walking the log, which a client churning its subscription would make costly.
    SendPrices({});
    return;
  }
  // History and latest values of what was just added, up to the cursor;
  // newer prices follow from the log, so nothing comes twice.
  const auto added = [&](const Frame& frame) {
    return subscription_.Matches(frame.symbol(), frame.source()) &&
           !before.Matches(frame.symbol(), frame.source());
  };
  // The latest values matter more than history: the history gets what the
  // reply budget holds beyond them.
  std::vector<FramePtr> latest = log.Latest(0, cursor_, added);
  size_t latest_bytes = 0;
  for (const FramePtr& frame : latest) latest_bytes += frame->payload_and_comma().size();
  SendHistory(std::min(request.history.value_or(kDefaultHistory), config.history_depth), added, latest_bytes);
  SendPrices(latest);
}

void Session::SendError(const ControlError& error) {
  shard_.events().control_errors.For(error.code).Add();
  Send(EncodeError(error.code, error.message));
}

void Session::Close(websocket::close_code code, std::string reason) {
  if (!open_ || closing_) return;
  closing_ = true;
  close_started_ = std::chrono::steady_clock::now();
  switch (code) {
    case websocket::close_code::going_away: SetEndReason("shutdown"); break;
    case websocket::close_code::unknown_data: SetEndReason("binary_frame"); break;
    case websocket::close_code::policy_error: SetEndReason("message_flood"); break;
    default: SetEndReason("other"); break;
  }
  shard_.events().close_codes.For(std::to_string(static_cast<int>(code))).Add();
  if (!deflate_) {
    // The client's close frame, read by ReadFrames, completes the handshake.
    QueueCloseFrame(static_cast<uint16_t>(code), reason);
    return;
  }
  ws_->async_close(websocket::close_reason(code, reason), [self = shared_from_this()](const error_code&) {});
}

void Session::OnControlFrame(websocket::frame_type kind) {
  HeardFromClient();
  // Pings and pongs cost a reply or a wake-up each: they share the message
  // budget. The close frame ends the conversation and is never refused.
  if (kind == websocket::frame_type::close || control_limiter_.Allow(absl::Now())) return;
  if (closing_) {
    // Still flooding after our close frame: no handshake to wait for.
    Abort("control frames past --control_rate after close", "message_flood");
    return;
  }
  CloseForFlood();
  // While it waits for the client's close frame Beast would keep reading
  // (and silently discarding) a ping flood, which no browser sends: stop
  // reading, so the close completes at once.
  error_code ignored;
  socket_.next_layer().shutdown(tcp::socket::shutdown_receive, ignored);
}

void Session::CloseForFlood() {
  spdlog::info("closing client: peer={} reason=too many messages (limit {}/s)", peer_, shard_.config().control_rate);
  Close(websocket::close_code::policy_error,
        absl::StrCat("too many messages (limit ", shard_.config().control_rate, "/s)"));
}

void Session::SendForbidden(const std::vector<std::string>& symbols) {
  if (symbols.empty()) return;
  Send(EncodeError("forbidden_symbol",
                   absl::StrCat("your token does not allow ", absl::StrJoin(symbols, ", "), "; the rest applies")));
}

void Session::Refresh(absl::string_view token) {
  if (!auth_.claims) {
    Send(EncodeError("invalid_message", "this connection needs no token"));
    return;
  }
  absl::StatusOr<TokenClaims> claims = shard_.front_door().chain.tokens().Verify(token, absl::Now());
  if (claims.ok() && claims->subject != auth_.claims->subject) {
    claims = absl::UnauthenticatedError("token is for another subject");
  }
  if (!claims.ok()) {
    Send(EncodeError("invalid_token", claims.status().message()));
    return;
  }
  auth_.claims = *std::move(claims);
  expiry_announced_ = false;
  if (!auth_.claims->AllowsAllSymbols()) {
    // A narrower token narrows what this client already receives.
    std::vector<std::string> current = subscription_.SymbolList();
    RestrictSymbols(*auth_.claims, current);
    subscription_ = Subscription(current, subscription_.all_sources() ? std::nullopt
                                                                      : std::optional(subscription_.SourceList()));
  }
  Send(EncodeRefreshed(absl::ToInt64Seconds(auth_.claims->expires - absl::Now())));
  spdlog::info("client refreshed its token: peer={} sub={}", peer_, auth_.claims->subject);
}

void Session::CheckToken() {
  if (!auth_.claims || closing_) return;
  const absl::Time now = absl::Now();
  if (now >= auth_.claims->expires) {
    spdlog::info("closing client: peer={} sub={} reason=token expired", peer_, auth_.claims->subject);
    Close(static_cast<websocket::close_code>(4001), "token expired");
    return;
  }
  const absl::Duration left = auth_.claims->expires - now;
  if (!expiry_announced_ && left <= shard_.config().jwt_refresh_window) {
    expiry_announced_ = true;
    Send(EncodeTokenExpiring(absl::ToInt64Seconds(left)));
  }
}

void Session::HeardFromClient() {
  last_heard_ = std::chrono::steady_clock::now();
  ping_outstanding_ = false;
}

void Session::CheckTimeouts(std::chrono::steady_clock::time_point now) {
  if (!open_) return;
  const GatewayConfig& config = shard_.config();
  const FrameSocket& socket = socket_;
  if (socket.writing() && now - socket.write_started() >= ToChrono(config.write_stall_timeout)) {
    ++shard_.counters().slow_disconnects;
    Abort("client stopped reading (write stalled past --write_stall_timeout)", "write_stalled");
    return;
  }
  if (closing_ && now - close_started_ >= ToChrono(config.handshake_timeout)) {
    // Beast waits for the client's close frame for ever, ignoring its pings.
    Abort("close handshake not completed within --handshake_timeout", "close_timeout");
    return;
  }
  CheckToken();
  const auto silent = now - last_heard_;
  if (silent >= ToChrono(config.idle_timeout)) {
    Abort("no frame from the client for --idle_timeout", "idle_timeout");
    return;
  }
  if (sent_large_reply_ && socket.pending_bytes() == 0) {
    // A large reply has gone out: give its buffers and the heap back.
    sent_large_reply_ = false;
    socket_.ReleaseMemory();
    shard_.RequestMemoryTrim();
  }
  if (silent >= std::chrono::milliseconds(ping_after_ms_) && !ping_outstanding_ && !closing_) {
    // An empty ping (RFC 6455 §5.5.2); any frame back, its pong included,
    // counts as a sign of life.
    static constexpr char kPing[] = {'\x89', '\x00'};
    socket_.Queue(nullptr, absl::string_view(kPing, sizeof kPing));
    socket_.Flush();
    ping_outstanding_ = true;
  }
}

void Session::Abort(absl::string_view why, absl::string_view reason) {
  if (!open_) return;
  SetEndReason(reason);
  spdlog::warn("dropping client: peer={} reason={}", peer_, why);
  open_ = false;
  error_code ignored;
  socket_.next_layer().close(ignored);
}

}  // namespace stockfeed::ws_gateway

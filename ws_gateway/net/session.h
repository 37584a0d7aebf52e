#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "core/client_frame_reader.h"
#include "core/connection_gate.h"
#include "core/control_message.h"
#include "core/rate_limiter.h"
#include "core/subscription.h"
#include "core/token_gate.h"
#include "frame_socket.h"
#include "shard_client.h"

namespace stockfeed::ws_gateway {

class Shard;

// Who a client is when token auth is on: the token's claims, and the
// symbols of its connect URL that the token does not allow (answered with
// forbidden_symbol right after the welcome).
struct SessionAuth {
  std::optional<TokenClaims> claims;
  std::vector<std::string> refused_symbols;
};

// One WebSocket client. Lives on its shard's thread. Its only position in the
// feed is `cursor_` (an index into the shard's FeedLog); whenever its socket
// is idle it takes everything after the cursor that matches its
// subscription and writes it in one go.
class Session : public ShardClient, public std::enable_shared_from_this<Session> {
 public:
  Session(Shard& shard, tcp::socket socket, ConnectionGate::Slot slot, ConnectParams params, std::string peer,
          SessionAuth auth);
  ~Session() override;

  // Completes the WebSocket handshake for an upgrade request already read.
  void Start(boost::beast::http::request<boost::beast::http::string_body> request);
  // New frames in the log, or the socket went idle: write what is due.
  void Pump() override;
  void PrefetchForPump() const override { PrefetchObject(this); }
  // Status message for clients that asked for them.
  void SendStatus(const FramePtr& status) override;
  // Close handshake with `code` and a reason.
  void Close(boost::beast::websocket::close_code code, std::string reason);
  void CloseForShutdown(const std::string& reason) override {
    Close(boost::beast::websocket::close_code::going_away, reason);
  }
  // Disconnects a client that stopped reading past --write_stall_timeout or
  // sent nothing for --idle_timeout; pings it after half to three quarters of that.
  // Also announces a token's expiry --jwt_refresh_window ahead and closes
  // with 4001 when it has run out.
  void CheckTimeouts(std::chrono::steady_clock::time_point now) override;

 private:
  void OnAccept(const error_code& ec);
  void SendInitial();
  // Waits for the client to send something, then reads it.
  void Read();
  // Compressing clients: Beast reads a message.
  void ReadMessage();
  void OnRead(const error_code& ec, std::size_t bytes);
  // The others: what has arrived goes through `reader_`.
  void ReadFrames();
  void OnClientFrame(const ClientFrameReader::Event& event);
  // Our close frame (RFC 6455 §5.5.1), after everything queued before it.
  void QueueCloseFrame(uint16_t code, absl::string_view reason);
  // Ends our side of the TCP connection once everything queued is written;
  // the client's EOF (or the close timeout) then ends the session.
  void ShutdownWhenWritten();
  void HandleText(absl::string_view text);
  void Send(std::string message);
  // Replies that cost what the client asked for (history, snapshot, stats)
  // are paid from its reply-byte budget; a refused one becomes an error reply.
  bool PayForReply(size_t bytes);
  void RefuseReply(absl::string_view what);
  void OnControlFrame(boost::beast::websocket::frame_type kind);
  void CloseForFlood();
  void SendPrices(const std::vector<FramePtr>& prices);
  // Up to `count` recent prices per symbol, leaving `reserve` bytes of the
  // reply budget for what follows.
  void SendHistory(size_t count, absl::FunctionRef<bool(const Frame&)> wanted, size_t reserve = 0);
  void SetMaxRate(double per_second);
  // With a max rate: true when a delivery may go out now; otherwise arms a
  // timer that pumps again when it may.
  bool RateAllowsDelivery();
  void Conflate(bool announce);
  // v1 clients hear of a new epoch before its first price: sends the notice
  // once the cursor reaches the epoch's first frame.
  void AnnounceEpochIfDue();
  size_t QueueBacklog();
  // `reason` is the label it counts under in ws_gateway_connections_closed_total.
  void Abort(absl::string_view why, absl::string_view reason = "other");
  // The first cause of the connection's end wins.
  void SetEndReason(absl::string_view reason) {
    if (end_reason_.empty()) end_reason_ = reason;
  }
  void SendError(const ControlError& error);
  void HeardFromClient();
  void Refresh(absl::string_view token);
  void SendForbidden(const std::vector<std::string>& symbols);
  void CheckToken();
  // The bytes of `frame` for this client: compressed when it negotiated that.
  absl::string_view WireOf(const Frame& frame) const {
    return deflate_ && !frame.deflated_wire().empty() ? frame.deflated_wire() : frame.wire();
  }

  Shard& shard_;
  ConnectionGate::Slot connection_slot_;  // held until the socket closes
  FrameSocket socket_;
  // Beast's stream does the handshake, and stays only for clients that
  // negotiated permessage-deflate; it costs ~3 KiB per connection, so the
  // others' frames are read by `reader_` (docs/benchmarks.md, issue #16).
  std::unique_ptr<boost::beast::websocket::stream<FrameSocket&>> ws_;
  boost::beast::flat_buffer read_buffer_;  // Beast's reads only
  ClientFrameReader reader_;
  bool shutdown_due_ = false;  // ShutdownWhenWritten() waits for a write
  const std::string peer_;
  ConnectParams params_;
  SessionAuth auth_;
  bool expiry_announced_ = false;
  Subscription subscription_;
  bool open_ = false;
  bool closing_ = false;
  std::chrono::steady_clock::time_point close_started_{};
  bool registered_ = false;
  absl::string_view end_reason_;  // a label value of ws_gateway_connections_closed_total
  std::chrono::steady_clock::time_point last_heard_{};  // last frame from the client
  bool ping_outstanding_ = false;
  bool deflate_ = false;  // permessage-deflate negotiated: compressed prices, Beast reads
  uint32_t ping_after_ms_ = 0;  // this client's silence before a ping (fills a hole)
  RateLimiter control_limiter_;  // every frame from the client: text, ping, pong
  RateLimiter reply_limiter_;    // reply bytes, per --reply_bytes_per_second
  bool sent_large_reply_ = false;  // its buffers and the heap are worth trimming
  // Client-chosen max rate: deliveries at least this far apart, each
  // carrying the latest value of what changed. Zero: no limit.
  std::chrono::steady_clock::duration min_interval_{};
  std::chrono::steady_clock::time_point last_delivery_{};
  std::unique_ptr<boost::asio::steady_timer> rate_timer_;  // only for rate-limited clients
  bool rate_timer_armed_ = false;
};

}  // namespace stockfeed::ws_gateway

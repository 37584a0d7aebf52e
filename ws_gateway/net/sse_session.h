#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/connection_gate.h"
#include "core/control_message.h"
#include "core/subscription.h"
#include "frame_socket.h"
#include "shard_client.h"

namespace stockfeed::ws_gateway {

class Shard;

// One Server-Sent Events client (GET /api/v1/stream). It rides the same
// fan-out as a WebSocket Session: a cursor into the shard's FeedLog, the
// shard's passes, the FrameSocket's direct writev, conflation past
// --max_backlog and a drop past --write_stall_timeout. Each price goes out
// as the frame's shared SSE bytes (Frame::sse_event), encoded once per shard.
class SseSession : public ShardClient, public std::enable_shared_from_this<SseSession> {
 public:
  // `params.after_seq`: the resume position (Last-Event-ID or ?after_seq=).
  SseSession(Shard& shard, tcp::socket socket, ConnectionGate::Slot slot, ConnectParams params, std::string peer);
  ~SseSession() override;

  // Sends the response head, the connected/status events and either the
  // resumed range or a snapshot, then streams.
  void Start(int http_version_minor);

  void Pump() override;
  void PrefetchForPump() const override { PrefetchObject(this); }
  void SendStatus(const FramePtr& status) override;
  void CloseForShutdown(const std::string& reason) override;
  void CheckTimeouts(std::chrono::steady_clock::time_point now) override;

 private:
  void SendEvent(absl::string_view event, absl::string_view data, uint64_t id = 0);
  void QueueBacklog();
  void Conflate();
  // The new epoch's notice (event "epoch") before its first price.
  void AnnounceEpochIfDue();
  // Keeps a read pending: an SSE client sends nothing after its request, so
  // a finished read means it went away (or misbehaves: dropped).
  void WatchForClose();
  void Abort(absl::string_view why);
  void EndStream();
  bool Wanted(const Frame& frame) const { return subscription_.Matches(frame.symbol(), frame.source()); }

  Shard& shard_;
  ConnectionGate::Slot connection_slot_;  // held until the socket closes
  FrameSocket socket_;
  const std::string peer_;
  ConnectParams params_;
  Subscription subscription_;
  bool open_ = false;
  bool closing_ = false;  // shutting down: end the stream once the queue is out
  bool registered_ = false;
  std::chrono::steady_clock::time_point last_write_{};
  char read_scratch_[64];
};

}  // namespace stockfeed::ws_gateway

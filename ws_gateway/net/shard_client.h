#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/feed_log.h"

namespace stockfeed::ws_gateway {

// What a shard fans the feed out to: a WebSocket Session or an SSE stream
// (SseSession). Each keeps a cursor into the shard's FeedLog and takes what
// is due when the shard's pass calls Pump(); all on the shard's thread.
class ShardClient {
 public:
  virtual ~ShardClient() = default;

  // New frames in the log, or the socket went idle: write what is due.
  virtual void Pump() = 0;
  // The upstream state changed; `status` is the encoded status message.
  virtual void SendStatus(const FramePtr& status) = 0;
  // The gateway is shutting down.
  virtual void CloseForShutdown(const std::string& reason) = 0;
  // Slow writers, idle clients, heartbeats: called by the shard's sweep.
  virtual void CheckTimeouts(std::chrono::steady_clock::time_point now) = 0;

 protected:
  // Too far behind to catch up frame by frame: more than `max_backlog`
  // frames, or past what the log still holds. Such a client is conflated.
  bool FellBehind(const FeedLog& log, size_t max_backlog) const {
    return log.head() - cursor_ > max_backlog || cursor_ + 1 < log.tail();
  }

  // A new epoch is told before its first price (docs/protocol.md): a
  // client's writes stop just before the epoch's first frame until it has
  // sent its notice. The last index it may take now:
  uint64_t DeliverableUpTo(const FeedLog& log) const {
    return epoch_announced_ != log.epoch_start() && log.epoch_start() > cursor_ ? log.epoch_start() - 1 : log.head();
  }
  // True once per new epoch, when the cursor has reached its first frame:
  // the client sends its notice now.
  bool EpochNoticeDue(const FeedLog& log) {
    if (epoch_announced_ == log.epoch_start() || cursor_ + 1 < log.epoch_start()) return false;
    epoch_announced_ = log.epoch_start();
    return true;
  }

  // The client's only position in the feed: the index of the last FeedLog
  // frame it has taken. The shard reads it for its backlog metrics.
  uint64_t cursor_ = 0;
  // The log's epoch_start() this client knows of (its welcome names the epoch).
  uint64_t epoch_announced_ = 0;

 private:
  friend class Shard;
  size_t shard_slot_ = 0;  // position in the shard's client list
};

}  // namespace stockfeed::ws_gateway

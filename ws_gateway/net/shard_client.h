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
  // Asks the CPU for the client's own memory, which Pump() reads and the
  // time since the last pass has left cold: the pass calls it a few clients
  // ahead, so those loads overlap the writes to the clients before. A hint
  // only; it changes nothing.
  virtual void PrefetchForPump() const = 0;
  // The upstream state changed; `status` is the encoded status message.
  virtual void SendStatus(const FramePtr& status) = 0;
  // The gateway is shutting down.
  virtual void CloseForShutdown(const std::string& reason) = 0;
  // Slow writers, idle clients, heartbeats: called by the shard's sweep.
  virtual void CheckTimeouts(std::chrono::steady_clock::time_point now) = 0;

 protected:
  template <typename Client>
  static void PrefetchObject(const Client* client) {
    const char* bytes = reinterpret_cast<const char*>(client);
    for (size_t offset = 0; offset < sizeof(Client); offset += kCacheLine) __builtin_prefetch(bytes + offset);
  }

  // Too far behind to catch up frame by frame: more than `max_backlog`
  // frames, or past what the log still holds. Such a client is conflated.
  bool FellBehind(const FeedLog& log, size_t max_backlog) const {
    return log.head() - cursor_ > max_backlog || cursor_ + 1 < log.tail();
  }

  // A new epoch is told before its first price (docs/protocol.md): a
  // client's writes stop just before the first frame of the next epoch it
  // has not been told of, until it has sent that notice; several epochs may
  // lie ahead of a slow client. The last index it may take now:
  uint64_t DeliverableUpTo(const FeedLog& log) const { return log.DeliverableUpTo(epoch_known_); }
  // The epoch whose first frame the client takes next (the newest, if
  // conflation jumps over several), once: the client sends its notice now.
  const FeedLog::EpochStart* EpochNoticeDue(const FeedLog& log) {
    const FeedLog::EpochStart* reached = log.EpochReached(epoch_known_, cursor_ + 1);
    if (reached != nullptr) epoch_known_ = reached->number;
    return reached;
  }

  // The client's only position in the feed: the index of the last FeedLog
  // frame it has taken. The shard reads it for its backlog metrics.
  uint64_t cursor_ = 0;
  // The newest FeedLog::epoch_number() this client was told of (its welcome
  // names the epoch; 0: it came before the first and will be told of it).
  uint64_t epoch_known_ = 0;

 private:
  friend class Shard;
  static constexpr size_t kCacheLine = 64;
  size_t shard_slot_ = 0;  // position in the shard's client list
};

}  // namespace stockfeed::ws_gateway

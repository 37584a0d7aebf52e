// One WebSocket client connection on its worker's epoll loop: a non-blocking
// connect, the upgrade handshake by hand, then frames parsed straight out of
// the worker's shared read buffer into the worker's tallies. Touched only by
// its worker's thread, so it uses the worker's state without locks.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/zlib/inflate_stream.hpp>

#include "delivery_tally.h"
#include "message_inflater.h"
#include "unique_fd.h"
#include "ws_frame_reader.h"

namespace stockfeed::bench {

// Counters shared by all workers; touched once per connection event.
struct ConnectionCounters {
  std::atomic<int64_t> opened{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> closed_healthy{0};  // closed by the server (or reset)
  std::atomic<int64_t> closed_stalled{0};
  std::atomic<bool> stopping{false};
};

// What one io thread's connections received since the last collection.
struct WorkerTallies {
  DeliveryTally healthy;
  DeliveryTally stalled;
};

struct ClientTarget {
  sockaddr_storage address{};
  socklen_t address_size = 0;
  std::string host_header;  // "host:port"
  std::string target;       // "/ws?protocol=v1"
  bool offer_deflate = false;  // offer permessage-deflate, as browsers do
};

// What all clients of one worker share. Keeping buffers here keeps each
// client small, so that tens of thousands of them fit.
struct WorkerContext {
  WorkerContext(const ClientTarget& client_target, ConnectionCounters& connection_counters,
                int epoll, const std::string& commit_log_path);

  const ClientTarget& target;
  ConnectionCounters& counters;
  const int epoll_fd;
  WorkerTallies tallies;
  std::unique_ptr<CommitLog> commit_log;  // null without --commit_log
  std::vector<char> read_buffer;  // every recv() lands here
  std::mt19937 random;            // handshake keys and frame masks
  // For servers that reset their compressor after each message
  // (server_no_context_takeover): whole messages are inflated at once, so
  // their clients can share one stream, reset after each message.
  boost::beast::zlib::inflate_stream shared_inflate_stream;
  MessageInflater inflater;
};

class WsClient {
 public:
  WsClient(WorkerContext& worker, bool stallable);
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;
  ~WsClient();

  // Starts connecting. Failures here and later are counted and close it.
  void Start();
  // Handles the epoll events of its socket.
  void OnEvents(uint32_t events);
  // Fails it if it is still connecting or handshaking.
  void OnConnectTimeout();
  // Stops or resumes reading (--stall): while stopped, the server's sends
  // back up in the socket buffers.
  void SetReading(bool reading);

  bool opening() const { return state_ == State::kConnecting || state_ == State::kHandshaking; }

 private:
  enum class State : uint8_t { kConnecting, kHandshaking, kOpen, kClosed };
  struct Handshake;

  void OnConnected();
  void OnReadable();
  // These return false once the connection has been closed.
  bool OnReceived(std::string_view bytes, ReceiveTime received);
  bool OnHandshakeResponse(std::string_view& bytes);
  bool OnMessage(const WsFrameReader::Message& message, ReceiveTime received);
  bool SendControl(WsFrameReader::Opcode opcode, std::string_view payload);
  bool Send(std::string_view bytes);
  bool FlushUnsent();

  std::string HandshakeRequest();
  uint32_t WantedEvents() const;
  void UpdateInterest();
  void Close();

  WorkerContext& worker_;
  UniqueFd fd_;
  std::unique_ptr<Handshake> handshake_;  // only until open
  WsFrameReader reader_;
  // Set when the server keeps its compression context between messages.
  std::unique_ptr<boost::beast::zlib::inflate_stream> inflate_stream_;
  std::string unsent_;  // what the socket did not take yet
  SeqTracker seq_;
  uint32_t interest_ = 0;  // epoll events registered
  State state_ = State::kConnecting;
  bool reading_ = true;
  const bool stallable_;
};

}  // namespace stockfeed::bench

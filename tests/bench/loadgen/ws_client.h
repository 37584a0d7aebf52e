// One WebSocket client connection: connect, handshake, then read frames
// forever into its worker's tallies. Lives on its worker's single io thread,
// so it touches the worker state without locks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "delivery_tally.h"

namespace stockfeed::bench {

// Counters shared by all workers; touched once per connection event.
struct ConnectionCounters {
  std::atomic<int64_t> opened{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> closed_healthy{0};  // closed by the server (or reset)
  std::atomic<int64_t> closed_stalled{0};
  std::atomic<bool> stopping{false};
  // Stall window on the steady clock, in ns since its epoch.
  std::atomic<int64_t> stall_start_ns{INT64_MAX};
  std::atomic<int64_t> stall_end_ns{INT64_MAX};
};

// What one io thread's connections received since the last collection.
struct WorkerTallies {
  DeliveryTally healthy;
  DeliveryTally stalled;
};

struct ClientTarget {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host_header;  // "host:port"
  std::string target;       // "/ws?protocol=v1"
  bool offer_deflate = false;  // offer permessage-deflate, as browsers do
};

class WsClient : public std::enable_shared_from_this<WsClient> {
 public:
  WsClient(boost::asio::io_context& ioc, const ClientTarget& target, WorkerTallies& tallies,
           ConnectionCounters& counters, bool stallable);
  void Start();

 private:
  void OnConnect(boost::beast::error_code ec);
  void OnHandshake(boost::beast::error_code ec);
  void Read();
  void OnRead(boost::beast::error_code ec, std::size_t bytes);
  void Fail();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer stall_timer_;
  const ClientTarget& target_;
  WorkerTallies& tallies_;
  ConnectionCounters& counters_;
  SeqTracker seq_;
  const bool stallable_;
  bool opened_ = false;
  bool stalled_once_ = false;
};

}  // namespace stockfeed::bench

#pragma once

#include <memory>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "absl/status/status.h"
#include "core/connection_gate.h"
#include "frame_socket.h"
#include "stockfeed/common/host_port.h"

namespace stockfeed::ws_gateway {

class Shard;
class TlsFront;

// Accepts connections on the first shard's thread and deals them out to the
// shards round-robin; each connection then lives on its shard only. With
// `tls`, every connection is TLS (https://, wss://) and passes through it
// after the connection gate, before its HttpSession.
class Listener {
 public:
  explicit Listener(std::vector<Shard*> shards, TlsFront* tls = nullptr);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  absl::Status Listen(const HostPort& address);
  int port() const { return port_; }
  void Start();
  // Stops accepting; thread-safe.
  void Stop();

 private:
  void Accept();
  // The ConnectionGate's verdict on a new socket; a refused one is answered
  // (503 or 429) and closed here.
  bool Admit(tcp::socket& socket, ConnectionGate::Slot& slot);
  // Out of descriptors (accept failed with EMFILE/ENFILE, e.g. with
  // --max_connections above the open-file limit): the spare descriptor is
  // let go for a moment so the waiting connection can be accepted, answered
  // 503 and closed instead of hanging in the backlog. False if it could not.
  bool RefuseWithSpareDescriptor();

  std::vector<Shard*> shards_;
  TlsFront* tls_;
  tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  size_t next_shard_ = 0;
  int port_ = 0;
  int spare_fd_ = -1;  // /dev/null, kept open only to be given up in RefuseWithSpareDescriptor
};

}  // namespace stockfeed::ws_gateway

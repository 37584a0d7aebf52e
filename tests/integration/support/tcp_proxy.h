#pragma once

#include <chrono>
#include <memory>

namespace stockfeed::testing {

// A loopback TCP proxy in front of `target_port`, on its own thread: a fault
// injector between two real processes, both of which keep running. It can
// cut connections, delay every chunk in both directions, or black-hole them
// (bytes are read and dropped, nothing is closed: a peer that vanished
// without a FIN, or a network that stopped delivering).
class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();

  int port() const;
  // Closes every connection passing through now; new ones are still accepted.
  void CutConnections();
  // Every chunk read from either side is forwarded this much later (order kept).
  void SetDelay(std::chrono::milliseconds delay);
  // While on, nothing passes in either direction and nothing is closed. When
  // turned off, the connections that were black-holed are cut (their streams
  // lost bytes); new connections pass again.
  void SetBlackHole(bool on);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockfeed::testing

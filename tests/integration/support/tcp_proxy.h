#pragma once

#include <memory>

namespace stockfeed::testing {

// A loopback TCP proxy in front of `target_port`, on its own thread, whose
// connections a test can cut: the way to break a gRPC stream while both ends
// keep running.
class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();

  int port() const;
  // Closes every connection passing through now; new ones are still accepted.
  void CutConnections();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockfeed::testing

#pragma once

#include <memory>
#include <string>
#include <vector>

#include "process.h"
#include "tcp_proxy.h"

namespace stockfeed::testing {

// The real binaries, as built, on free loopback ports.
struct Binaries {
  static std::string PriceService() { return STOCKFEED_PRICE_SERVICE_PATH; }
  static std::string Gateway() { return STOCKFEED_WS_GATEWAY_PATH; }
  static std::string WebRoot() { return STOCKFEED_WEB_ROOT; }
};

// price_service (simulator) + ws_gateway wired together.
class System {
 public:
  struct Options {
    double rate = 50;
    std::vector<std::string> service_args;
    std::vector<std::string> gateway_args;
    // Route the gateway's upstream through a TcpProxy the test can cut.
    bool proxy_upstream = false;
  };
  explicit System(Options options);
  System() : System(Options{}) {}

  void StartService();
  void StartGateway();
  int service_port() const { return service_port_; }
  // price_service's --admin_listen port (/metrics, /healthz, /readyz).
  int service_admin_port() const { return service_admin_port_; }
  int gateway_port() const { return gateway_port_; }
  ChildProcess& service() { return *service_; }
  ChildProcess& gateway() { return *gateway_; }
  // Kills (SIGKILL) the service; StartService() brings it back on the same port.
  void KillService();
  // With proxy_upstream: breaks the gateway's gRPC stream, both ends alive.
  void CutUpstream() { proxy_->CutConnections(); }
  // With proxy_upstream: the proxy itself, for delays and black holes.
  TcpProxy& upstream_proxy() { return *proxy_; }

 private:
  Options options_;
  std::string dir_;
  int service_port_;
  int service_admin_port_;
  int gateway_port_;
  int service_starts_ = 0;
  std::unique_ptr<ChildProcess> service_;
  std::unique_ptr<ChildProcess> gateway_;
  std::unique_ptr<TcpProxy> proxy_;
};

}  // namespace stockfeed::testing

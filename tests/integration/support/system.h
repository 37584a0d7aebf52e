#pragma once

#include <memory>
#include <string>
#include <vector>

#include "process.h"

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
  };
  explicit System(Options options);
  System() : System(Options{}) {}

  void StartService();
  void StartGateway();
  int service_port() const { return service_port_; }
  int gateway_port() const { return gateway_port_; }
  ChildProcess& service() { return *service_; }
  ChildProcess& gateway() { return *gateway_; }
  // Kills (SIGKILL) the service; StartService() brings it back on the same port.
  void KillService();

 private:
  Options options_;
  std::string dir_;
  int service_port_;
  int gateway_port_;
  int service_starts_ = 0;
  std::unique_ptr<ChildProcess> service_;
  std::unique_ptr<ChildProcess> gateway_;
};

}  // namespace stockfeed::testing

#include "system.h"

#include <signal.h>

#include <stdexcept>

namespace stockfeed::testing {

System::System(Options options)
    : options_(std::move(options)), dir_(TestOutputDir()),
      service_port_(FreePort()),
      service_admin_port_(FreePort()),
      gateway_port_(FreePort()) {
  StartService();
  if (options_.proxy_upstream) proxy_ = std::make_unique<TcpProxy>(service_port_);
  StartGateway();
}

void System::StartService() {
  std::vector<std::string> args = {"--listen=127.0.0.1:" + std::to_string(service_port_),
                                   "--rate=" + std::to_string(options_.rate), "--seed=7",
                                   "--admin_listen=127.0.0.1:" + std::to_string(service_admin_port_)};
  args.insert(args.end(), options_.service_args.begin(), options_.service_args.end());
  service_ = std::make_unique<ChildProcess>(
      Binaries::PriceService(), args, dir_ + "/price_service." + std::to_string(++service_starts_) + ".log");
  if (!WaitForPort(service_port_, std::chrono::seconds(10))) {
    throw std::runtime_error("price_service did not start:\n" + service_->Log());
  }
}

void System::StartGateway() {
  std::vector<std::string> args = {"--listen=127.0.0.1:" + std::to_string(gateway_port_),
                                   "--upstream=127.0.0.1:" + std::to_string(proxy_ ? proxy_->port() : service_port_),
                                   "--web_root=" + Binaries::WebRoot(), "--threads=2",
                                   "--upstream_backoff_max=1s"};
  args.insert(args.end(), options_.gateway_args.begin(), options_.gateway_args.end());
  gateway_ = std::make_unique<ChildProcess>(Binaries::Gateway(), args, dir_ + "/ws_gateway.log");
  if (!WaitForPort(gateway_port_, std::chrono::seconds(10))) {
    throw std::runtime_error("ws_gateway did not start:\n" + gateway_->Log());
  }
}

void System::KillService() {
  service_->Signal(SIGKILL);
  service_->Wait(std::chrono::seconds(5));
}

}  // namespace stockfeed::testing

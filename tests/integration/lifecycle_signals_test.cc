// The signals a service manager sends (systemd's ExecReload = SIGHUP, stop =
// SIGTERM; Kubernetes the same): SIGHUP must not stop either process, and
// SIGTERM must end both with exit code 0 even when a client never answers
// the close handshake.
#include <signal.h>

#include <string>

#include <gtest/gtest.h>

#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

constexpr char kReloadLine[] = "received SIGHUP: nothing to reload";

bool WaitUntilReady(System& system) {
  return Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(15));
}

TEST(LifecycleSignalsTest, SighupKeepsBothProcessesServing) {
  System system;
  ASSERT_TRUE(WaitUntilReady(system)) << system.gateway().Log();

  system.service().Signal(SIGHUP);
  system.gateway().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([&] { return system.service().Log().find(kReloadLine) != std::string::npos; }, seconds(10)))
      << system.service().Log();
  ASSERT_TRUE(Eventually([&] { return system.gateway().Log().find(kReloadLine) != std::string::npos; }, seconds(10)))
      << system.gateway().Log();

  EXPECT_TRUE(system.service().running());
  EXPECT_TRUE(system.gateway().running());
  EXPECT_EQ(HttpGet(system.gateway_port(), "/readyz").status, 200) << system.gateway().Log();
  {
    WsClient client(system.gateway_port(), "/");
    EXPECT_TRUE(client.ReadJson()) << "no message from the gateway after SIGHUP";
  }

  system.service().Signal(SIGTERM);
  EXPECT_EQ(system.service().Wait(seconds(15)), 0) << system.service().Log();
}

TEST(LifecycleSignalsTest, SigtermExitsZeroWhenAClientNeverAnswersTheClose) {
  System system({.gateway_args = {"--drain_timeout=1s"}});
  ASSERT_TRUE(WaitUntilReady(system)) << system.gateway().Log();
  WsClient silent(system.gateway_port(), "/");  // never reads the close frame, never replies
  ASSERT_TRUE(silent.ReadJson());

  system.gateway().Signal(SIGTERM);
  EXPECT_EQ(system.gateway().Wait(seconds(15)), 0) << system.gateway().Log();
  EXPECT_NE(system.gateway().Log().find("drain timeout: 1 client(s)"), std::string::npos) << system.gateway().Log();
}

}  // namespace
}  // namespace stockfeed::testing

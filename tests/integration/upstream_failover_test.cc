// The gateway's upstream selection end to end: real price_service replicas,
// a real ws_gateway, failover, health, stalls and the reconnect timing.
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/system.h"
#include "support/ws_client.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// One price_service (simulator unless `extra` says otherwise) on a fixed port,
// so it can be killed and started again where the gateway expects it.
class Replica {
 public:
  Replica(std::string dir, std::string name, std::vector<std::string> extra = {}, std::string host = "127.0.0.1",
          int port = FreePort())
      : dir_(std::move(dir)), name_(std::move(name)), host_(std::move(host)), port_(port), extra_(std::move(extra)) {
    Start();
  }
  void Start() {
    std::vector<std::string> args = {"--listen=" + address(), "--admin_listen=127.0.0.1:0", "--rate=50"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<ChildProcess>(Binaries::PriceService(), args,
                                              dir_ + "/" + name_ + "." + std::to_string(++starts_) + ".log");
    if (!WaitForPort(port_, seconds(10), host_)) {
      throw std::runtime_error(name_ + " did not start:\n" + process_->Log());
    }
  }
  void Kill() {
    process_->Signal(SIGKILL);
    process_->Wait(seconds(5));
  }
  ChildProcess& process() { return *process_; }
  int port() const { return port_; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }

 private:
  std::string dir_;
  std::string name_;
  std::string host_;
  int port_;
  std::vector<std::string> extra_;
  int starts_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

class Gateway {
 public:
  Gateway(const std::string& dir, std::vector<std::string> extra) : port_(FreePort()) {
    std::vector<std::string> args = {"--listen=127.0.0.1:" + std::to_string(port_),
                                     "--web_root=" + Binaries::WebRoot(), "--threads=1"};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ChildProcess>(Binaries::Gateway(), args, dir + "/ws_gateway.log");
    if (!WaitForPort(port_, seconds(10))) throw std::runtime_error("ws_gateway did not start:\n" + process_->Log());
  }
  int port() const { return port_; }
  std::string Log() const { return process_->Log(); }
  json::object Stats() const { return json::parse(HttpGet(port_, "/stats").body).as_object(); }
  bool Ready() const { return HttpGet(port_, "/readyz").status == 200; }
  std::string Replica() const { return std::string(Stats().at("upstream_replica").as_string()); }

 private:
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

// Milliseconds until `condition` holds, polling every 5 ms; -1 after `timeout`.
template <typename Condition>
int64_t MillisecondsUntil(Condition condition, milliseconds timeout) {
  const auto start = Clock::now();
  while (Clock::now() - start < timeout) {
    if (condition()) return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
    ::usleep(5'000);
  }
  return -1;
}

TEST(UpstreamFailoverTest, KillingTheReplicaInUseMovesToTheNextAndStaysThereWhenTheFirstReturns) {
  const std::string dir = TestOutputDir();
  Replica a(dir, "a"), b(dir, "b");
  Gateway gateway(dir, {"--upstream=" + a.address() + "," + b.address()});
  ASSERT_TRUE(Eventually([&] { return gateway.Ready(); }, seconds(15))) << gateway.Log();
  EXPECT_EQ(gateway.Replica(), a.address());
  WsClient client(gateway.port(), "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("price"));

  const auto killed = Clock::now();
  a.Kill();
  ASSERT_GE(MillisecondsUntil([&] { return gateway.Ready() && gateway.Replica() == b.address(); }, seconds(10)), 0)
      << gateway.Log();
  const int64_t failover_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - killed).count();
  std::cout << "failover to the second replica took " << failover_ms << " ms\n";
  EXPECT_LT(failover_ms, 2000) << "failing over must not wait for a backoff";
  EXPECT_EQ(gateway.Stats().at("upstream_failovers").as_int64(), 1);
  // The client is still fed, by the other replica.
  const auto fed_again = Clock::now();
  while (true) {
    std::optional<json::object> price = client.ReadUntilType("price");
    ASSERT_TRUE(price) << "no prices after the failover";
    if (Clock::now() - fed_again > milliseconds(300)) break;
  }

  // a comes back: the gateway stays on b (no flapping).
  a.Start();
  ::usleep(2'000'000);
  EXPECT_EQ(gateway.Replica(), b.address());
  EXPECT_EQ(gateway.Stats().at("upstream_failovers").as_int64(), 1);
  EXPECT_TRUE(gateway.Ready());
}

TEST(UpstreamFailoverTest, StreamsAgainWithinOneSecondOfTheServiceReturningAtDefaultFlags) {
  const std::string dir = TestOutputDir();
  Replica service(dir, "service");
  Gateway gateway(dir, {"--upstream=" + service.address()});
  ASSERT_TRUE(Eventually([&] { return gateway.Ready(); }, seconds(15))) << gateway.Log();

  service.Kill();
  ASSERT_TRUE(Eventually([&] { return !gateway.Ready(); }, seconds(10)));
  ::usleep(3'000'000);  // long enough for the backoff to reach its cap
  service.Start();      // returns once the port accepts
  const int64_t back_ms = MillisecondsUntil([&] { return gateway.Ready(); }, seconds(10));
  std::cout << "streaming again " << back_ms << " ms after price_service returned\n";
  ASSERT_GE(back_ms, 0) << gateway.Log();
  EXPECT_LE(back_ms, 1000) << gateway.Log();
}

TEST(UpstreamFailoverTest, StreamsAgainWithinTheBackoffMaximumPlusOneSecondAfterALongOutage) {
  const std::string dir = TestOutputDir();
  Replica service(dir, "service");
  Gateway gateway(dir, {"--upstream=" + service.address(), "--upstream_backoff_max=2s"});
  ASSERT_TRUE(Eventually([&] { return gateway.Ready(); }, seconds(15))) << gateway.Log();
  WsClient client(gateway.port(), "/ws?protocol=v1");
  ASSERT_TRUE(client.ReadUntilType("price"));

  service.Kill();
  ::usleep(8'000'000);
  service.Start();
  const int64_t back_ms = MillisecondsUntil([&] { return gateway.Ready(); }, seconds(10));
  std::cout << "streaming again " << back_ms << " ms after an 8 s outage (--upstream_backoff_max=2s)\n";
  ASSERT_GE(back_ms, 0) << gateway.Log();
  EXPECT_LE(back_ms, 3000) << gateway.Log();
  EXPECT_TRUE(client.ReadUntilType("price", seconds(5))) << "the client must be fed again";
}

TEST(UpstreamFailoverTest, ReadyzIsUnavailableWhileTheServiceIsNotServing) {
  const std::string dir = TestOutputDir();
  // A PostgreSQL-mode service whose database cannot be reached reports
  // NOT_SERVING through grpc.health.v1 while its stream stays open.
  const int nowhere = FreePort();
  Replica service(dir, "no_database",
                  {"--source=postgres", "--database_url=postgresql://stockfeed@127.0.0.1:" + std::to_string(nowhere) +
                                            "/stockdb?connect_timeout=1"});
  Gateway gateway(dir, {"--upstream=" + service.address()});
  ASSERT_TRUE(Eventually([&] { return gateway.Stats().at("upstream_health") == "not_serving"; }, seconds(15)))
      << gateway.Log();
  const HttpResult readyz = HttpGet(gateway.port(), "/readyz");
  EXPECT_EQ(readyz.status, 503);
  EXPECT_NE(readyz.body.find("not_serving"), std::string::npos) << readyz.body;
  // It stays on its only replica (the stream resumes when the database does), and stays not ready.
  ::usleep(1'500'000);
  EXPECT_EQ(HttpGet(gateway.port(), "/readyz").status, 503);
  EXPECT_EQ(gateway.Replica(), service.address());
  EXPECT_EQ(gateway.Stats().at("upstream_failovers").as_int64(), 0);
}

TEST(UpstreamFailoverTest, NotServingReplicaIsLeftForAServingOne) {
  const std::string dir = TestOutputDir();
  const int nowhere = FreePort();
  Replica sick(dir, "no_database",
               {"--source=postgres", "--database_url=postgresql://stockfeed@127.0.0.1:" + std::to_string(nowhere) +
                                         "/stockdb?connect_timeout=1"});
  Replica healthy(dir, "healthy");
  Gateway gateway(dir, {"--upstream=" + sick.address() + "," + healthy.address()});
  ASSERT_TRUE(Eventually([&] { return gateway.Ready(); }, seconds(15))) << gateway.Log();
  EXPECT_EQ(gateway.Replica(), healthy.address());
  // Prices make a replica ready before its health answer is in (a slow build's probe can come later).
  EXPECT_TRUE(Eventually([&] { return gateway.Stats().at("upstream_health") == "serving"; }, seconds(5)))
      << gateway.Log();
}

TEST(UpstreamFailoverTest, AReplicaThatStopsAnsweringIsGivenUpAfterTheStallTimeout) {
  const std::string dir = TestOutputDir();
  Replica a(dir, "a"), b(dir, "b");
  Gateway gateway(dir, {"--upstream=" + a.address() + "," + b.address(), "--upstream_stall_timeout=2s"});
  ASSERT_TRUE(Eventually([&] { return gateway.Ready(); }, seconds(15))) << gateway.Log();
  ASSERT_EQ(gateway.Replica(), a.address());

  a.process().Signal(SIGSTOP);  // the connection stays up, nothing answers
  const int64_t moved_ms = MillisecondsUntil([&] { return gateway.Replica() == b.address(); }, seconds(10));
  a.process().Signal(SIGCONT);
  std::cout << "a frozen replica was given up after " << moved_ms << " ms\n";
  ASSERT_GE(moved_ms, 0) << gateway.Log();
  EXPECT_GE(moved_ms, 1000) << "a replica must not be given up before it was probed";
  EXPECT_LE(moved_ms, 5000);
  EXPECT_TRUE(Eventually([&] { return gateway.Ready(); }, seconds(5)));
}

TEST(UpstreamFailoverTest, AHostNameIsResolvedToItsAddresses) {
  const std::string dir = TestOutputDir();
  Replica service(dir, "service");
  Gateway gateway(dir, {"--upstream=localhost:" + std::to_string(service.port())});
  ASSERT_TRUE(Eventually([&] { return gateway.Ready(); }, seconds(15))) << gateway.Log();
  const std::string replica = gateway.Replica();
  EXPECT_TRUE(replica == service.address() || replica == "[::1]:" + std::to_string(service.port())) << replica;
}

// Sets an environment variable for a scope, then restores what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A name that resolves to several addresses stands for that many replicas.
// This machine's resolver gives `localhost` one address only, so the name
// comes from a hosts file of the test's own, read through nss_wrapper
// (LD_PRELOAD) by the gateway process alone; /etc/hosts stays untouched.
TEST(UpstreamFailoverTest, ANameResolvingToSeveralAddressesIsUsedAsSeveralReplicas) {
  constexpr char kNssWrapper[] = "libnss_wrapper.so";
  if (void* wrapper = ::dlopen(kNssWrapper, RTLD_LAZY)) {
    ::dlclose(wrapper);
  } else {
    GTEST_SKIP() << "nss_wrapper (Debian libnss-wrapper, installed by deploy/install-deps.sh) is missing";
  }
  const std::string dir = TestOutputDir();
  const int port = FreePort();
  Replica a(dir, "a", {}, "127.0.1.1", port), b(dir, "b", {}, "127.0.1.2", port);
  const std::string hosts = dir + "/hosts";
  std::ofstream(hosts) << "127.0.1.1 replicas.stockfeed.test\n127.0.1.2 replicas.stockfeed.test\n";
  std::unique_ptr<Gateway> gateway;
  {
    // For the gateway's start only. Under ASan the preloaded wrapper comes
    // before ASan's runtime, which ASan refuses unless told it is fine.
    const char* asan_options = ::getenv("ASAN_OPTIONS");
    ScopedEnv preload("LD_PRELOAD", kNssWrapper), hosts_file("NSS_WRAPPER_HOSTS", hosts),
        asan("ASAN_OPTIONS", std::string(asan_options ? asan_options : "") + ":verify_asan_link_order=0");
    gateway = std::make_unique<Gateway>(dir, std::vector<std::string>{"--upstream=replicas.stockfeed.test:" +
                                                                      std::to_string(port)});
  }
  ASSERT_TRUE(Eventually([&] { return gateway->Ready(); }, seconds(15))) << gateway->Log();
  EXPECT_EQ(gateway->Replica(), a.address()) << "the resolver's first address first";

  a.Kill();
  ASSERT_TRUE(Eventually([&] { return gateway->Ready() && gateway->Replica() == b.address(); }, seconds(10)))
      << gateway->Log();
  EXPECT_EQ(gateway->Stats().at("upstream_failovers").as_int64(), 1);
}

}  // namespace
}  // namespace stockfeed::testing

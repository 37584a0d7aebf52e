// The gRPC hop over real sockets against the real binaries: price_service
// with TLS and with mutual TLS (certificates made here with openssl), the
// token check on every RPC (health and reflection stay open), the gateway's
// upstream TLS, client certificate and token (and a wrong CA failing
// clearly), and stockfeed_tail with TLS and a token.
#include <signal.h>

#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "protos/grpc_reflection_subset.grpc.pb.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/grpc_subscribe.h"
#include "support/process.h"
#include "support/system.h"
#include "support/ws_client.h"
#include "test_files.h"

namespace stockfeed::testing {
namespace {

using std::chrono::seconds;

std::string Mint(const std::string& key, const std::string& args = "") {
  return Shell(std::string(STOCKFEED_TOKEN_PATH) + " --key=" + key + " --sub=backend " + args);
}

std::shared_ptr<grpc::Channel> TlsChannel(int port, const std::string& ca, const std::string& cert = "",
                                          const std::string& key = "") {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(ca);
  if (!cert.empty()) {
    options.pem_cert_chain = ReadFile(cert);
    options.pem_private_key = ReadFile(key);
  }
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(options));
}

std::shared_ptr<grpc::Channel> PlainChannel(int port) {
  return grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
}

void Prepare(grpc::ClientContext& context, const std::string& token) {
  context.set_deadline(std::chrono::system_clock::now() + seconds(10));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
}

grpc::Status ListSymbols(grpc::Channel& channel, const std::string& token = "") {
  grpc::ClientContext context;
  Prepare(context, token);
  v1::ListSymbolsRequest request;
  v1::ListSymbolsResponse response;
  return v1::PriceFeed::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](auto*) {}))
      ->ListSymbols(&context, request, &response);
}

// The first message of a Subscribe stream, or the status it ended with.
grpc::Status SubscribeOnce(grpc::Channel& channel, const std::string& token) {
  grpc::ClientContext context;
  Prepare(context, token);
  auto stub = v1::PriceFeed::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](auto*) {}));
  return FirstSubscribeUpdate(*stub, context, v1::SubscribeRequest());
}

grpc::Status GetLatest(grpc::Channel& channel, const std::string& token) {
  grpc::ClientContext context;
  Prepare(context, token);
  v1::GetLatestResponse response;
  return v1::PriceFeed::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](auto*) {}))
      ->GetLatest(&context, v1::GetLatestRequest(), &response);
}

grpc::Status GetBars(grpc::Channel& channel, const std::string& token) {
  grpc::ClientContext context;
  Prepare(context, token);
  v1::GetBarsRequest request;
  request.set_symbol("AAPL");
  request.set_source("finnhub");
  request.set_interval_seconds(60);
  v1::GetBarsResponse response;
  return v1::PriceFeed::NewStub(std::shared_ptr<grpc::Channel>(&channel, [](auto*) {}))
      ->GetBars(&context, request, &response);
}

class GrpcHopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << "openssl could not make the test certificates";
    WriteFile(secret_, "grpc-hop-secret-0123456789-0123456789-abcdef\n");
    WriteFile(other_secret_, "not-the-service-key-0123456789-0123456789\n");
  }

  std::vector<std::string> TlsArgs(bool mutual) const {
    std::vector<std::string> args = {"--tls_cert_file=" + certs_.server_cert, "--tls_key_file=" + certs_.server_key};
    if (mutual) args.push_back("--tls_client_ca_file=" + certs_.ca);
    return args;
  }

  void StartService(std::vector<std::string> args) {
    port_ = FreePort();
    args.insert(args.end(), {"--listen=127.0.0.1:" + std::to_string(port_),
                             "--admin_listen=127.0.0.1:0", "--rate=50"});
    service_ = std::make_unique<ChildProcess>(Binaries::PriceService(), args, TestOutputDir() + "/price_service.log");
    ASSERT_TRUE(WaitForPort(port_, seconds(10))) << service_->Log();
  }

  TestCertificates certs_;
  TempDir keys_;
  std::string secret_ = keys_.path() + "/service.key";
  std::string other_secret_ = keys_.path() + "/other.key";
  int port_ = 0;
  std::unique_ptr<ChildProcess> service_;
};

TEST_F(GrpcHopTest, TlsServesTlsClientsAndRefusesPlaintext) {
  StartService(TlsArgs(/*mutual=*/false));
  EXPECT_TRUE(ListSymbols(*TlsChannel(port_, certs_.ca)).ok());
  const grpc::Status plain = ListSymbols(*PlainChannel(port_));
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
  // A client trusting another CA does not accept the service's certificate.
  EXPECT_EQ(ListSymbols(*TlsChannel(port_, certs_.other_ca)).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(service_->Log().find("(TLS)"), std::string::npos) << service_->Log();
}

TEST_F(GrpcHopTest, MutualTlsNeedsAClientCertificateFromTheClientCa) {
  StartService(TlsArgs(/*mutual=*/true));
  EXPECT_TRUE(ListSymbols(*TlsChannel(port_, certs_.ca, certs_.client_cert, certs_.client_key)).ok());
  EXPECT_EQ(ListSymbols(*TlsChannel(port_, certs_.ca)).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A certificate signed by another CA is refused too.
  const std::string stranger_cert = certs_.dir.path() + "/stranger.pem", stranger_key = certs_.dir.path() + "/stranger.key";
  certs_.Issue("stranger", stranger_cert, stranger_key, certs_.other_ca, certs_.other_ca_key);
  EXPECT_EQ(ListSymbols(*TlsChannel(port_, certs_.ca, stranger_cert, stranger_key)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(service_->Log().find("(mutual TLS)"), std::string::npos) << service_->Log();
}

TEST_F(GrpcHopTest, EveryRpcNeedsAGoodTokenButHealthAndReflectionDoNot) {
  std::vector<std::string> args = TlsArgs(/*mutual=*/false);
  args.push_back("--jwt_hs256_secret_file=" + secret_);
  StartService(args);
  auto channel = TlsChannel(port_, certs_.ca);
  const std::string good = Mint(secret_);
  const struct {
    const char* name;
    std::string token;
    const char* reason;
  } bad[] = {{"no token", "", "missing token"},
             {"garbage", "abc.def", "malformed token"},
             {"another key", Mint(other_secret_), "invalid signature"},
             {"expired", Mint(secret_, "--ttl=-1m"), "token expired"}};
  using Call = grpc::Status (*)(grpc::Channel&, const std::string&);
  const std::pair<const char*, Call> calls[] = {
      {"Subscribe", SubscribeOnce}, {"GetLatest", GetLatest}, {"ListSymbols", ListSymbols}, {"GetBars", GetBars}};
  for (const auto& [method, call] : calls) {
    for (const auto& c : bad) {
      const grpc::Status status = call(*channel, c.token);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method << ", " << c.name;
      EXPECT_EQ(status.error_message(), c.reason) << method << ", " << c.name;
    }
    const grpc::Status status = call(*channel, good);
    EXPECT_TRUE(status.ok()) << method << ": " << status.error_message();
  }

  // Probes and tools: health and reflection answer without a token.
  grpc::ClientContext health_context;
  grpc::health::v1::HealthCheckRequest health_request;
  health_request.set_service("stockfeed.v1.PriceFeed");
  grpc::health::v1::HealthCheckResponse health_response;
  ASSERT_TRUE(grpc::health::v1::Health::NewStub(channel)->Check(&health_context, health_request, &health_response).ok());
  EXPECT_EQ(health_response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  grpc::ClientContext reflection_context;
  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(channel)->ServerReflectionInfo(&reflection_context);
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(reflection->Write(list));
  reflection->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse listed;
  ASSERT_TRUE(reflection->Read(&listed));
  EXPECT_GT(listed.list_services_response().service_size(), 0);
  // No token ever appears in the log.
  EXPECT_EQ(service_->Log().find(good), std::string::npos);
}

TEST_F(GrpcHopTest, ASymbolsClaimScopesEveryCallAndOthersArePermissionDenied) {
  std::vector<std::string> args = TlsArgs(/*mutual=*/false);
  args.push_back("--jwt_hs256_secret_file=" + secret_);
  StartService(args);
  auto channel = TlsChannel(port_, certs_.ca);
  auto stub = v1::PriceFeed::NewStub(channel);
  const std::string scoped = Mint(secret_, "--symbols=AAPL,NVDA");

  // Subscribe to everything: only the claim's symbols arrive.
  grpc::ClientContext stream_context;
  Prepare(stream_context, scoped);
  auto reader = stub->Subscribe(&stream_context, v1::SubscribeRequest());
  std::set<std::string> seen;
  v1::PriceUpdate update;
  for (int i = 0; i < 20 && reader->Read(&update); ++i) seen.insert(update.symbol());
  stream_context.TryCancel();
  reader->Finish();
  EXPECT_FALSE(seen.empty());
  for (const std::string& symbol : seen) EXPECT_TRUE(symbol == "AAPL" || symbol == "NVDA") << symbol;

  grpc::ClientContext latest_context;
  Prepare(latest_context, scoped);
  v1::GetLatestResponse latest;
  ASSERT_TRUE(stub->GetLatest(&latest_context, v1::GetLatestRequest(), &latest).ok());
  for (const v1::PriceUpdate& price : latest.updates()) EXPECT_TRUE(price.symbol() == "AAPL" || price.symbol() == "NVDA");

  // Naming a symbol outside the claim: PERMISSION_DENIED, saying which.
  grpc::ClientContext denied_context;
  Prepare(denied_context, scoped);
  v1::SubscribeRequest msft;
  msft.add_symbols("MSFT");
  auto denied = stub->Subscribe(&denied_context, msft);
  EXPECT_FALSE(denied->Read(&update));
  const grpc::Status status = denied->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "the token does not allow symbol MSFT");
  grpc::ClientContext bars_context;
  Prepare(bars_context, scoped);
  v1::GetBarsRequest bars;
  bars.set_symbol("MSFT");
  bars.set_source("finnhub");
  bars.set_interval_seconds(60);
  v1::GetBarsResponse bars_response;
  EXPECT_EQ(stub->GetBars(&bars_context, bars, &bars_response).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(GrpcHopTest, TokenAuthWithoutTlsIsAStartupError) {
  ChildProcess service(Binaries::PriceService(),
                       {"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--jwt_hs256_secret_file=" + secret_},
                       TestOutputDir() + "/price_service.log");
  EXPECT_EQ(service.Wait(seconds(10)), 1);
  EXPECT_NE(service.Log().find("needs --tls_cert_file"), std::string::npos) << service.Log();
}

TEST_F(GrpcHopTest, GatewayStreamsOverMutualTlsWithAToken) {
  const std::string token_file = keys_.path() + "/gateway.token";
  WriteFile(token_file, Mint(secret_) + "\n");
  std::vector<std::string> service_args = TlsArgs(/*mutual=*/true);
  service_args.push_back("--jwt_hs256_secret_file=" + secret_);
  System system(System::Options{
      .service_args = service_args,
      .gateway_args = {"--upstream_tls_ca_file=" + certs_.ca, "--upstream_tls_cert_file=" + certs_.client_cert,
                       "--upstream_tls_key_file=" + certs_.client_key, "--upstream_token_file=" + token_file}});
  ASSERT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(15)))
      << system.gateway().Log();
  WsClient client(system.gateway_port(), "/ws");
  EXPECT_TRUE(client.ReadUntilType("price", seconds(5)).has_value());
}

TEST_F(GrpcHopTest, GatewayWithTheWrongCaFailsClearly) {
  System system(System::Options{.service_args = TlsArgs(/*mutual=*/false),
                                .gateway_args = {"--upstream_tls_ca_file=" + certs_.other_ca}});
  // gRPC's handshake error and our own line are written separately: wait for both.
  ASSERT_TRUE(Eventually(
      [&] {
        const std::string log = system.gateway().Log();
        return log.find("certificate verify failed") != std::string::npos &&
               log.find("upstream: cannot reach") != std::string::npos;
      },
      seconds(15)))
      << system.gateway().Log();
  EXPECT_EQ(HttpGet(system.gateway_port(), "/readyz").status, 503);
  WsClient client(system.gateway_port(), "/ws");
  EXPECT_FALSE(client.ReadUntilType("price", seconds(2)).has_value());
}

TEST_F(GrpcHopTest, GatewayRereadsItsUpstreamTokenOnSighup) {
  const std::string token_file = keys_.path() + "/gateway.token";
  WriteFile(token_file, Mint(other_secret_) + "\n");  // not one the service accepts
  std::vector<std::string> service_args = TlsArgs(/*mutual=*/false);
  service_args.push_back("--jwt_hs256_secret_file=" + secret_);
  System system(System::Options{
      .service_args = service_args,
      .gateway_args = {"--upstream_tls_ca_file=" + certs_.ca, "--upstream_token_file=" + token_file}});
  ASSERT_TRUE(Eventually([&] { return system.gateway().Log().find("invalid signature") != std::string::npos; },
                         seconds(15)))
      << system.gateway().Log();
  EXPECT_EQ(HttpGet(system.gateway_port(), "/readyz").status, 503);
  WriteFile(token_file, Mint(secret_) + "\n");
  system.gateway().Signal(SIGHUP);
  EXPECT_TRUE(Eventually([&] { return HttpGet(system.gateway_port(), "/readyz").status == 200; }, seconds(15)))
      << system.gateway().Log();
  EXPECT_NE(system.gateway().Log().find("upstream token reloaded"), std::string::npos);
}

TEST_F(GrpcHopTest, GatewayFlagsThatCannotWorkAreStartupErrors) {
  const std::string log = TestOutputDir() + "/ws_gateway.log";
  const struct {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--upstream_token_file=" + secret_}, "--upstream_token_file needs --upstream_tls_ca_file"},
      {{"--upstream_tls_ca_file=" + certs_.ca, "--upstream_tls_cert_file=" + certs_.client_cert},
       "--upstream_tls_cert_file and --upstream_tls_key_file go together"},
      {{"--upstream_tls_ca_file=" + secret_}, "is not a PEM file"},
      {{"--upstream_tls_ca_file=/nonexistent/ca.pem"}, "cannot read /nonexistent/ca.pem"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0", "--web_root=" + Binaries::WebRoot()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    ChildProcess gateway(Binaries::Gateway(), args, log);
    EXPECT_EQ(gateway.Wait(seconds(10)), 1) << c.message;
    EXPECT_NE(gateway.Log().find(c.message), std::string::npos) << gateway.Log();
  }
}

TEST_F(GrpcHopTest, TailStreamsOverTlsWithAToken) {
  std::vector<std::string> args = TlsArgs(/*mutual=*/true);
  args.push_back("--jwt_hs256_secret_file=" + secret_);
  StartService(args);
  const std::string token_file = keys_.path() + "/tail.token";
  WriteFile(token_file, Mint(secret_) + "\n");
  const std::vector<std::string> tls = {"--target=127.0.0.1:" + std::to_string(port_), "--tls_ca_file=" + certs_.ca,
                                        "--tls_cert_file=" + certs_.client_cert,
                                        "--tls_key_file=" + certs_.client_key, "--connect_timeout=5s"};
  std::vector<std::string> with_token = tls;
  with_token.insert(with_token.end(), {"--token_file=" + token_file, "--count=3"});
  ChildProcess tail(STOCKFEED_TAIL_PATH, with_token, TestOutputDir() + "/tail.log");
  ASSERT_EQ(tail.Wait(seconds(20)), 0) << tail.Log();
  size_t prices = 0;
  for (size_t at = tail.Log().find("\"seq\":"); at != std::string::npos; at = tail.Log().find("\"seq\":", at + 1)) {
    ++prices;
  }
  EXPECT_EQ(prices, 3u) << tail.Log();

  std::vector<std::string> without_token = tls;
  without_token.push_back("symbols");
  ChildProcess refused(STOCKFEED_TAIL_PATH, without_token, TestOutputDir() + "/tail-refused.log");
  EXPECT_EQ(refused.Wait(seconds(20)), 1) << refused.Log();
  EXPECT_NE(refused.Log().find("missing token"), std::string::npos) << refused.Log();
}

}  // namespace
}  // namespace stockfeed::testing

// Token auth at the gateway over real sockets against the real binaries,
// with tokens minted by the stockfeed_token CLI and by hand (alg none,
// algorithm confusion): 401 at the handshake, the three token sources,
// the symbols claim, refresh before expiry, close 4001 after it, key reload.
#include <jwt.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/raw_http.h"
#include "support/system.h"
#include "support/ws_client.h"
#include "test_files.h"

namespace stockfeed::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Keys made for this test: an HS256 secret, an RSA and an EC key pair.
struct Keys {
  TempDir temp;
  std::string dir = temp.path();
  std::string secret = dir + "/hs.key";
  std::string rsa_private = dir + "/rsa.pem", rsa_public = dir + "/rsa.pub";
  std::string ec_private = dir + "/ec.pem", ec_public = dir + "/ec.pub";
  Keys() {
    WriteFile(secret, "test-secret-0123456789-0123456789-abcdef\n");
    Shell("openssl genrsa -out " + rsa_private + " 2048 2>/dev/null && openssl rsa -in " + rsa_private +
        " -pubout -out " + rsa_public + " 2>/dev/null");
    Shell("openssl ecparam -name prime256v1 -genkey -noout -out " + ec_private + " && openssl ec -in " + ec_private +
        " -pubout -out " + ec_public + " 2>/dev/null");
  }
};

std::string Mint(const std::string& key, const std::string& args = "") {
  return Shell(std::string(STOCKFEED_TOKEN_PATH) + " --key=" + key + " --aud=stockfeed " + args);
}

// A token signed by hand with libjwt: `alg` and raw key bytes as given.
std::string HandMade(jwt_alg_t alg, const std::string& key, int64_t ttl_seconds = 600) {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grant(jwt, "aud", "stockfeed");
  jwt_add_grant(jwt, "sub", "mallory");
  jwt_add_grant_int(jwt, "exp", time(nullptr) + ttl_seconds);
  jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
              alg == JWT_ALG_NONE ? 0 : static_cast<int>(key.size()));
  char* encoded = jwt_encode_str(jwt);
  std::string token = encoded ? encoded : "";
  free(encoded);
  jwt_free(jwt);
  return token;
}

std::string Response(int port, const std::string& target, const std::string& headers = "") {
  RawConnection connection(port);
  connection.Send(UpgradeRequest(port, target, headers));
  return connection.ReadAll(seconds(5), /*stop_at_head_end=*/true);
}

class TokenAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = std::make_unique<Keys>();
    ASSERT_FALSE(ReadFile(keys_->rsa_public).empty()) << "openssl could not make keys";
    system_ = std::make_unique<System>(System::Options{
        .gateway_args = {"--jwt_hs256_secret_file=" + keys_->secret,
                         "--jwt_public_key_file=rsa=" + keys_->rsa_public + ",ec=" + keys_->ec_public,
                         "--jwt_audience=stockfeed", "--jwt_refresh_window=3s"}});
    ASSERT_TRUE(Eventually([this] { return HttpGet(port(), "/readyz").status == 200; }, seconds(15)))
        << system_->gateway().Log();
  }
  int port() { return system_->gateway_port(); }

  std::unique_ptr<Keys> keys_;
  std::unique_ptr<System> system_;
};

TEST_F(TokenAuthTest, EveryBadTokenIs401AtTheHandshakeNeverA101) {
  const std::string other_secret = keys_->dir + "/other.key";
  WriteFile(other_secret, "another-secret-0123456789-0123456789-xyz");
  const std::string rsa_public_pem = ReadFile(keys_->rsa_public);
  const struct {
    const char* name;
    std::string token;
    const char* reason;
  } cases[] = {
      {"missing", "", "missing token"},
      {"malformed", "abc.def", "malformed token"},
      {"expired", Mint(keys_->secret, "--ttl=-1m"), "token expired"},
      {"not yet valid", Mint(keys_->secret, "--not_before=10m"), "token not yet valid"},
      {"wrong audience", Shell(std::string(STOCKFEED_TOKEN_PATH) + " --key=" + keys_->secret + " --aud=other"),
       "wrong audience"},
      {"bad signature", Mint(other_secret), "invalid signature"},
      {"alg none", HandMade(JWT_ALG_NONE, ""), "unsigned token"},
      {"algorithm confusion", HandMade(JWT_ALG_HS256, rsa_public_pem), "invalid signature"},
  };
  for (const auto& c : cases) {
    const std::string target = c.token.empty() ? "/ws" : "/ws?token=" + c.token;
    const std::string response = Response(port(), target);
    EXPECT_EQ(StatusOf(response), 401) << c.name << ": " << response;
    RawConnection body_connection(port());
    body_connection.Send(UpgradeRequest(port(), target));
    const std::string whole = body_connection.ReadAll(seconds(5));
    EXPECT_NE(whole.find(c.reason), std::string::npos) << c.name << ": " << whole;
    EXPECT_NE(whole.find("WWW-Authenticate: Bearer"), std::string::npos) << c.name;
  }
  // The gateway logged no token.
  const std::string forged = HandMade(JWT_ALG_HS256, rsa_public_pem);
  EXPECT_EQ(system_->gateway().Log().find(forged.substr(forged.rfind('.') + 1)), std::string::npos);
}

TEST_F(TokenAuthTest, TokensFromTheCliWorkFromHeaderSubprotocolAndQueryWithAllThreeKeyTypes) {
  const std::string hs = Mint(keys_->secret, "--sub=alice");
  const std::string rs = Mint(keys_->rsa_private, "--sub=bob --kid=rsa");
  const std::string es = Mint(keys_->ec_private, "--sub=carol");
  EXPECT_EQ(StatusOf(Response(port(), "/ws", "Authorization: Bearer " + hs + "\r\n")), 101);
  const std::string via_protocol =
      Response(port(), "/ws", "Sec-WebSocket-Protocol: stockfeed, bearer." + rs + "\r\n");
  EXPECT_EQ(StatusOf(via_protocol), 101) << via_protocol;
  EXPECT_NE(via_protocol.find("Sec-WebSocket-Protocol: stockfeed\r\n"), std::string::npos) << via_protocol;
  EXPECT_EQ(via_protocol.find(rs), std::string::npos) << "the token must not be echoed";
  EXPECT_EQ(StatusOf(Response(port(), "/ws?token=" + es)), 101);
  // The header wins over the query, even when the header's token is bad.
  EXPECT_EQ(StatusOf(Response(port(), "/ws?token=" + hs, "Authorization: Bearer nope\r\n")), 401);
  // The subject is logged as the client id.
  EXPECT_TRUE(Eventually([this] { return system_->gateway().Log().find("sub=carol") != std::string::npos; },
                         seconds(5)));
  EXPECT_EQ(system_->gateway().Log().find(hs), std::string::npos) << "tokens must never be logged";
}

TEST_F(TokenAuthTest, DataRoutesNeedATokenProbesAndThePageDoNot) {
  EXPECT_EQ(HttpGet(port(), "/stats").status, 401);
  EXPECT_EQ(HttpGet(port(), "/stats?token=" + Mint(keys_->secret)).status, 200);
  EXPECT_EQ(HttpGet(port(), "/healthz").status, 200);
  EXPECT_EQ(HttpGet(port(), "/").status, 200);
}

TEST_F(TokenAuthTest, SymbolsClaimLimitsSubscriptionsAndTheRestOfTheRequestApplies) {
  // TSLA in the URL is refused at once; AAPL applies.
  WsClient client(port(), "/ws?protocol=v1&symbols=AAPL,TSLA&token=" + Mint(keys_->secret, "--symbols=AAPL,MSFT"));
  std::optional<json::object> at_connect = client.ReadUntilType("error");
  ASSERT_TRUE(at_connect);
  EXPECT_EQ(at_connect->at("code"), "forbidden_symbol");
  client.Send(R"({"type":"subscribe","symbols":["MSFT","TSLA"]})");
  std::optional<json::object> error = client.ReadUntilType("error");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->at("code"), "forbidden_symbol");
  EXPECT_NE(json::serialize(*error).find("TSLA"), std::string::npos);
  std::optional<json::object> subscribed = client.ReadUntilType("subscribed");
  ASSERT_TRUE(subscribed);
  EXPECT_EQ(json::serialize(subscribed->at("symbols")), R"(["AAPL","MSFT"])");
  for (int i = 0; i < 20; ++i) {
    std::optional<json::object> price = client.ReadUntilType("price");
    ASSERT_TRUE(price);
    EXPECT_NE(price->at("symbol"), "TSLA");
  }
  // A client asking for everything gets what its token allows.
  WsClient all(port(), "/ws?token=" + Mint(keys_->secret, "--symbols=MSFT"));
  for (int i = 0; i < 10; ++i) {
    std::optional<json::object> price = all.ReadUntilType("price");
    ASSERT_TRUE(price);
    EXPECT_EQ(price->at("symbol"), "MSFT");
  }
}

TEST_F(TokenAuthTest, SymbolsClaimLimitsTheHttpApiToo) {
  const std::string token = Mint(keys_->secret, "--symbols=AAPL");
  const HttpResult latest = HttpGet(port(), "/api/v1/latest?token=" + token);
  ASSERT_EQ(latest.status, 200) << latest.body;
  const json::array prices = json::parse(latest.body).as_object().at("prices").as_array();
  ASSERT_FALSE(prices.empty());
  for (const json::value& price : prices) EXPECT_EQ(price.as_object().at("symbol"), "AAPL");

  const HttpResult refused = HttpGet(port(), "/api/v1/latest?symbols=AAPL,MSFT&token=" + token);
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("forbidden_symbol"), std::string::npos) << refused.body;
  EXPECT_EQ(HttpGet(port(), "/api/v1/stream?symbols=TSLA&token=" + token).status, 403);

  // The SSE stream of "everything" carries only what the token allows.
  RawConnection stream(port());
  stream.Send("GET /api/v1/stream?token=" + token + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  const std::string events = stream.ReadAll(seconds(3));
  EXPECT_NE(events.find("\"symbol\":\"AAPL\""), std::string::npos) << events;
  for (const char* other : {"MSFT", "GOOGL", "TSLA", "NVDA", "AMZN"}) {
    EXPECT_EQ(events.find(std::string("\"symbol\":\"") + other + "\""), std::string::npos) << other;
  }
}

TEST_F(TokenAuthTest, RefreshBeforeExpiryKeepsTheConnection) {
  WsClient client(port(), "/ws?protocol=v1&token=" + Mint(keys_->secret, "--sub=alice --ttl=5s"));
  std::optional<json::object> expiring = client.ReadUntilType("token_expiring", seconds(6));
  ASSERT_TRUE(expiring) << "no token_expiring within the refresh window";
  client.Send(R"({"type":"refresh","token":")" + Mint(keys_->secret, "--sub=alice --ttl=1h") + "\"}");
  ASSERT_TRUE(client.ReadUntilType("refreshed"));
  // Past the first token's expiry, prices still flow.
  std::this_thread::sleep_for(seconds(5));
  EXPECT_TRUE(client.ReadUntilType("price", seconds(3)));
  EXPECT_FALSE(client.closed());
}

TEST_F(TokenAuthTest, MissedOrBadRefreshClosesWith4001) {
  WsClient client(port(), "/ws?protocol=v1&token=" + Mint(keys_->secret, "--sub=alice --ttl=4s"));
  ASSERT_TRUE(client.ReadUntilType("token_expiring", seconds(6)));
  // A token for someone else is refused and does not extend the session.
  client.Send(R"({"type":"refresh","token":")" + Mint(keys_->secret, "--sub=bob") + "\"}");
  std::optional<json::object> refused = client.ReadUntilType("error");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->at("code"), "invalid_token");
  EXPECT_TRUE(Eventually([&] { return client.Read(milliseconds(200)), client.closed(); }, seconds(8)));
  EXPECT_EQ(client.close_code(), 4001);
}

TEST_F(TokenAuthTest, SighupReloadsKeysWithoutDroppingClients) {
  WsClient client(port(), "/ws?token=" + Mint(keys_->secret, "--sub=alice"));
  ASSERT_TRUE(client.ReadUntilType("price"));
  const std::string old_token = Mint(keys_->secret);
  WriteFile(keys_->secret, "rotated-secret-0123456789-0123456789-zz\n");
  system_->gateway().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([this] { return system_->gateway().Log().find("token keys reloaded") != std::string::npos; },
                         seconds(5)))
      << system_->gateway().Log();
  EXPECT_EQ(StatusOf(Response(port(), "/ws?token=" + old_token)), 401);
  EXPECT_EQ(StatusOf(Response(port(), "/ws?token=" + Mint(keys_->secret))), 101);
  EXPECT_TRUE(client.ReadUntilType("price", seconds(3))) << "the connected client must stay";
  // A broken key file keeps the keys in use.
  const std::string rotated_token = Mint(keys_->secret);
  WriteFile(keys_->secret, "short");
  system_->gateway().Signal(SIGHUP);
  ASSERT_TRUE(Eventually([this] { return system_->gateway().Log().find("reload failed") != std::string::npos; },
                         seconds(5)));
  EXPECT_EQ(StatusOf(Response(port(), "/ws?token=" + rotated_token)), 101);
  EXPECT_FALSE(client.closed());
}

}  // namespace
}  // namespace stockfeed::testing

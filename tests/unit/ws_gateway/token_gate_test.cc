#include "core/token_gate.h"

#include <string>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

RequestHead Head(absl::string_view target, std::vector<std::pair<absl::string_view, absl::string_view>> fields,
                 bool upgrade = true) {
  return RequestHead{.method = "GET", .target = target, .version = 11, .upgrade = upgrade, .fields = std::move(fields)};
}

TEST(ExtractTokenTest, AuthorizationThenProtocolThenQuery) {
  EXPECT_EQ(ExtractToken(Head("/ws?token=q", {{"Authorization", "Bearer h"},
                                              {"Sec-WebSocket-Protocol", "stockfeed, bearer.p"}})),
            "h");
  EXPECT_EQ(ExtractToken(Head("/ws?token=q", {{"Sec-WebSocket-Protocol", "stockfeed, bearer.p"}})), "p");
  EXPECT_EQ(ExtractToken(Head("/ws?a=1&token=q", {})), "q");
  EXPECT_EQ(ExtractToken(Head("/ws?a=1", {})), std::nullopt);
  EXPECT_EQ(ExtractToken(Head("/ws", {{"authorization", "bearer  h "}})), "h");
  // Another scheme counts as a token that is present and empty: 401, not a
  // silent fall-through to a weaker source.
  EXPECT_EQ(ExtractToken(Head("/ws?token=q", {{"Authorization", "Basic abc"}})), "");
}

TEST(RequiresTokenTest, ProbesAndStaticFilesAreOpenEverythingElseIsNot) {
  EXPECT_TRUE(RequiresToken(Head("/ws", {})));
  EXPECT_TRUE(RequiresToken(Head("/", {})));  // an upgrade on /
  for (const char* open : {"/healthz", "/readyz", "/metrics", "/", "/index.html", "/js/app.js?v=2"}) {
    EXPECT_FALSE(RequiresToken(Head(open, {}, /*upgrade=*/false))) << open;
  }
  for (const char* closed : {"/stats", "/api/v1/latest", "/api/v1/stream?symbols=A", "/new_route"}) {
    EXPECT_TRUE(RequiresToken(Head(closed, {}, /*upgrade=*/false))) << closed;
  }
}

TEST(TokenGateTest, WithoutAVerifierEverythingPassesWithoutClaims) {
  TokenGate gate;
  auto result = gate.Check(Head("/ws", {}), absl::Now());
  ASSERT_TRUE(std::holds_alternative<std::optional<TokenClaims>>(result));
  EXPECT_FALSE(std::get<std::optional<TokenClaims>>(result));
}

TEST(TokenGateTest, WithAVerifierAMissingTokenIs401) {
  TokenGate gate;
  gate.SetVerifier(*TokenVerifier::FromKeys({{"k", TokenVerifier::Algorithm::kHs256, std::string(32, 's')}}, {}));
  auto result = gate.Check(Head("/ws", {}), absl::Now());
  ASSERT_TRUE(std::holds_alternative<Rejection>(result));
  EXPECT_EQ(std::get<Rejection>(result).status, 401);
  EXPECT_TRUE(std::holds_alternative<std::optional<TokenClaims>>(gate.Check(Head("/healthz", {}, false), absl::Now())));
}

TEST(ScopeDataRequestTest, NarrowsStreamAndLatestChecksBarsAndLeavesTheRest) {
  TokenClaims scoped;
  scoped.symbols = std::vector<std::string>{"AAPL", "MSFT"};
  const auto target = [&](absl::string_view in) { return std::get<std::string>(ScopeDataRequest(scoped, in)); };
  const auto refused = [&](absl::string_view in) { return std::get<Rejection>(ScopeDataRequest(scoped, in)); };
  EXPECT_EQ(target("/api/v1/stream"), "/api/v1/stream?symbols=AAPL,MSFT");
  EXPECT_EQ(target("/api/v1/latest?token=t&sources=finnhub"), "/api/v1/latest?token=t&sources=finnhub&symbols=AAPL,MSFT");
  EXPECT_EQ(target("/api/v1/stream?symbols=MSFT&after_seq=4"), "/api/v1/stream?after_seq=4&symbols=MSFT");
  EXPECT_EQ(target("/api/v1/stream?symbols=*"), "/api/v1/stream?symbols=AAPL,MSFT");
  EXPECT_EQ(target("/api/v1/bars?symbol=AAPL&source=s&interval=1m"), "/api/v1/bars?symbol=AAPL&source=s&interval=1m");
  EXPECT_EQ(target("/api/v1/symbols"), "/api/v1/symbols");
  EXPECT_EQ(target("/stats?token=t"), "/stats?token=t");

  const Rejection stream = refused("/api/v1/stream?symbols=AAPL,TSLA");
  EXPECT_EQ(stream.status, 403);
  EXPECT_EQ(stream.code, "forbidden_symbol");
  EXPECT_EQ(stream.message, "the token does not allow TSLA");
  EXPECT_EQ(refused("/api/v1/latest?symbols=AAPL&symbols=NVDA").message, "the token does not allow NVDA");
  EXPECT_EQ(refused("/api/v1/bars?symbol=TSLA&source=s&interval=1m").status, 403);
  EXPECT_EQ(refused("/api/v1/stream?symbols=%41APL").status, 403);  // only literal names pass
  // A bars batch names each symbol before its source.
  EXPECT_EQ(target("/api/v1/bars?pairs=AAPL:s,MSFT:t&interval=1m"), "/api/v1/bars?pairs=AAPL:s,MSFT:t&interval=1m");
  EXPECT_EQ(refused("/api/v1/bars?pairs=AAPL:s,TSLA:t&interval=1m").message, "the token does not allow TSLA");
  // An escaped ',' could smuggle a pair past the check: escapes are refused.
  EXPECT_EQ(refused("/api/v1/bars?pairs=AAPL:s%2CTSLA:t&interval=1m").status, 403);
  EXPECT_EQ(refused("/api/v1/bars?pairs=AAPL%3As&interval=1m").status, 403);

  TokenClaims none;
  none.symbols = std::vector<std::string>{};
  EXPECT_EQ(std::get<Rejection>(ScopeDataRequest(none, "/api/v1/stream")).message, "the token allows no symbol");
  TokenClaims all;
  EXPECT_EQ(std::get<std::string>(ScopeDataRequest(all, "/api/v1/stream")), "/api/v1/stream");
}

TEST(RestrictSymbolsTest, KeepsAllowedExpandsStarAndReturnsForbidden) {
  TokenClaims claims;
  claims.symbols = std::vector<std::string>{"AAPL", "MSFT"};
  std::vector<std::string> asked = {"AAPL", "TSLA", "MSFT"};
  EXPECT_EQ(RestrictSymbols(claims, asked), std::vector<std::string>{"TSLA"});
  EXPECT_EQ(asked, (std::vector<std::string>{"AAPL", "MSFT"}));
  asked = {"*"};
  EXPECT_TRUE(RestrictSymbols(claims, asked).empty());
  EXPECT_EQ(asked, (std::vector<std::string>{"AAPL", "MSFT"}));
  std::optional<std::vector<std::string>> everything;
  EXPECT_TRUE(RestrictSymbols(claims, everything).empty());
  EXPECT_EQ(everything, (std::vector<std::string>{"AAPL", "MSFT"}));
  // Without a symbols claim nothing changes.
  std::vector<std::string> any = {"TSLA"};
  EXPECT_TRUE(RestrictSymbols(TokenClaims{}, any).empty());
  EXPECT_EQ(any, std::vector<std::string>{"TSLA"});
}

}  // namespace
}  // namespace stockfeed::ws_gateway

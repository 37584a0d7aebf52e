#include "stockfeed/common/token_verifier.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <string>

#include "gtest/gtest.h"

namespace stockfeed {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

// A token signed by libjwt with `alg` and raw key bytes, claims as given.
std::string Sign(jwt_alg_t alg, const std::string& key, const std::string& claims_json, const char* kid = nullptr) {
  jwt_t* jwt = nullptr;
  jwt_new(&jwt);
  jwt_add_grants_json(jwt, claims_json.c_str());
  if (kid) jwt_add_header(jwt, "kid", kid);
  jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
              alg == JWT_ALG_NONE ? 0 : static_cast<int>(key.size()));
  char* encoded = jwt_encode_str(jwt);
  std::string token = encoded ? encoded : "";
  free(encoded);
  jwt_free(jwt);
  return token;
}

std::string Claims(int64_t exp_offset, const std::string& extra = "") {
  return "{\"sub\":\"alice\",\"exp\":" + std::to_string(absl::ToUnixSeconds(kNow) + exp_offset) + extra + "}";
}

std::shared_ptr<const TokenVerifier> HsVerifier(TokenRules rules = {}) {
  return *TokenVerifier::FromKeys({{"k1", TokenVerifier::Algorithm::kHs256, kSecret}}, rules);
}

std::pair<std::string, std::string> RsaKeyPair() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  BIO* pub = BIO_new(BIO_s_mem());
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(pub, &data);
  const std::string pub_pem(data, static_cast<size_t>(size));
  size = BIO_get_mem_data(priv, &data);
  const std::string priv_pem(data, static_cast<size_t>(size));
  BIO_free(pub);
  BIO_free(priv);
  EVP_PKEY_free(key);
  return {pub_pem, priv_pem};
}

TEST(BearerTokenTest, TakesTheTokenOfTheBearerSchemeOnly) {
  EXPECT_EQ(BearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(BearerToken("  bearer   abc.def.ghi  "), "abc.def.ghi");
  EXPECT_EQ(BearerToken("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken(""), "");
}

TEST(TokenVerifierTest, GoodHs256TokenGivesItsClaims) {
  const std::string token = Sign(JWT_ALG_HS256, kSecret, Claims(60, ",\"symbols\":[\"AAPL\",\"MSFT\"]"));
  absl::StatusOr<TokenClaims> claims = HsVerifier()->Verify(token, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(claims->expires, kNow + absl::Seconds(60));
  EXPECT_TRUE(claims->AllowsSymbol("AAPL"));
  EXPECT_FALSE(claims->AllowsSymbol("TSLA"));
}

struct RejectCase {
  std::string name;
  std::string token;
  std::string reason;
};

class TokenRejectTest : public testing::TestWithParam<RejectCase> {};

TEST_P(TokenRejectTest, IsUnauthenticatedWithAShortReason) {
  const absl::StatusOr<TokenClaims> claims =
      HsVerifier({.audience = "stockfeed", .issuer = "auth.example"})->Verify(GetParam().token, kNow);
  ASSERT_FALSE(claims.ok());
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(claims.status().message(), GetParam().reason);
}

const std::string kGood = ",\"aud\":\"stockfeed\",\"iss\":\"auth.example\"";

INSTANTIATE_TEST_SUITE_P(
    Table, TokenRejectTest,
    testing::Values(
        RejectCase{"Empty", "", "missing token"},
        RejectCase{"Garbage", "not.a.token", "malformed token"},
        RejectCase{"AlgNone", Sign(JWT_ALG_NONE, "", Claims(60, kGood)), "unsigned token"},
        RejectCase{"AlgNoneWithForgedSignature", Sign(JWT_ALG_NONE, "", Claims(60, kGood)) + "c2ln", "unsigned token"},
        RejectCase{"WrongSecret", Sign(JWT_ALG_HS256, kSecret + "x", Claims(60, kGood)), "invalid signature"},
        RejectCase{"UnknownKid", Sign(JWT_ALG_HS256, kSecret, Claims(60, kGood), "k9"), "unknown signing key"},
        RejectCase{"Hs384NotAccepted", Sign(JWT_ALG_HS384, kSecret, Claims(60, kGood)), "unsupported algorithm"},
        RejectCase{"Expired", Sign(JWT_ALG_HS256, kSecret, Claims(-10, kGood)), "token expired"},
        RejectCase{"NoExpiry", Sign(JWT_ALG_HS256, kSecret, "{\"sub\":\"a\"" + kGood + "}"), "token has no expiry"},
        RejectCase{"NotYetValid",
                   Sign(JWT_ALG_HS256, kSecret,
                        Claims(600, kGood + ",\"nbf\":" + std::to_string(absl::ToUnixSeconds(kNow) + 60))),
                   "token not yet valid"},
        RejectCase{"WrongAudience",
                   Sign(JWT_ALG_HS256, kSecret, Claims(60, ",\"aud\":\"other\",\"iss\":\"auth.example\"")),
                   "wrong audience"},
        RejectCase{"WrongIssuer", Sign(JWT_ALG_HS256, kSecret, Claims(60, ",\"aud\":\"stockfeed\",\"iss\":\"x\"")),
                   "wrong issuer"},
        RejectCase{"SymbolsNotAList", Sign(JWT_ALG_HS256, kSecret, Claims(60, kGood + ",\"symbols\":\"AAPL\"")),
                   "malformed token"},
        RejectCase{"ExpNotANumber",
                   Sign(JWT_ALG_HS256, kSecret, "{\"exp\":\"soon\"" + kGood + "}"), "malformed token"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(TokenVerifierTest, AudienceMayBeAList) {
  const std::string token = Sign(JWT_ALG_HS256, kSecret, Claims(60, ",\"aud\":[\"x\",\"stockfeed\"]"));
  EXPECT_TRUE(HsVerifier({.audience = "stockfeed"})->Verify(token, kNow).ok());
}

TEST(TokenVerifierTest, Rs256VerifiesAndTheAlgorithmConfusionTokenIsRefused) {
  const auto [public_pem, private_pem] = RsaKeyPair();
  auto verifier = *TokenVerifier::FromKeys({{"rsa", TokenVerifier::Algorithm::kRs256, public_pem}}, {});
  EXPECT_TRUE(verifier->Verify(Sign(JWT_ALG_RS256, private_pem, Claims(60)), kNow).ok());
  // HS256 "signed" with the public key's PEM as the HMAC secret: a verifier
  // that let the token pick the algorithm would accept it.
  const std::string confused = Sign(JWT_ALG_HS256, public_pem, Claims(60));
  ASSERT_FALSE(confused.empty());
  const absl::StatusOr<TokenClaims> claims = verifier->Verify(confused, kNow);
  EXPECT_FALSE(claims.ok());
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  // Also when the token names the RSA key's id.
  EXPECT_FALSE(verifier->Verify(Sign(JWT_ALG_HS256, public_pem, Claims(60), "rsa"), kNow).ok());
}

TEST(TokenVerifierTest, KidPicksAmongSeveralKeysForRotation) {
  const std::string old_secret(40, 'o'), new_secret(40, 'n');
  auto verifier = *TokenVerifier::FromKeys({{"old", TokenVerifier::Algorithm::kHs256, old_secret},
                                            {"new", TokenVerifier::Algorithm::kHs256, new_secret}},
                                           {});
  EXPECT_TRUE(verifier->Verify(Sign(JWT_ALG_HS256, old_secret, Claims(60), "old"), kNow).ok());
  EXPECT_TRUE(verifier->Verify(Sign(JWT_ALG_HS256, new_secret, Claims(60), "new"), kNow).ok());
  EXPECT_TRUE(verifier->Verify(Sign(JWT_ALG_HS256, new_secret, Claims(60)), kNow).ok()) << "no kid: any HS256 key";
  EXPECT_FALSE(verifier->Verify(Sign(JWT_ALG_HS256, new_secret, Claims(60), "old"), kNow).ok());
}

TEST(TokenVerifierTest, DuplicateKidsAndNoKeysAreConfigurationErrors) {
  EXPECT_FALSE(TokenVerifier::FromKeys({}, {}).ok());
  EXPECT_FALSE(TokenVerifier::FromKeys({{"a", TokenVerifier::Algorithm::kHs256, kSecret},
                                        {"a", TokenVerifier::Algorithm::kHs256, kSecret}},
                                       {})
                   .ok());
}

TEST(KeyFileTest, KidFromPrefixOrFileName) {
  EXPECT_EQ(KeyFile::Parse("2024=/etc/stockfeed/a.key").kid, "2024");
  EXPECT_EQ(KeyFile::Parse("2024=/etc/stockfeed/a.key").path, "/etc/stockfeed/a.key");
  EXPECT_EQ(KeyFile::Parse("/etc/stockfeed/primary.pem").kid, "primary");
  EXPECT_EQ(KeyFile::Parse("/etc/a=b/primary.pem").kid, "primary");
}

TEST(TokenClaimsTest, StarOrNoClaimAllowsEverySymbol) {
  TokenClaims claims;
  EXPECT_TRUE(claims.AllowsSymbol("X"));
  claims.symbols = std::vector<std::string>{"*"};
  EXPECT_TRUE(claims.AllowsSymbol("X"));
  claims.symbols = std::vector<std::string>{};
  EXPECT_FALSE(claims.AllowsSymbol("X"));
}

}  // namespace
}  // namespace stockfeed

#include "stockfeed/common/token_verifier.h"

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace stockfeed {
namespace {

namespace json = boost::json;

constexpr size_t kMinSecretBytes = 32;
constexpr size_t kMaxTokenBytes = 8192;

absl::Status Unauthenticated(absl::string_view reason) { return absl::UnauthenticatedError(reason); }

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;
struct FreeDeleter {
  void operator()(char* text) const { free(text); }  // libjwt's strings come from malloc
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

jwt_alg_t LibjwtAlgorithm(TokenVerifier::Algorithm algorithm) {
  switch (algorithm) {
    case TokenVerifier::Algorithm::kHs256:
      return JWT_ALG_HS256;
    case TokenVerifier::Algorithm::kRs256:
      return JWT_ALG_RS256;
    case TokenVerifier::Algorithm::kEs256:
      return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

std::optional<TokenVerifier::Algorithm> AlgorithmNamed(absl::string_view name) {
  if (name == "HS256") return TokenVerifier::Algorithm::kHs256;
  if (name == "RS256") return TokenVerifier::Algorithm::kRs256;
  if (name == "ES256") return TokenVerifier::Algorithm::kEs256;
  return std::nullopt;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// The key type of a PEM file: which algorithm it signs or verifies for.
absl::StatusOr<TokenVerifier::Algorithm> PemAlgorithm(const std::string& pem, bool is_private,
                                                      const std::string& path) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                                         : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no PEM ", is_private ? "private" : "public", " key"));
  }
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key.get()) < 2048) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": RSA keys need at least 2048 bits"));
      }
      return TokenVerifier::Algorithm::kRs256;
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t length = 0;
      if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &length) == 1 &&
          (absl::string_view(group) == "prime256v1" || absl::string_view(group) == "P-256")) {
        return TokenVerifier::Algorithm::kEs256;
      }
      return absl::InvalidArgumentError(absl::StrCat(path, ": EC keys must be on P-256 (ES256)"));
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(path, ": only RSA (RS256) and EC P-256 (ES256) keys"));
  }
}

std::optional<int64_t> NumericDate(const json::object& claims, json::string_view name, bool& malformed) {
  const json::value* value = claims.if_contains(name);
  if (!value) return std::nullopt;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64() && value->as_uint64() <= INT64_MAX) return static_cast<int64_t>(value->as_uint64());
  if (value->is_double() && std::isfinite(value->as_double()) && std::abs(value->as_double()) < 1e15) {
    return static_cast<int64_t>(value->as_double());
  }
  malformed = true;
  return std::nullopt;
}

}  // namespace

bool TokenClaims::AllowsAllSymbols() const {
  return !symbols || std::find(symbols->begin(), symbols->end(), "*") != symbols->end();
}

bool TokenClaims::AllowsSymbol(absl::string_view symbol) const {
  return AllowsAllSymbols() || std::find(symbols->begin(), symbols->end(), symbol) != symbols->end();
}

absl::StatusOr<TokenClaims> CheckClaims(absl::string_view payload_json, const TokenRules& rules, absl::Time now) {
  boost::system::error_code ec;
  json::value parsed = json::parse(json::string_view(payload_json.data(), payload_json.size()), ec);
  if (ec || !parsed.is_object()) return Unauthenticated("malformed token");
  const json::object& claims = parsed.as_object();

  bool malformed = false;
  const std::optional<int64_t> exp = NumericDate(claims, "exp", malformed);
  const std::optional<int64_t> nbf = NumericDate(claims, "nbf", malformed);
  if (malformed) return Unauthenticated("malformed token");
  if (!exp) return Unauthenticated("token has no expiry");
  TokenClaims result;
  result.expires = absl::FromUnixSeconds(*exp);
  if (now >= result.expires + rules.leeway) return Unauthenticated("token expired");
  if (nbf && now + rules.leeway < absl::FromUnixSeconds(*nbf)) return Unauthenticated("token not yet valid");

  if (!rules.issuer.empty()) {
    const json::value* iss = claims.if_contains("iss");
    if (!iss || !iss->is_string() || iss->as_string() != rules.issuer) return Unauthenticated("wrong issuer");
  }
  if (!rules.audience.empty()) {
    const json::value* aud = claims.if_contains("aud");
    bool match = false;
    if (aud && aud->is_string()) match = aud->as_string() == rules.audience;
    if (aud && aud->is_array()) {
      for (const json::value& entry : aud->as_array()) match |= entry.is_string() && entry.as_string() == rules.audience;
    }
    if (!match) return Unauthenticated("wrong audience");
  }
  if (const json::value* sub = claims.if_contains("sub")) {
    if (!sub->is_string() || sub->as_string().size() > 256) return Unauthenticated("malformed token");
    result.subject = std::string(sub->as_string());
  }
  if (const json::value* symbols = claims.if_contains("symbols")) {
    if (!symbols->is_array()) return Unauthenticated("malformed token");
    result.symbols.emplace();
    for (const json::value& symbol : symbols->as_array()) {
      if (!symbol.is_string()) return Unauthenticated("malformed token");
      result.symbols->emplace_back(symbol.as_string());
    }
  }
  return result;
}

KeyFile KeyFile::Parse(absl::string_view spec) {
  spec = absl::StripAsciiWhitespace(spec);
  const size_t equals = spec.find('=');
  const size_t slash = spec.find('/');
  if (equals != absl::string_view::npos && (slash == absl::string_view::npos || equals < slash)) {
    return KeyFile{std::string(spec.substr(0, equals)), std::string(spec.substr(equals + 1))};
  }
  absl::string_view name = spec.substr(slash == absl::string_view::npos ? 0 : spec.rfind('/') + 1);
  name = name.substr(0, name.find('.'));
  return KeyFile{std::string(name), std::string(spec)};
}

absl::StatusOr<TokenVerifier::Key> ReadSecretKey(const KeyFile& file) {
  absl::StatusOr<std::string> secret = ReadFile(file.path);
  if (!secret.ok()) return secret.status();
  while (!secret->empty() && (secret->back() == '\n' || secret->back() == '\r')) secret->pop_back();
  if (secret->size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path, ": an HS256 secret needs at least ", kMinSecretBytes, " bytes"));
  }
  if (absl::StrContains(*secret, "-----BEGIN")) {
    return absl::InvalidArgumentError(absl::StrCat(file.path, " is a PEM key, not an HS256 secret"));
  }
  return TokenVerifier::Key{file.kid, TokenVerifier::Algorithm::kHs256, *std::move(secret)};
}

absl::StatusOr<TokenVerifier::Key> ReadPublicKey(const KeyFile& file) {
  absl::StatusOr<std::string> pem = ReadFile(file.path);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<TokenVerifier::Algorithm> algorithm = PemAlgorithm(*pem, /*is_private=*/false, file.path);
  if (!algorithm.ok()) return algorithm.status();
  return TokenVerifier::Key{file.kid, *algorithm, *std::move(pem)};
}

absl::StatusOr<std::shared_ptr<const TokenVerifier>> TokenVerifier::FromFiles(const std::vector<KeyFile>& hs256_secrets,
                                                                              const std::vector<KeyFile>& public_keys,
                                                                              TokenRules rules) {
  std::vector<Key> keys;
  for (const KeyFile& file : hs256_secrets) {
    absl::StatusOr<Key> key = ReadSecretKey(file);
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  for (const KeyFile& file : public_keys) {
    absl::StatusOr<Key> key = ReadPublicKey(file);
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  return FromKeys(std::move(keys), std::move(rules));
}

absl::string_view BearerToken(absl::string_view authorization) {
  const absl::string_view value = absl::StripAsciiWhitespace(authorization);
  if (value.size() >= 7 && absl::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
    return absl::StripAsciiWhitespace(value.substr(7));
  }
  return absl::string_view();
}

absl::StatusOr<std::shared_ptr<const TokenVerifier>> LoadTokenVerifier(const TokenAuthSettings& settings) {
  std::vector<KeyFile> secrets, public_keys;
  for (const std::string& spec : settings.hs256_secret_files) secrets.push_back(KeyFile::Parse(spec));
  for (const std::string& spec : settings.public_key_files) public_keys.push_back(KeyFile::Parse(spec));
  return TokenVerifier::FromFiles(secrets, public_keys, settings.rules);
}

absl::StatusOr<std::shared_ptr<const TokenVerifier>> TokenVerifier::FromKeys(std::vector<Key> keys, TokenRules rules) {
  if (keys.empty()) return absl::InvalidArgumentError("no token keys");
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = i + 1; j < keys.size(); ++j) {
      if (!keys[i].kid.empty() && keys[i].kid == keys[j].kid) {
        return absl::InvalidArgumentError(absl::StrCat("two token keys have the id '", keys[i].kid, "'"));
      }
    }
  }
  return std::shared_ptr<const TokenVerifier>(new TokenVerifier(std::move(keys), std::move(rules)));
}

absl::StatusOr<TokenClaims> TokenVerifier::Verify(absl::string_view token, absl::Time now) const {
  if (token.empty()) return Unauthenticated("missing token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("malformed token");
  const std::string text(token);
  // Parse only (no key): read which algorithm and key the token names.
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), nullptr, 0) != 0 || raw == nullptr) return Unauthenticated("malformed token");
  JwtPtr unverified(raw);
  const char* alg_name = jwt_get_header(unverified.get(), "alg");
  const char* kid_header = jwt_get_header(unverified.get(), "kid");
  const std::optional<Algorithm> algorithm = AlgorithmNamed(alg_name ? alg_name : "");
  if (!algorithm) return Unauthenticated(alg_name && absl::EqualsIgnoreCase(alg_name, "none") ? "unsigned token"
                                                                                             : "unsupported algorithm");
  const std::string kid = kid_header ? kid_header : "";

  bool candidate = false;
  for (const Key& key : keys_) {
    // A key verifies only its own algorithm: this is what stops an HS256
    // token "signed" with a public key's PEM.
    if (key.algorithm != *algorithm || (!kid.empty() && key.kid != kid)) continue;
    candidate = true;
    jwt_t* verified_raw = nullptr;
    const int failed = jwt_decode(&verified_raw, text.c_str(), reinterpret_cast<const unsigned char*>(key.material.data()),
                                  static_cast<int>(key.material.size()));
    JwtPtr verified(verified_raw);
    if (failed != 0 || !verified || jwt_get_alg(verified.get()) != LibjwtAlgorithm(key.algorithm)) continue;
    std::unique_ptr<char, FreeDeleter> payload(jwt_get_grants_json(verified.get(), nullptr));
    if (!payload) return Unauthenticated("malformed token");
    return CheckClaims(payload.get(), rules_, now);
  }
  return Unauthenticated(candidate ? "invalid signature" : "unknown signing key");
}

absl::StatusOr<std::string> MintToken(const std::string& key_path, const TokenRequest& request, absl::Time now) {
  absl::StatusOr<std::string> material = ReadFile(key_path);
  if (!material.ok()) return material.status();
  TokenVerifier::Algorithm algorithm = TokenVerifier::Algorithm::kHs256;
  if (absl::StrContains(*material, "-----BEGIN")) {
    absl::StatusOr<TokenVerifier::Algorithm> pem = PemAlgorithm(*material, /*is_private=*/true, key_path);
    if (!pem.ok()) return pem.status();
    algorithm = *pem;
  } else {
    absl::StatusOr<TokenVerifier::Key> secret = ReadSecretKey(KeyFile{request.kid, key_path});
    if (!secret.ok()) return secret.status();
    material = secret->material;
  }
  json::object claims;
  if (!request.subject.empty()) claims["sub"] = request.subject;
  claims["iat"] = absl::ToUnixSeconds(now);
  claims["exp"] = absl::ToUnixSeconds(now + request.ttl);
  if (request.not_before) claims["nbf"] = absl::ToUnixSeconds(*request.not_before);
  if (!request.audience.empty()) claims["aud"] = request.audience;
  if (!request.issuer.empty()) claims["iss"] = request.issuer;
  if (request.symbols) {
    json::array symbols;
    for (const std::string& symbol : *request.symbols) symbols.emplace_back(symbol);
    claims["symbols"] = std::move(symbols);
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("libjwt: out of memory");
  JwtPtr jwt(raw);
  const std::string claims_json = json::serialize(claims);
  if (jwt_add_grants_json(jwt.get(), claims_json.c_str()) != 0 ||
      (!request.kid.empty() && jwt_add_header(jwt.get(), "kid", request.kid.c_str()) != 0) ||
      jwt_set_alg(jwt.get(), LibjwtAlgorithm(algorithm), reinterpret_cast<const unsigned char*>(material->data()),
                  static_cast<int>(material->size())) != 0) {
    return absl::InternalError("could not build the token");
  }
  std::unique_ptr<char, FreeDeleter> encoded(jwt_encode_str(jwt.get()));
  if (!encoded) return absl::InvalidArgumentError(absl::StrCat("could not sign with ", key_path));
  return std::string(encoded.get());
}

}  // namespace stockfeed

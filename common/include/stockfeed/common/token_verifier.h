#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace stockfeed {

// What a verified token says about its bearer.
struct TokenClaims {
  std::string subject;    // "sub": logged as the client id ("" when absent)
  absl::Time expires;     // "exp", required
  // "symbols": what the bearer may subscribe to; nullopt (no claim) or a
  // list holding "*" means every symbol.
  std::optional<std::vector<std::string>> symbols;

  bool AllowsAllSymbols() const;
  bool AllowsSymbol(absl::string_view symbol) const;
};

// What a token must say besides being signed by a known key.
struct TokenRules {
  std::string audience;  // "aud" must be or contain it; empty: not checked
  std::string issuer;    // "iss" must equal it; empty: not checked
  absl::Duration leeway = absl::Seconds(5);  // clock skew allowed on exp and nbf
};

// Checks a token's claims (its payload JSON, the signature already verified):
// exp required, nbf, aud, iss, and the shape of sub and symbols. Errors are
// UNAUTHENTICATED with a short reason that is safe to show the client.
absl::StatusOr<TokenClaims> CheckClaims(absl::string_view payload_json, const TokenRules& rules, absl::Time now);

// Where a key comes from: "[kid=]path". Without a kid the file's name
// (without extension) is the key's id.
struct KeyFile {
  std::string kid;
  std::string path;
  static KeyFile Parse(absl::string_view spec);
};

// Verifies JWTs (libjwt) against a set of keys: HS256 secrets and RS256 or
// ES256 (P-256) public keys. The key is chosen by the token's kid, or among
// all keys when it has none, and only ever for the one algorithm it is
// meant for: an HS256 token is tried only against HS256 secrets (never
// against a public key's PEM text, the classic algorithm confusion), and
// "alg": "none" is refused. Immutable: reloading builds a new one.
class TokenVerifier {
 public:
  enum class Algorithm { kHs256, kRs256, kEs256 };
  struct Key {
    std::string kid;
    Algorithm algorithm;
    std::string material;  // the secret's bytes, or the public key's PEM
  };

  // Reads every file; an error names the file and what is wrong with it,
  // never the key material.
  static absl::StatusOr<std::shared_ptr<const TokenVerifier>> FromFiles(const std::vector<KeyFile>& hs256_secrets,
                                                                        const std::vector<KeyFile>& public_keys,
                                                                        TokenRules rules);
  static absl::StatusOr<std::shared_ptr<const TokenVerifier>> FromKeys(std::vector<Key> keys, TokenRules rules);

  // UNAUTHENTICATED with a short, client-safe reason ("expired",
  // "invalid signature", …) unless the token is good now.
  absl::StatusOr<TokenClaims> Verify(absl::string_view token, absl::Time now) const;
  size_t key_count() const { return keys_.size(); }

 private:
  TokenVerifier(std::vector<Key> keys, TokenRules rules) : keys_(std::move(keys)), rules_(std::move(rules)) {}
  std::vector<Key> keys_;
  TokenRules rules_;
};

// The --jwt_* flags as every program that checks tokens takes them.
struct TokenAuthSettings {
  std::vector<std::string> hs256_secret_files;  // "[kid=]path" each
  std::vector<std::string> public_key_files;    // RS256 or ES256 (PEM), "[kid=]path" each
  TokenRules rules;
  bool enabled() const { return !hs256_secret_files.empty() || !public_key_files.empty(); }
};
// Reads every key the settings name (at start and on SIGHUP).
absl::StatusOr<std::shared_ptr<const TokenVerifier>> LoadTokenVerifier(const TokenAuthSettings& settings);

// The token in an "Authorization" value: "Bearer <token>" (scheme in any
// case) gives the token; another scheme gives "" (present but unusable).
absl::string_view BearerToken(absl::string_view authorization);

// Reads an HS256 secret file (trailing newline dropped; at least 32 bytes)
// or a PEM public key file (RSA, or EC on P-256) into a key.
absl::StatusOr<TokenVerifier::Key> ReadSecretKey(const KeyFile& file);
absl::StatusOr<TokenVerifier::Key> ReadPublicKey(const KeyFile& file);

// Mints a token (stockfeed_token, tests): signed with an HS256 secret file or
// an RS256/ES256 private key PEM file (the algorithm follows the key type).
struct TokenRequest {
  std::string subject;
  absl::Duration ttl = absl::Hours(1);
  std::optional<std::vector<std::string>> symbols;
  std::string audience;
  std::string issuer;
  std::string kid;  // empty: none in the header
  std::optional<absl::Time> not_before;
};
absl::StatusOr<std::string> MintToken(const std::string& key_path, const TokenRequest& request, absl::Time now);

}  // namespace stockfeed

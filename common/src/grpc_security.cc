#include "stockfeed/common/grpc_security.h"

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace stockfeed {

struct ChannelSecurity::TokenHolder {
  std::mutex mu;
  std::string header;  // "Bearer <token>", guarded by mu
};

namespace {

absl::StatusOr<std::string> ReadWholeFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::ostringstream content;
  content << in.rdbuf();
  if (!in.good() && !in.eof()) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  return content.str();
}

// A token file holds one JWT; surrounding whitespace (a trailing newline) is dropped.
absl::StatusOr<std::string> ReadToken(absl::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> content = ReadWholeFile(flag, path);
  if (!content.ok()) return content.status();
  const std::string token(absl::StripAsciiWhitespace(*content));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is empty"));
  for (const char c : token) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " does not hold one token"));
    }
  }
  return token;
}

// Adds "authorization: Bearer …" to every call, with the token current at
// the time of the call.
class BearerTokenPlugin final : public grpc::MetadataCredentialsPlugin {
 public:
  explicit BearerTokenPlugin(std::shared_ptr<ChannelSecurity::TokenHolder> token) : token_(std::move(token)) {}
  bool IsBlocking() const override { return false; }
  const char* GetType() const override { return "stockfeed.bearer"; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    std::lock_guard lock(token_->mu);
    metadata->emplace("authorization", token_->header);
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<ChannelSecurity::TokenHolder> token_;
};

}  // namespace

absl::StatusOr<std::string> ReadPemFile(absl::string_view flag, const std::string& path) {
  absl::StatusOr<std::string> content = ReadWholeFile(flag, path);
  if (!content.ok()) return content.status();
  if (!absl::StrContains(*content, "-----BEGIN ")) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is not a PEM file"));
  }
  return content;
}

absl::StatusOr<std::shared_ptr<ChannelSecurity>> ChannelSecurity::Load(const ClientTransportSettings& settings,
                                                                       absl::string_view flag_prefix) {
  const std::string ca_flag = absl::StrCat(flag_prefix, "tls_ca_file");
  const std::string cert_flag = absl::StrCat(flag_prefix, "tls_cert_file");
  const std::string key_flag = absl::StrCat(flag_prefix, "tls_key_file");
  const std::string token_flag = absl::StrCat(flag_prefix, "token_file");
  if (settings.cert_file.empty() != settings.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_flag, " and ", key_flag, " go together"));
  }
  if (!settings.tls() && !settings.cert_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_flag, " needs ", ca_flag, " (a client certificate is TLS)"));
  }
  if (!settings.tls() && !settings.token_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(token_flag, " needs ", ca_flag, ": a bearer token is only sent over TLS"));
  }
  auto security = std::shared_ptr<ChannelSecurity>(new ChannelSecurity());
  security->settings_ = settings;
  security->flag_prefix_ = std::string(flag_prefix);
  if (!settings.tls()) {
    security->credentials_ = grpc::InsecureChannelCredentials();
    return security;
  }
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> ca = ReadPemFile(ca_flag, settings.ca_file);
  if (!ca.ok()) return ca.status();
  options.pem_root_certs = *std::move(ca);
  if (!settings.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPemFile(cert_flag, settings.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile(key_flag, settings.key_file);
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  security->credentials_ = grpc::SslCredentials(options);
  if (!settings.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadToken(token_flag, settings.token_file);
    if (!token.ok()) return token.status();
    security->token_ = std::make_shared<TokenHolder>();
    security->token_->header = absl::StrCat("Bearer ", *token);
    security->credentials_ = grpc::CompositeChannelCredentials(
        security->credentials_,
        grpc::MetadataCredentialsFromPlugin(std::make_unique<BearerTokenPlugin>(security->token_)));
  }
  return security;
}

absl::Status ChannelSecurity::ReloadToken() {
  if (token_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::string> token = ReadToken(absl::StrCat(flag_prefix_, "token_file"), settings_.token_file);
  if (!token.ok()) return token.status();
  std::lock_guard lock(token_->mu);
  token_->header = absl::StrCat("Bearer ", *token);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTransportSettings& settings) {
  if (!settings.tls()) {
    if (!settings.client_ca_file.empty()) {
      return absl::InvalidArgumentError("--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
    }
    return grpc::InsecureServerCredentials();
  }
  if (settings.cert_file.empty() || settings.key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  absl::StatusOr<std::string> cert = ReadPemFile("--tls_cert_file", settings.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile("--tls_key_file", settings.key_file);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  if (!settings.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile("--tls_client_ca_file", settings.client_ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace stockfeed

#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "stockfeed/common/transport_settings.h"

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace stockfeed {

// The files a client's channel is built from, read once (the token again on
// Reload). One object serves every channel the program makes.
class ChannelSecurity {
 public:
  // `flag_prefix` names the flags in errors: "--upstream_" or "--".
  static absl::StatusOr<std::shared_ptr<ChannelSecurity>> Load(const ClientTransportSettings& settings,
                                                               absl::string_view flag_prefix);

  std::shared_ptr<grpc::ChannelCredentials> credentials() const { return credentials_; }
  const std::string& server_name() const { return settings_.server_name; }
  bool tls() const { return settings_.tls(); }
  bool has_token() const { return !settings_.token_file.empty(); }

  // Re-reads the token file (SIGHUP); on error the previous token stays.
  // Calls started afterwards carry the new token.
  absl::Status ReloadToken();

  struct TokenHolder;

 private:
  ChannelSecurity() = default;
  ClientTransportSettings settings_;
  std::string flag_prefix_;
  std::shared_ptr<TokenHolder> token_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTransportSettings& settings);

// Reads a PEM file (certificate, key, CA bundle); the error names the flag
// and the file, never its content.
absl::StatusOr<std::string> ReadPemFile(absl::string_view flag, const std::string& path);

}  // namespace stockfeed

// stockfeed_token: mints a JWT for the gateway and price_service, for
// operators and tests (docs/security.md).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "stockfeed/common/cli.h"
#include "stockfeed/common/symbols.h"
#include "stockfeed/common/token_verifier.h"

ABSL_FLAG(std::string, key, "",
          "signing key file: an HS256 secret (32+ bytes) or a PEM private key (RSA → RS256, EC P-256 → ES256)");
ABSL_FLAG(std::string, kid, "", "key id to put in the header (pick the key on the verifying side)");
ABSL_FLAG(std::string, sub, "", "subject: who the token is for (logged as the client id)");
ABSL_FLAG(std::string, symbols, "", "comma-separated symbols the bearer may subscribe to (* = all; empty = no claim)");
ABSL_FLAG(absl::Duration, ttl, absl::Hours(1), "lifetime (exp = now + ttl; negative makes an expired token)");
ABSL_FLAG(absl::Duration, not_before, absl::ZeroDuration(), "nbf = now + this (0 = no nbf claim)");
ABSL_FLAG(std::string, aud, "", "audience claim");
ABSL_FLAG(std::string, iss, "", "issuer claim");

int main(int argc, char** argv) {
  constexpr char kUsage[] =
      "Mints a stockfeed access token (JWT) and prints it.\n"
      "  stockfeed_token --key=secret.key --sub=alice --symbols=AAPL,MSFT --ttl=1h";
  absl::SetProgramUsageMessage(kUsage);
  if (absl::Status s = stockfeed::PrepareCommandLine(argc, argv, "stockfeed_token", kUsage); !s.ok()) {
    std::cerr << "stockfeed_token: " << s.message() << "\n";
    return EXIT_FAILURE;
  }
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1 || absl::GetFlag(FLAGS_key).empty()) {
    std::cerr << "stockfeed_token: --key is required (see --help)\n";
    return EXIT_FAILURE;
  }
  stockfeed::TokenRequest request;
  request.subject = absl::GetFlag(FLAGS_sub);
  request.ttl = absl::GetFlag(FLAGS_ttl);
  request.audience = absl::GetFlag(FLAGS_aud);
  request.issuer = absl::GetFlag(FLAGS_iss);
  request.kid = absl::GetFlag(FLAGS_kid);
  const absl::Time now = absl::Now();
  if (absl::GetFlag(FLAGS_not_before) != absl::ZeroDuration()) request.not_before = now + absl::GetFlag(FLAGS_not_before);
  if (!absl::GetFlag(FLAGS_symbols).empty()) request.symbols = stockfeed::SplitNameList(absl::GetFlag(FLAGS_symbols));

  absl::StatusOr<std::string> token = stockfeed::MintToken(absl::GetFlag(FLAGS_key), request, now);
  if (!token.ok()) {
    std::cerr << "stockfeed_token: " << token.status().message() << "\n";
    return EXIT_FAILURE;
  }
  std::cout << *token << "\n";
  return EXIT_SUCCESS;
}

#include "grpc/rpc_token_check.h"

#include <string>

#include "absl/time/clock.h"
#include "core/service_config.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::price_service {
namespace {

absl::string_view View(const grpc::string_ref& ref) { return absl::string_view(ref.data(), ref.size()); }

// Auth context properties the check leaves for the handlers.
constexpr char kSubject[] = "stockfeed.sub";
constexpr char kSymbolsClaimed[] = "stockfeed.symbols_claimed";
constexpr char kSymbol[] = "stockfeed.symbol";

}  // namespace

grpc::Status RpcTokenCheck::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                                    OutputMetadata* consumed, OutputMetadata*) {
  const auto path = auth_metadata.find(":path");
  const absl::string_view method = path != auth_metadata.end() ? View(path->second) : absl::string_view();
  if (path != auth_metadata.end() && !RpcNeedsToken(method)) return grpc::Status::OK;
  const auto authorization = auth_metadata.find("authorization");
  absl::StatusOr<TokenClaims> claims =
      authorization == auth_metadata.end()
          ? absl::UnauthenticatedError("missing token")
          : verifier_.load()->Verify(BearerToken(View(authorization->second)), absl::Now());
  if (!claims.ok()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    // The reason is short and client-safe (TokenVerifier); no token in the log.
    spdlog::debug("rpc {} refused: {}", method, claims.status().message());
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(claims.status().message()));
  }
  // The handlers never see the token itself.
  consumed->insert(std::make_pair(std::string(authorization->first.data(), authorization->first.size()),
                                  std::string(authorization->second.data(), authorization->second.size())));
  context->AddProperty(kSubject, claims->subject);
  if (claims->symbols) {
    context->AddProperty(kSymbolsClaimed, "1");
    for (const std::string& symbol : *claims->symbols) context->AddProperty(kSymbol, symbol);
  }
  return grpc::Status::OK;
}

std::optional<std::vector<std::string>> TokenSymbols(const grpc::AuthContext& context) {
  if (context.FindPropertyValues(kSymbolsClaimed).empty()) return std::nullopt;
  std::vector<std::string> symbols;
  for (const grpc::string_ref& symbol : context.FindPropertyValues(kSymbol)) symbols.emplace_back(View(symbol));
  return symbols;
}

}  // namespace stockfeed::price_service

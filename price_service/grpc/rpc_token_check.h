#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "grpcpp/security/auth_metadata_processor.h"
#include "stockfeed/common/token_verifier.h"

namespace stockfeed::price_service {

// The token check of every RPC, run by gRPC before any handler: the call's
// "authorization: Bearer <token>" must verify (the same verifier and rules
// as the gateway), else the call ends UNAUTHENTICATED with a short reason.
// The health service and reflection pass without one (RpcNeedsToken).
// Attached to the TLS server credentials; the verifier can be swapped
// (SIGHUP) while calls run.
class RpcTokenCheck final : public grpc::AuthMetadataProcessor {
 public:
  explicit RpcTokenCheck(std::shared_ptr<const TokenVerifier> verifier) : verifier_(std::move(verifier)) {}

  void SetVerifier(std::shared_ptr<const TokenVerifier> verifier) { verifier_.store(std::move(verifier)); }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

  // Verification is CPU work only: run it inline, not on gRPC's thread pool.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context, OutputMetadata* consumed,
                       OutputMetadata* response) override;

 private:
  std::atomic<std::shared_ptr<const TokenVerifier>> verifier_;
  std::atomic<uint64_t> rejected_{0};
};

// The `symbols` claim of the call's token as the check recorded it; nullopt:
// every symbol (no claim, or token auth off).
std::optional<std::vector<std::string>> TokenSymbols(const grpc::AuthContext& context);

}  // namespace stockfeed::price_service

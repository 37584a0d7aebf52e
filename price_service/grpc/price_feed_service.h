#pragma once

#include <atomic>
#include <cstddef>

#include "core/price_hub.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace stockfeed::price_service {

// The gRPC face of the hub: each Subscribe call becomes a write reactor that
// reads from the hub at its own pace, with one write in flight at a time.
class PriceFeedService final : public v1::PriceFeed::CallbackService {
 public:
  PriceFeedService(PriceHub& hub, size_t stream_batch);

  grpc::ServerWriteReactor<v1::PriceUpdate>* Subscribe(grpc::CallbackServerContext* context,
                                                       const v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* GetLatest(grpc::CallbackServerContext* context,
                                      const v1::GetLatestRequest* request,
                                      v1::GetLatestResponse* response) override;
  grpc::ServerUnaryReactor* ListSymbols(grpc::CallbackServerContext* context,
                                        const v1::ListSymbolsRequest* request,
                                        v1::ListSymbolsResponse* response) override;

  size_t active_subscribers() const { return active_subscribers_.load(); }

 private:
  class SubscribeReactor;

  PriceHub& hub_;
  const size_t stream_batch_;
  std::atomic<size_t> active_subscribers_{0};
};

}  // namespace stockfeed::price_service

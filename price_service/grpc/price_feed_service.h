#pragma once

#include <atomic>
#include <cstddef>

#include "core/bars.h"
#include "core/price_hub.h"
#include "stockfeed/common/metrics.h"
#include "sources/bar_source.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace stockfeed::price_service {

// The gRPC face of the hub: each Subscribe call becomes a write reactor that
// reads from the hub at its own pace, with one write in flight at a time.
// GetBars is answered by `bars` (memory or PostgreSQL) without blocking.
class PriceFeedService final : public v1::PriceFeed::CallbackService {
 public:
  // Registers its metrics (subscribers, updates sent, drops, stream lag) in
  // `registry`. A filter naming more than `max_filter_names` symbols and
  // sources is refused with INVALID_ARGUMENT. GetBars asks `bars`.
  PriceFeedService(PriceHub& hub, size_t stream_batch, size_t max_filter_names, metrics::Registry& registry,
                   BarSource& bars, SessionStart session_start);

  // False while the source cannot deliver (database down): GetLatest then
  // answers UNAVAILABLE rather than possibly stale prices as if current.
  void SetServing(bool serving) { serving_.store(serving); }

  grpc::ServerWriteReactor<v1::PriceUpdate>* Subscribe(grpc::CallbackServerContext* context,
                                                       const v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* GetLatest(grpc::CallbackServerContext* context,
                                      const v1::GetLatestRequest* request,
                                      v1::GetLatestResponse* response) override;
  grpc::ServerUnaryReactor* ListSymbols(grpc::CallbackServerContext* context,
                                        const v1::ListSymbolsRequest* request,
                                        v1::ListSymbolsResponse* response) override;

  grpc::ServerUnaryReactor* GetBars(grpc::CallbackServerContext* context, const v1::GetBarsRequest* request,
                                    v1::GetBarsResponse* response) override;

  size_t active_subscribers() const { return active_subscribers_.load(); }

 private:
  class SubscribeReactor;
  void CountBatch(const std::vector<v1::PriceUpdate>& batch, const FeedPosition& position);

  PriceHub& hub_;
  const size_t stream_batch_;
  const size_t max_filter_names_;
  BarSource& bars_;
  const SessionStart session_start_;
  std::atomic<size_t> active_subscribers_{0};
  std::atomic<bool> serving_{true};
  // Counted per batch a stream takes from the hub, not per update.
  metrics::Counter& updates_sent_;
  metrics::Counter& drops_announced_;
  metrics::Histogram& stream_lag_;
};

}  // namespace stockfeed::price_service

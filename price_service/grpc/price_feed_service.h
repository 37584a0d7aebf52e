#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "core/bars.h"
#include "core/price_hub.h"
#include "grpc/stream_pacer.h"
#include "stockfeed/common/metrics.h"
#include "sources/bar_source.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace stockfeed::price_service {

// The typed callback API, except for the two streams: they write bytes the
// hub encoded once for every subscriber (raw ByteBuffer messages; the wire
// format is the .proto's).
using PriceFeedServiceBase = v1::PriceFeed::WithRawCallbackMethod_Subscribe<
    v1::PriceFeed::WithRawCallbackMethod_SubscribeBatched<v1::PriceFeed::WithCallbackMethod_GetLatest<
        v1::PriceFeed::WithCallbackMethod_ListSymbols<v1::PriceFeed::WithCallbackMethod_GetBars<
            v1::PriceFeed::Service>>>>>;

// The gRPC face of the hub: each Subscribe or SubscribeBatched call becomes
// a write reactor that reads from the hub at its own pace, with one write in
// flight at a time; SubscribeBatched streams write together on a tick at
// most every `stream_pacing` (zero: whenever something is ready). GetBars is
// answered by `bars` (memory or PostgreSQL) without blocking.
class PriceFeedService final : public PriceFeedServiceBase {
 public:
  // Registers its metrics (subscribers, updates sent, drops, stream lag) in
  // `registry`. A filter naming more than `max_filter_names` symbols and
  // sources is refused with INVALID_ARGUMENT. GetBars asks `bars`.
  PriceFeedService(PriceHub& hub, size_t stream_batch, absl::Duration stream_pacing, size_t max_filter_names,
                   metrics::Registry& registry, BarSource& bars, SessionStart session_start);

  // False while the source cannot deliver (database down): GetLatest then
  // answers UNAVAILABLE rather than possibly stale prices as if current.
  void SetServing(bool serving) { serving_.store(serving); }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* SubscribeBatched(grpc::CallbackServerContext* context,
                                                               const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* GetLatest(grpc::CallbackServerContext* context,
                                      const v1::GetLatestRequest* request,
                                      v1::GetLatestResponse* response) override;
  grpc::ServerUnaryReactor* ListSymbols(grpc::CallbackServerContext* context,
                                        const v1::ListSymbolsRequest* request,
                                        v1::ListSymbolsResponse* response) override;

  grpc::ServerUnaryReactor* GetBars(grpc::CallbackServerContext* context, const v1::GetBarsRequest* request,
                                    v1::GetBarsResponse* response) override;

  size_t active_subscribers() const { return active_subscribers_.load(); }

  // Once the server's Wait() has returned (every stream is done): stops the
  // pacer's thread, so that nothing it did can overlap the grpc::Server's
  // destruction (a join orders it; gRPC's own completion signalling is
  // invisible to ThreadSanitizer).
  void StopPacing() { pacer_.reset(); }

 private:
  class FeedReactor;
  class UpdateReactor;
  class BatchReactor;
  // Validates a stream's request; on success starts the reactor `Reactor`.
  template <typename Reactor>
  grpc::ServerWriteReactor<grpc::ByteBuffer>* StartStream(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer& request, const char* method);
  void CountRead(size_t updates, uint64_t dropped, const FeedPosition& position);

  PriceHub& hub_;
  const size_t stream_batch_;
  std::unique_ptr<StreamPacer> pacer_;  // null without pacing
  const size_t max_filter_names_;
  BarSource& bars_;
  const SessionStart session_start_;
  std::atomic<size_t> active_subscribers_{0};
  std::atomic<bool> serving_{true};
  // Counted per read a stream makes from the hub, not per update.
  metrics::Counter& updates_sent_;
  metrics::Counter& drops_announced_;
  metrics::Histogram& stream_lag_;
};

}  // namespace stockfeed::price_service

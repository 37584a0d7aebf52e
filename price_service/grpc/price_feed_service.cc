#include "price_feed_service.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/service_config.h"
#include "core/tsan_visible_lock.h"
#include "core/update_batch.h"
#include "core/write_pacing.h"
#include "grpc/rpc_token_check.h"
#include "spdlog/spdlog.h"
#include "stockfeed/common/symbols.h"

namespace stockfeed::price_service {
namespace {

template <typename Request>
absl::Status ValidateFilter(const Request& request, size_t max_names) {
  const size_t names = static_cast<size_t>(request.symbols_size()) + static_cast<size_t>(request.sources_size());
  if (names > max_names) {
    return absl::InvalidArgumentError(absl::StrCat("the filter names ", names, " symbols and sources; the limit is ",
                                                   max_names, " (--max_filter_names)"));
  }
  for (const std::string& symbol : request.symbols()) {
    if (absl::Status s = ValidateSymbol(symbol); !s.ok()) return s;
  }
  for (const std::string& source : request.sources()) {
    if (absl::Status s = ValidateSource(source); !s.ok()) return s;
  }
  return absl::OkStatus();
}

template <typename Request>
SymbolFilter FilterOf(const Request& request) {
  return SymbolFilter({request.symbols().begin(), request.symbols().end()},
                      {request.sources().begin(), request.sources().end()});
}

// Narrows a request's symbols to its token's symbols claim (PERMISSION_DENIED
// past it); the request is unchanged without a claim.
template <typename Request>
absl::Status ApplyTokenScope(const grpc::CallbackServerContext& context, Request& request) {
  std::optional<std::vector<std::string>> allowed = TokenSymbols(*context.auth_context());
  if (!allowed) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> symbols =
      ScopeSymbols(allowed, {request.symbols().begin(), request.symbols().end()});
  if (!symbols.ok()) return symbols.status();
  request.clear_symbols();
  for (std::string& symbol : *symbols) request.add_symbols(std::move(symbol));
  return absl::OkStatus();
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::string Describe(const SymbolFilter& filter) {
  // A log line stays short however long the filter is.
  constexpr size_t kNamesShown = 10;
  const auto list = [](const auto& set) {
    if (set.empty()) return std::string("all");
    if (set.size() <= kNamesShown) return absl::StrJoin(set, ",");
    auto end = set.begin();
    std::advance(end, kNamesShown);
    return absl::StrCat(absl::StrJoin(set.begin(), end, ","), ",… (", set.size(), " in all)");
  };
  return absl::StrCat("symbols=", list(filter.symbols()), " sources=", list(filter.sources()));
}

grpc::ByteBuffer BufferOf(std::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

// A stream that finishes at once with `status`.
class Rejected final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit Rejected(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

// One subscriber's stream; Subscribe and SubscribeBatched differ in how they
// put the updates into messages (NextMessageLocked) and in pacing: Subscribe
// writes whenever something is ready (woken by every publish), SubscribeBatched
// with --stream_pacing on the pacer's ticks (core/write_pacing.h decides).
// Both write wire bytes: the hub encoded each update once for every stream.
//
// Lifetime: created by StartStream, started by Begin, deleted in OnDone.
// Finish is called exactly once: when the client cancels, a write fails, or
// the server shuts down (which cancels every call).
class PriceFeedService::FeedReactor : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                                      private PriceHub::Listener,
                                      private StreamPacer::Stream {
 public:
  // Paced by `pacer` unless it is null.
  FeedReactor(PriceFeedService& service, const v1::SubscribeRequest& request, std::string peer, const char* method,
              StreamPacer* pacer)
      : service_(service), filter_(FilterOf(request)), peer_(std::move(peer)), pacer_(pacer) {
    const size_t count = ++service_.active_subscribers_;
    spdlog::info("subscriber connected: peer={} method={} {} snapshot={} after_sequence={} subscribers={}", peer_,
                 method, Describe(filter_), request.snapshot(), request.after_sequence(), count);
    PriceHub::Subscription subscription = service_.hub_.Subscribe(request, filter_);
    initial_ = std::move(subscription.initial);
    position_ = subscription.position;
  }

  // Separate from the constructor, which must not call NextMessageLocked.
  void Begin() {
    // Headers go out at once so the client knows the stream is up even
    // before the first price.
    StartSendInitialMetadata();
    // Listen before the first read so no publish between the two is missed:
    // to the pacer's ticks when paced, else to every publish.
    if (pacer_ != nullptr) {
      pacer_->Add(this);
    } else {
      service_.hub_.AddListener(this);
    }
    WriteNext(service_.hub_.newest(), Wake::kReady);
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    {
      VisibleLock lock(mu_);
      write_in_flight_ = false;
      finish = (!ok || cancelled_) && !finished_;
      finished_ = finished_ || finish;
    }
    if (finish) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "subscriber went away"));
    } else {
      WriteNext(std::nullopt, pacer_ != nullptr ? Wake::kAfterPacedWrite : Wake::kReady);
    }
  }

  void OnCancel() override {
    bool finish = false;
    {
      VisibleLock lock(mu_);
      cancelled_ = true;
      finish = !write_in_flight_ && !finished_;
      finished_ = finished_ || finish;
    }
    // With a write in flight, OnWriteDone(false) follows and finishes.
    if (finish) Finish(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    if (pacer_ != nullptr) {
      pacer_->Remove(this);
    } else {
      service_.hub_.RemoveListener(this);
    }
    const size_t count = --service_.active_subscribers_;
    spdlog::info("subscriber disconnected: peer={} sent={} subscribers={}", peer_, sent_, count);
    delete this;
  }

 protected:
  // Sets `message` (and `options`) to the stream's next message; false when
  // there is nothing to send yet.
  virtual bool NextMessageLocked(grpc::ByteBuffer& message, grpc::WriteOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // Whether messages read from the hub wait to be written.
  virtual bool HasReadMessagesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return false; }

  // Hands `emit` the encodings of up to `max_updates` next updates of this
  // stream, the snapshot first, and returns how many.
  size_t NextUpdatesLocked(size_t max_updates, absl::FunctionRef<void(std::string_view encoded)> emit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (initial_next_ < initial_.size()) {
      const size_t end = std::min(initial_.size(), initial_next_ + max_updates);
      const size_t count = end - initial_next_;
      std::string bytes;
      for (; initial_next_ < end; ++initial_next_) {
        initial_[initial_next_].SerializeToString(&bytes);
        emit(bytes);
      }
      if (initial_next_ == initial_.size()) std::vector<v1::PriceUpdate>().swap(initial_);
      sent_ += count;
      return count;
    }
    uint64_t dropped = 0;
    const size_t count = service_.hub_.ReadEncodedAfter(position_, filter_, max_updates,
                                                        [&](std::string_view encoded, uint64_t dropped_before) {
                                                          emit(encoded);
                                                          dropped += dropped_before;
                                                        });
    if (count > 0) service_.CountRead(count, dropped, position_);
    sent_ += count;
    return count;
  }

  PriceFeedService& service_;
  absl::Mutex mu_;

 private:
  void OnPublished(PriceHub::Newest newest) override { WriteNext(newest, Wake::kReady); }
  void OnPacingTick(PriceHub::Newest newest) override { WriteNext(newest, Wake::kReady); }

  enum class Wake {
    kReady,            // a publish, a tick or the start: write whatever is ready
    kAfterPacedWrite,  // at once only with a full batch, else at the next tick
  };

  // Starts the next write unless one is in flight or it waits for a tick.
  // `newest`: what the hub held when this wake-up was sent, if it says;
  // wake-ups from different threads can arrive out of order, so the newest
  // stays the newest. The reactor's lock is not held across StartWrite,
  // which may run reactions inline.
  void WriteNext(std::optional<PriceHub::Newest> newest, Wake wake) {
    grpc::WriteOptions options;
    StreamWrite next = StreamWrite::kNothing;
    {
      VisibleLock lock(mu_);
      if (newest && PriceHub::IsNewer(*newest, newest_)) newest_ = *newest;
      if (write_in_flight_ || finished_ || cancelled_) return;
      // The snapshot and messages already read from the hub go out at once,
      // like a full batch (the read moved position_ past them).
      const uint64_t unread = initial_next_ < initial_.size() || HasReadMessagesLocked()
                                  ? UINT64_MAX
                                  : PriceHub::UnreadAfter(position_, newest_);
      next = wake == Wake::kReady ? WhenReady(unread)
                                  : AfterPacedWrite(unread, BatchLimit(service_.stream_batch_));
      if (next == StreamWrite::kNow) {
        if (!NextMessageLocked(in_flight_, options)) return;
        write_in_flight_ = true;
      }
    }
    if (next == StreamWrite::kNow) {
      StartWrite(&in_flight_, options);
    } else if (next == StreamWrite::kAtTick) {
      pacer_->RequestTick();
    }
  }

  const SymbolFilter filter_;
  const std::string peer_;
  StreamPacer* const pacer_;  // null: woken by every publish (Subscribe, or --stream_pacing=0)
  PriceHub::Newest newest_ ABSL_GUARDED_BY(mu_);  // as the hub or the pacer last said
  std::vector<v1::PriceUpdate> initial_ ABSL_GUARDED_BY(mu_);  // the snapshot, sent first
  size_t initial_next_ ABSL_GUARDED_BY(mu_) = 0;
  FeedPosition position_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer in_flight_ ABSL_GUARDED_BY(mu_);  // untouched until its OnWriteDone
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
};

// Subscribe: one PriceUpdate per message, written as soon as ready.
class PriceFeedService::UpdateReactor final : public FeedReactor {
 public:
  UpdateReactor(PriceFeedService& service, const v1::SubscribeRequest& request, std::string peer, const char* method)
      : FeedReactor(service, request, std::move(peer), method, nullptr) {}

 private:
  bool NextMessageLocked(grpc::ByteBuffer& message, grpc::WriteOptions& options) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (next_ == ready_.size()) {
      ready_.clear();
      next_ = 0;
      NextUpdatesLocked(service_.stream_batch_, [this](std::string_view encoded) {
        ready_.push_back(BufferOf(encoded));
      });
      if (ready_.empty()) return false;
    }
    message.Swap(&ready_[next_++]);
    // Under load a read holds many updates: let gRPC coalesce them into one
    // send instead of one syscall each; the read's last write flushes.
    if (next_ < ready_.size()) options.set_buffer_hint();
    return true;
  }
  bool HasReadMessagesLocked() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return next_ < ready_.size(); }

  std::vector<grpc::ByteBuffer> ready_ ABSL_GUARDED_BY(mu_);  // messages read, not yet written
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
};

// SubscribeBatched: whatever is ready, up to --stream_batch updates, in one
// PriceUpdateBatch made of the updates' encodings one after another; paced.
class PriceFeedService::BatchReactor final : public FeedReactor {
 public:
  BatchReactor(PriceFeedService& service, const v1::SubscribeRequest& request, std::string peer, const char* method)
      : FeedReactor(service, request, std::move(peer), method, service.pacer_.get()) {}

 private:
  bool NextMessageLocked(grpc::ByteBuffer& message, grpc::WriteOptions& /*options*/) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    bytes_.clear();
    NextUpdatesLocked(BatchLimit(service_.stream_batch_),
                      [this](std::string_view encoded) { AppendBatchEntry(encoded, bytes_); });
    if (bytes_.empty()) return false;
    message = BufferOf(bytes_);
    return true;
  }

  std::string bytes_ ABSL_GUARDED_BY(mu_);  // reused from message to message
};

PriceFeedService::PriceFeedService(PriceHub& hub, size_t stream_batch, absl::Duration stream_pacing,
                                   size_t max_filter_names, metrics::Registry& registry, BarSource& bars,
                                   SessionStart session_start)
    : hub_(hub),
      stream_batch_(stream_batch),
      pacer_(stream_pacing > absl::ZeroDuration()
                 ? std::make_unique<StreamPacer>(hub, stream_pacing, BatchLimit(stream_batch))
                 : nullptr),
      max_filter_names_(max_filter_names),
      bars_(bars),
      session_start_(std::move(session_start)),
      updates_sent_(registry.AddCounter("price_service_updates_sent_total", "Updates written to subscriber streams.")),
      drops_announced_(registry.AddCounter(
          "price_service_dropped_updates_announced_total",
          "Updates slow subscribers skipped, as announced to them in dropped_before.")),
      stream_lag_(registry.AddHistogram(
          "price_service_stream_lag_updates",
          "Updates a subscriber stream is behind the hub's newest, each time it takes a batch.",
          metrics::ExponentialBuckets(1, 4, 10))) {
  registry.AddGaugeFunction("price_service_subscribers", "Subscribe and SubscribeBatched streams open now.",
                            [this] { return static_cast<double>(active_subscribers_.load()); });
}

void PriceFeedService::CountRead(size_t updates, uint64_t dropped, const FeedPosition& position) {
  updates_sent_.Add(updates);
  if (dropped > 0) drops_announced_.Add(dropped);
  const uint64_t newest = hub_.last_sequence();
  stream_lag_.Observe(static_cast<double>(newest > position.after_sequence ? newest - position.after_sequence : 0));
}

template <typename Reactor>
grpc::ServerWriteReactor<grpc::ByteBuffer>* PriceFeedService::StartStream(grpc::CallbackServerContext* context,
                                                                          const grpc::ByteBuffer& request,
                                                                          const char* method) {
  grpc::ByteBuffer bytes(request);  // shares the slices; parsing consumes them
  v1::SubscribeRequest parsed;
  if (!grpc::SerializationTraits<v1::SubscribeRequest>::Deserialize(&bytes, &parsed).ok()) {
    return new Rejected(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the request is not a SubscribeRequest"));
  }
  if (absl::Status status = ValidateFilter(parsed, max_filter_names_); !status.ok()) {
    return new Rejected(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(status.message())));
  }
  if (absl::Status status = ApplyTokenScope(*context, parsed); !status.ok()) return new Rejected(ToGrpc(status));
  auto* reactor = new Reactor(*this, parsed, context->peer(), method);
  reactor->Begin();
  return reactor;
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* PriceFeedService::Subscribe(grpc::CallbackServerContext* context,
                                                                        const grpc::ByteBuffer* request) {
  return StartStream<UpdateReactor>(context, *request, "Subscribe");
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* PriceFeedService::SubscribeBatched(grpc::CallbackServerContext* context,
                                                                               const grpc::ByteBuffer* request) {
  return StartStream<BatchReactor>(context, *request, "SubscribeBatched");
}

grpc::ServerUnaryReactor* PriceFeedService::GetLatest(grpc::CallbackServerContext* context,
                                                      const v1::GetLatestRequest* request,
                                                      v1::GetLatestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status status = ValidateFilter(*request, max_filter_names_); !status.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(status.message())));
    return reactor;
  }
  v1::GetLatestRequest scoped = *request;
  if (absl::Status status = ApplyTokenScope(*context, scoped); !status.ok()) {
    reactor->Finish(ToGrpc(status));
    return reactor;
  }
  if (!serving_.load()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "the price source is unavailable (database down); latest prices may be stale"));
    return reactor;
  }
  for (v1::PriceUpdate& update : hub_.Latest(FilterOf(scoped))) {
    *response->add_updates() = std::move(update);
  }
  response->set_epoch(hub_.epoch());
  response->set_last_sequence(hub_.last_sequence());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* PriceFeedService::ListSymbols(grpc::CallbackServerContext* context,
                                                        const v1::ListSymbolsRequest* /*request*/,
                                                        v1::ListSymbolsResponse* response) {
  for (std::string& symbol : hub_.Symbols()) response->add_symbols(std::move(symbol));
  for (std::string& source : hub_.Sources()) response->add_sources(std::move(source));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* PriceFeedService::GetBars(grpc::CallbackServerContext* context,
                                                    const v1::GetBarsRequest* request,
                                                    v1::GetBarsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time now = absl::Now();
  absl::StatusOr<BarQuery> query = MakeBarQuery(*request, now);
  if (!query.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(query.status().message())));
    return reactor;
  }
  if (absl::StatusOr<std::vector<std::string>> allowed =
          ScopeSymbols(TokenSymbols(*context->auth_context()), {request->symbol()});
      !allowed.ok()) {
    reactor->Finish(ToGrpc(allowed.status()));
    return reactor;
  }
  const absl::Time session_start = CurrentSessionStart(session_start_, now);
  response->set_session_start_us(absl::ToUnixMicros(session_start));
  response->set_session_time_zone(session_start_.zone_name);
  // The reactor and response stay valid until Finish; `done` runs exactly once.
  bars_.GetBars(*query, session_start, [reactor, response](absl::StatusOr<BarSource::Answer> answer) {
    if (!answer.ok()) {
      reactor->Finish(ToGrpc(answer.status()));
      return;
    }
    response->mutable_bars()->Reserve(static_cast<int>(answer->bars.size()));
    for (const Bar& bar : answer->bars) {
      v1::Bar* out = response->add_bars();
      out->set_start_time_us(bar.start_us);
      out->set_open(bar.open);
      out->set_high(bar.high);
      out->set_low(bar.low);
      out->set_close(bar.close);
      out->set_update_count(bar.updates);
    }
    response->set_session_open(answer->session_open.value_or(0));
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace stockfeed::price_service

#include "tail/tail_client.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "stockfeed/common/backoff.h"
#include "stockfeed/common/grpc_security.h"
#include "stockfeed/common/stop_signals.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "tail/price_format.h"
#include "tail/stream_position.h"

namespace stockfeed::tail {
namespace {

// The table is redrawn at most this often, however fast prices arrive.
constexpr absl::Duration kTableRedrawInterval = absl::Milliseconds(250);

void Warn(absl::string_view message) {
  std::fprintf(stderr, "stockfeed_tail: %.*s\n", static_cast<int>(message.size()), message.data());
}

// The one place a channel to price_service is made; the credentials come
// from the transport settings (common/grpc_security).
std::shared_ptr<grpc::Channel> CreateFeedChannel(const TailConfig& config, const ChannelSecurity& security) {
  grpc::ChannelArguments args;
  // Notice a dead service within seconds even when no prices flow, and let
  // our own backoff, not gRPC's (up to 2 minutes), pace reconnects.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(config.backoff_initial)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(absl::ToInt64Milliseconds(config.backoff_max)));
  if (security.tls() && !security.server_name().empty()) args.SetSslTargetNameOverride(security.server_name());
  return grpc::CreateCustomChannel(config.target.ToString(), security.credentials(), args);
}

std::string Unreachable(const TailConfig& config, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::StrCat("price service at ", config.target.ToString(), " unreachable: no answer within ",
                        absl::FormatDuration(config.connect_timeout));
  }
  return absl::StrCat("price service at ", config.target.ToString(), " unreachable: ",
                      status.error_message(), " (gRPC code ", static_cast<int>(status.error_code()), ")");
}

// Cancels the call in flight when SIGINT/SIGTERM arrives; shared with the
// signal thread, which outlives RunTail.
class StopState {
 public:
  void Stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (call_ != nullptr) call_->TryCancel();
    wake_.notify_all();
  }
  // False if already stopping: do not start the call.
  bool Begin(grpc::ClientContext* call) {
    std::lock_guard lock(mu_);
    call_ = call;
    return !stopping_;
  }
  void End() {
    std::lock_guard lock(mu_);
    call_ = nullptr;
  }
  bool stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }
  // False if stopped while sleeping.
  bool SleepUnlessStopped(absl::Duration delay) {
    std::unique_lock lock(mu_);
    return !wake_.wait_for(lock, absl::ToChronoNanoseconds(delay), [this] { return stopping_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  grpc::ClientContext* call_ = nullptr;
};

// Prices to stdout in the chosen format.
class PriceOutput {
 public:
  explicit PriceOutput(OutputFormat format) : format_(format) {
    if (format_ == OutputFormat::kCsv) Line(CsvHeader());
  }

  void Price(const v1::PriceUpdate& update) {
    switch (format_) {
      case OutputFormat::kJson:
        Line(FormatJsonLine(update));
        break;
      case OutputFormat::kCsv:
        Line(FormatCsvLine(update));
        break;
      case OutputFormat::kTable:
        table_.Add(update);
        if (absl::Now() - last_draw_ >= kTableRedrawInterval) Draw();
        break;
    }
  }
  void Finish() {
    if (format_ == OutputFormat::kTable) Draw();
  }

 private:
  static void Line(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  void Draw() {
    const std::string text = ::isatty(STDOUT_FILENO) ? table_.RenderForTerminal() : table_.Render();
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    last_draw_ = absl::Now();
  }

  OutputFormat format_;
  LatestTable table_;
  absl::Time last_draw_ = absl::InfinitePast();
};

template <typename Request>
void SetFilter(const TailConfig& config, Request& request) {
  for (const std::string& symbol : config.symbols) request.add_symbols(symbol);
  for (const std::string& source : config.sources) request.add_sources(source);
}

absl::Status RunLatest(const TailConfig& config, v1::PriceFeed::Stub& stub) {
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(absl::ToChronoTime(absl::Now() + config.connect_timeout));
  v1::GetLatestRequest request;
  SetFilter(config, request);
  v1::GetLatestResponse response;
  if (grpc::Status s = stub.GetLatest(&context, request, &response); !s.ok()) {
    return absl::UnavailableError(Unreachable(config, s));
  }
  PriceOutput output(config.format);
  for (const v1::PriceUpdate& update : response.updates()) output.Price(update);
  output.Finish();
  return absl::OkStatus();
}

absl::Status RunSymbols(const TailConfig& config, v1::PriceFeed::Stub& stub) {
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(absl::ToChronoTime(absl::Now() + config.connect_timeout));
  v1::ListSymbolsResponse response;
  if (grpc::Status s = stub.ListSymbols(&context, v1::ListSymbolsRequest(), &response); !s.ok()) {
    return absl::UnavailableError(Unreachable(config, s));
  }
  std::string text;
  switch (config.format) {
    case OutputFormat::kJson:
      text = FormatSymbolsJson(response) + "\n";
      break;
    case OutputFormat::kCsv:
      text = "kind,name\n";
      for (const std::string& symbol : response.symbols()) absl::StrAppend(&text, "symbol,", symbol, "\n");
      for (const std::string& source : response.sources()) absl::StrAppend(&text, "source,", source, "\n");
      break;
    case OutputFormat::kTable:
      text = absl::StrCat("symbols: ", absl::StrJoin(response.symbols(), " "), "\nsources: ",
                          absl::StrJoin(response.sources(), " "), "\n");
      break;
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return absl::OkStatus();
}

absl::Status RunStream(const TailConfig& config, grpc::Channel& channel, v1::PriceFeed::Stub& stub,
                       StopState& stop) {
  StreamPosition start{config.epoch, config.from_seq};
  if (!config.state_file.empty()) {
    absl::StatusOr<StreamPosition> saved = LoadStateFile(config.state_file);
    if (!saved.ok()) return saved.status();
    start = *saved;
  }
  PositionTracker tracker(start, config.symbols.empty() && config.sources.empty());
  StreamPosition saved_position = start;
  absl::Time last_save = absl::InfinitePast();
  auto save_position = [&](bool force) -> absl::Status {
    if (config.state_file.empty() || tracker.position() == saved_position) return absl::OkStatus();
    const absl::Time now = absl::Now();
    if (!force && now - last_save < config.state_interval) return absl::OkStatus();
    last_save = now;
    saved_position = tracker.position();
    return SaveStateFile(config.state_file, saved_position);
  };

  if (!channel.WaitForConnected(absl::ToChronoTime(absl::Now() + config.connect_timeout))) {
    return absl::UnavailableError(absl::StrCat("price service at ", config.target.ToString(),
                                               " unreachable: no connection within ",
                                               absl::FormatDuration(config.connect_timeout)));
  }

  std::mt19937_64 rng(std::random_device{}());
  Backoff backoff({.initial = config.backoff_initial, .max = config.backoff_max},
                  [&rng] { return std::uniform_real_distribution<double>(0, 1)(rng); });
  const absl::Time end = config.duration > absl::ZeroDuration() ? absl::Now() + config.duration
                                                                 : absl::InfiniteFuture();
  PriceOutput output(config.format);
  uint64_t printed = 0;
  bool done = false;
  absl::Status status;
  while (!done && status.ok()) {
    grpc::ClientContext context;
    if (end != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(end));
    if (!stop.Begin(&context)) break;
    v1::SubscribeRequest request;
    SetFilter(config, request);
    const StreamPosition& position = tracker.position();
    if (position.empty()) {
      request.set_snapshot(config.snapshot);
    } else {
      request.set_after_sequence(position.sequence);
      request.set_epoch(position.epoch);
    }
    tracker.StartStream();
    std::unique_ptr<grpc::ClientReader<v1::PriceUpdate>> reader = stub.Subscribe(&context, request);
    v1::PriceUpdate update;
    uint64_t received = 0;
    while (!done && reader->Read(&update)) {
      if (received++ == 0) backoff.Reset();
      const std::string previous_epoch = tracker.position().epoch;
      const UpdateVerdict verdict = tracker.Accept(update);
      if (verdict.epoch_changed) {
        Warn(absl::StrCat("epoch changed from '", previous_epoch, "' to '", update.epoch(),
                          "': the service restarted its numbering; position reset"));
      }
      if (verdict.missed > 0) {
        Warn(absl::StrCat("gap: ", verdict.missed, " update(s) before seq ", update.sequence(),
                          " are no longer held by the service"));
      }
      if (!verdict.deliver) continue;
      output.Price(update);
      status = save_position(false);
      done = !status.ok() || (config.count != 0 && ++printed >= config.count);
    }
    if (done) context.TryCancel();
    const grpc::Status finished = reader->Finish();
    stop.End();
    if (done || stop.stopping() || absl::Now() >= end) break;
    const absl::Duration delay = backoff.NextDelay();
    Warn(absl::StrCat(received > 0 ? "stream lost" : "cannot subscribe", " at seq ",
                      tracker.position().sequence, ": ", Unreachable(config, finished), "; reconnecting in ",
                      absl::FormatDuration(delay)));
    if (!stop.SleepUnlessStopped(delay)) break;
  }
  output.Finish();
  if (absl::Status s = save_position(true); status.ok()) status = s;
  return status;
}

}  // namespace

absl::Status RunTail(const TailConfig& config) {
  // Before any thread: only the signal thread ever sees SIGINT/SIGTERM.
  auto signals = std::make_shared<StopSignals>();
  auto stop = std::make_shared<StopState>();
  std::thread([signals, stop] {
    signals->Wait();
    stop->Stop();
  }).detach();

  absl::StatusOr<std::shared_ptr<ChannelSecurity>> security = ChannelSecurity::Load(config.transport, "--");
  if (!security.ok()) return security.status();
  std::shared_ptr<grpc::Channel> channel = CreateFeedChannel(config, **security);
  std::unique_ptr<v1::PriceFeed::Stub> stub = v1::PriceFeed::NewStub(channel);
  switch (config.command) {
    case Command::kLatest:
      return RunLatest(config, *stub);
    case Command::kSymbols:
      return RunSymbols(config, *stub);
    case Command::kStream:
      break;
  }
  return RunStream(config, *channel, *stub, *stop);
}

}  // namespace stockfeed::tail

#include "api_routes.h"

#include <memory>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/api_messages.h"
#include "core/control_message.h"
#include "core/messages.h"
#include "core/sse.h"
#include "shard.h"
#include "spdlog/spdlog.h"
#include "sse_session.h"
#include "stockfeed/common/logging.h"

namespace stockfeed::ws_gateway {
namespace {

namespace http = boost::beast::http;

constexpr absl::string_view kStreamPath = "/api/v1/stream";
constexpr absl::string_view kLatestPath = "/api/v1/latest";
constexpr absl::string_view kSymbolsPath = "/api/v1/symbols";

absl::string_view View(boost::beast::string_view text) { return absl::string_view(text.data(), text.size()); }

absl::string_view PathOf(const ApiRequest& request) {
  const absl::string_view target = View(request.target());
  return target.substr(0, target.find('?'));
}

ApiResponse Error(int status, absl::string_view code, absl::string_view message) {
  return {status, EncodeError(code, message)};
}

// The query of /api/v1/stream and /api/v1/latest: the WebSocket URL's
// parameters (symbols, sources, after_seq, epoch) and their limits.
std::variant<ConnectParams, ApiResponse> ParseQuery(const ApiRequest& request, const Shard& shard) {
  std::variant<ConnectParams, ControlError> params = ParseConnectParams(
      View(request.target()), shard.config().max_symbols_per_connection, shard.config().history_depth);
  if (auto* error = std::get_if<ControlError>(&params)) return Error(400, error->code, error->message);
  return std::get<ConnectParams>(std::move(params));
}

// What a stream must pass beyond the checks every request passes (the
// connection already holds its slot under --max_connections): the method,
// the gateway's state (as for a WebSocket upgrade), the query, Last-Event-ID.
std::variant<ConnectParams, ApiResponse> AdmitStream(const ApiRequest& request, const Shard& shard) {
  if (request.method() != http::verb::get) return Error(405, "method_not_allowed", "the stream is GET only");
  if (shard.draining()) return Error(503, "shutting_down", "the gateway is shutting down");
  std::variant<ConnectParams, ApiResponse> params = ParseQuery(request, shard);
  if (std::holds_alternative<ApiResponse>(params)) return params;
  const auto header = request.find("Last-Event-ID");
  absl::StatusOr<std::optional<uint64_t>> last_event_id =
      ParseLastEventId(header == request.end() ? std::nullopt : std::optional(View(header->value())));
  if (!last_event_id.ok()) return Error(400, "invalid_last_event_id", last_event_id.status().message());
  // EventSource sends the id of the last event it saw: it wins over the URL's after_seq.
  if (*last_event_id) std::get<ConnectParams>(params).after_seq = **last_event_id;
  return params;
}

ApiResponse Latest(const ApiRequest& request, const Shard& shard) {
  std::variant<ConnectParams, ApiResponse> parsed = ParseQuery(request, shard);
  if (auto* error = std::get_if<ApiResponse>(&parsed)) return std::move(*error);
  const ConnectParams& params = std::get<ConnectParams>(parsed);
  const Subscription wanted(params.symbols, params.sources);
  const FeedLog& log = shard.log();
  const std::vector<FramePtr> latest = log.Latest(
      0, log.head(), [&](const Frame& frame) { return wanted.Matches(frame.symbol(), frame.source()); });
  std::vector<absl::string_view> payloads;
  payloads.reserve(latest.size());
  for (const FramePtr& frame : latest) payloads.push_back(frame->payload());
  return {200, EncodeSnapshot(log.epoch(), log.last_seq(), payloads)};
}

ApiResponse Symbols(const Shard& shard) {
  const FeedLog& log = shard.log();
  std::vector<std::string> symbols, sources;
  for (const FramePtr& frame : log.Latest(0, log.head(), [](const Frame&) { return true; })) {
    symbols.push_back(frame->symbol());
    sources.push_back(frame->source());
  }
  return {200, EncodeSymbolList(std::move(symbols), std::move(sources))};
}

}  // namespace

bool StartEventStream(Shard& shard, boost::beast::tcp_stream& stream, ConnectionGate::Slot& slot,
                      const ApiRequest& request, const std::string& peer) {
  if (PathOf(request) != kStreamPath) return false;
  std::variant<ConnectParams, ApiResponse> admitted = AdmitStream(request, shard);
  if (std::holds_alternative<ApiResponse>(admitted)) return false;
  stream.expires_never();
  auto session = std::make_shared<SseSession>(shard, stream.release_socket(), std::move(slot),
                                              std::get<ConnectParams>(std::move(admitted)), peer);
  session->Start(request.version() % 10);
  return true;
}

std::optional<ApiResponse> HandleApiRequest(const ApiRequest& request, const Shard& shard) {
  const absl::string_view path = PathOf(request);
  if (!absl::StartsWith(path, "/api/")) return std::nullopt;
  if (path == kStreamPath) {
    // StartEventStream declined the request: say why.
    std::variant<ConnectParams, ApiResponse> admitted = AdmitStream(request, shard);
    if (auto* refusal = std::get_if<ApiResponse>(&admitted)) return std::move(*refusal);
    return Error(400, "bad_request", "the stream could not start");
  }
  if (path == kLatestPath) return Latest(request, shard);
  if (path == kSymbolsPath) return Symbols(shard);
  return Error(404, "not_found", absl::StrCat("no API route ", path, " (see docs/protocol.md)"));
}

}  // namespace stockfeed::ws_gateway

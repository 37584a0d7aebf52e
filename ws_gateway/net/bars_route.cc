#include "bars_route.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"
#include "core/bars_api.h"
#include "core/messages.h"
#include "http_session.h"
#include "shard.h"

namespace stockfeed::ws_gateway {
namespace {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;

absl::string_view View(boost::beast::string_view text) { return absl::string_view(text.data(), text.size()); }

http::response<http::string_body> JsonResponse(const Request& request, http::status status, std::string body) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::server, "stockfeed-ws-gateway");
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.body() = std::move(body);
  return response;
}

// What the browser gets for what price_service answered (for a batch: the
// first failure of any pair, else every pair's bars). Client mistakes keep
// the service's words; anything else is a short retryable 503 (the detail
// goes to the log only).
http::response<http::string_body> ResponseFor(const Request& request, const BarsParams& params,
                                              const grpc::Status& status,
                                              const std::vector<v1::GetBarsResponse>& answers) {
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return JsonResponse(request, http::status::bad_request, EncodeError("invalid_query", status.error_message()));
  }
  if (!status.ok()) {
    auto response = JsonResponse(request, http::status::service_unavailable,
                                 EncodeError("upstream_unavailable", "bars are not available right now; retry shortly"));
    response.set(http::field::retry_after, "2");
    return response;
  }
  std::string body = params.batch ? EncodeBarsBatch(params, answers) : EncodeBars(params, answers.front());
  const std::string etag = EntityTag(body);
  auto response = JsonResponse(request, http::status::ok, std::move(body));
  const bool with_token = request.find(http::field::authorization) != request.end() ||
                          View(request.target()).find("token=") != absl::string_view::npos;
  response.set(http::field::cache_control, BarsCacheControl(params, absl::Now(), with_token));
  response.set(http::field::etag, etag);
  const auto if_none_match = request.find(http::field::if_none_match);
  if (if_none_match != request.end() && EntityTagMatches(View(if_none_match->value()), etag)) {
    response.result(http::status::not_modified);
    response.body().clear();
  }
  return response;
}

// The GetBars calls of one request, one per pair, in flight together; the
// last to finish (on a gRPC thread) hands every answer to `done`.
class BarsJoin {
 public:
  using Done = std::function<void(const grpc::Status&, const std::vector<v1::GetBarsResponse>&)>;
  BarsJoin(size_t calls, Done done) : answers_(calls), remaining_(calls), done_(std::move(done)) {}

  static void Start(BarsClient& client, const BarsParams& params, Done done) {
    auto join = std::make_shared<BarsJoin>(params.pairs.size(), std::move(done));
    for (size_t i = 0; i < params.pairs.size(); ++i) {
      client.GetBars(ToGetBarsRequest(params, params.pairs[i]),
                     [join, i](const grpc::Status& status, const v1::GetBarsResponse& answer) {
                       join->Finished(i, status, answer);
                     });
    }
  }

 private:
  void Finished(size_t index, const grpc::Status& status, const v1::GetBarsResponse& answer) {
    {
      std::lock_guard lock(mu_);
      if (status.ok()) {
        answers_[index] = answer;
      } else if (status_.ok()) {
        status_ = status;
      }
      if (--remaining_ != 0) return;
    }
    done_(status_, answers_);  // the last call: no other thread touches the answers any more
  }

  std::mutex mu_;
  std::vector<v1::GetBarsResponse> answers_;  // guarded by mu_ until the last call finished
  size_t remaining_;                          // guarded by mu_
  grpc::Status status_;                       // the first failure; guarded by mu_ likewise
  const Done done_;
};

http::message_generator Finish(http::response<http::string_body> response, bool keep_alive, bool head) {
  response.keep_alive(keep_alive);
  if (response.result() == http::status::not_modified) return http::response<http::empty_body>(response.base());
  response.prepare_payload();
  if (head) return http::response<http::empty_body>(response.base());
  return response;
}

}  // namespace

struct BarsClient::Call {
  grpc::ClientContext context;
  v1::GetBarsRequest request;
  v1::GetBarsResponse response;
  std::unique_ptr<v1::PriceFeed::Stub> stub;
  Done done;
};

BarsClient::BarsClient(ReplicaSource replica, ChannelFactory make_channel, absl::Duration deadline)
    : replica_(std::move(replica)), make_channel_(std::move(make_channel)), deadline_(deadline) {}

BarsClient::~BarsClient() { Shutdown(); }

std::shared_ptr<grpc::Channel> BarsClient::ChannelLocked(const std::string& address) {
  // One channel per replica, made anew after a failover or when it is in
  // reconnect backoff while the stream already is back (a restarted service).
  if (channel_ == nullptr || channel_address_ != address ||
      channel_->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
    channel_ = make_channel_(address);
    channel_address_ = address;
  }
  return channel_;
}

void BarsClient::GetBars(const v1::GetBarsRequest& request, Done done) {
  const std::string replica = replica_();
  auto call = std::make_unique<Call>();
  {
    std::lock_guard lock(mu_);
    if (!shut_down_ && !replica.empty()) {
      call->stub = v1::PriceFeed::NewStub(ChannelLocked(replica));
      in_flight_.insert(call.get());
    }
  }
  if (call->stub == nullptr) {
    done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "no upstream"), v1::GetBarsResponse());
    return;
  }
  call->request = request;
  call->done = std::move(done);
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
  Call* raw = call.release();
  raw->stub->async()->GetBars(&raw->context, &raw->request, &raw->response,
                              [this, raw](grpc::Status status) { Finished(raw, status); });
}

void BarsClient::Finished(Call* call, const grpc::Status& status) {
  call->done(status, call->response);
  std::lock_guard lock(mu_);
  in_flight_.erase(call);
  delete call;
  if (in_flight_.empty()) idle_.notify_all();
}

void BarsClient::Shutdown() {
  std::unique_lock lock(mu_);
  shut_down_ = true;
  for (Call* call : in_flight_) call->context.TryCancel();
  idle_.wait(lock, [this] { return in_flight_.empty(); });
}

bool IsBarsRequest(absl::string_view target) { return target.substr(0, target.find('?')) == kBarsPath; }

void ServeBars(std::shared_ptr<HttpSession> session, BarsClient& client, Request request) {
  const auto started = std::chrono::steady_clock::now();
  const bool keep_alive = request.keep_alive();
  const bool head = request.method() == http::verb::head;
  std::variant<BarsParams, ControlError> parsed = ParseBarsQuery(View(request.target()));
  if (auto* error = std::get_if<ControlError>(&parsed)) {
    session->Reply(Finish(JsonResponse(request, http::status::bad_request, EncodeError(error->code, error->message)),
                          keep_alive, head),
                   400, keep_alive, request, started);
    return;
  }
  if (session->shard().draining()) {
    session->Reply(Finish(JsonResponse(request, http::status::service_unavailable,
                                       EncodeError("shutting_down", "the gateway is shutting down")),
                          false, head),
                   503, false, request, started);
    return;
  }
  auto params = std::make_shared<const BarsParams>(std::get<BarsParams>(std::move(parsed)));
  boost::asio::io_context& io = session->shard().io();
  BarsJoin::Start(client, *params, [session = std::move(session), request = std::move(request), params,
                                    keep_alive, head, started, &io](
                                       const grpc::Status& status,
                                       const std::vector<v1::GetBarsResponse>& answers) mutable {
    // Encoded here, on the gRPC thread; the io thread only writes it.
    http::response<http::string_body> response = ResponseFor(request, *params, status, answers);
    const unsigned code = response.result_int();
    boost::asio::post(io, [session = std::move(session), request = std::move(request),
                           reply = std::make_shared<http::message_generator>(
                               Finish(std::move(response), keep_alive, head)),
                           code, keep_alive, started]() mutable {
      session->Reply(std::move(*reply), code, keep_alive, request, started);
    });
  });
}

}  // namespace stockfeed::ws_gateway

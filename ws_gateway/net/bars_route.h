#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "stockfeed/v1/price_feed.grpc.pb.h"

namespace stockfeed::ws_gateway {

class HttpSession;

// price_service's GetBars as asynchronous gRPC calls to the replica the
// gateway currently streams from: the io threads never wait for an answer.
// Shutdown cancels what is in flight and waits for the callbacks, so none
// outlives the shards it posts to.
class BarsClient {
 public:
  // The replica streamed from right now; empty while there is none.
  using ReplicaSource = std::function<std::string()>;
  using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(const std::string& address)>;
  using Done = std::function<void(const grpc::Status&, const v1::GetBarsResponse&)>;

  BarsClient(ReplicaSource replica, ChannelFactory make_channel, absl::Duration deadline);
  ~BarsClient();

  // `done` runs exactly once: on a gRPC thread, or at once (UNAVAILABLE)
  // when there is no upstream or after Shutdown.
  void GetBars(const v1::GetBarsRequest& request, Done done);
  void Shutdown();

 private:
  struct Call;
  std::shared_ptr<grpc::Channel> ChannelLocked(const std::string& address);
  void Finished(Call* call, const grpc::Status& status);

  const ReplicaSource replica_;
  const ChannelFactory make_channel_;
  const absl::Duration deadline_;
  std::mutex mu_;
  std::condition_variable idle_;
  std::string channel_address_;             // guarded by mu_
  std::shared_ptr<grpc::Channel> channel_;  // guarded by mu_
  std::set<Call*> in_flight_;               // guarded by mu_
  bool shut_down_ = false;                  // guarded by mu_
};

// The one-line hook for HttpSession: whether `target` is /api/v1/bars.
bool IsBarsRequest(absl::string_view target);
// Answers GET/HEAD /api/v1/bars on `session` (on its shard's thread): 400
// with a JSON error for a bad query, else the bars as JSON once
// price_service replies (Cache-Control, ETag, 304 on If-None-Match), 503
// when there is no upstream or it cannot answer.
void ServeBars(std::shared_ptr<HttpSession> session, BarsClient& client,
               boost::beast::http::request<boost::beast::http::string_body> request);

}  // namespace stockfeed::ws_gateway

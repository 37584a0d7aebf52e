#pragma once

#include <optional>
#include <string>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/strings/string_view.h"
#include "core/connection_gate.h"

namespace stockfeed::ws_gateway {

class Shard;

// The plain-HTTP API (docs/protocol.md, "HTTP API"), for clients that do not
// speak WebSocket: GET /api/v1/stream (Server-Sent Events), /api/v1/latest
// and /api/v1/symbols. HttpSession calls these once the request has passed
// the checks every request passes.

using ApiRequest = boost::beast::http::request<boost::beast::http::string_body>;

// A JSON answer.
struct ApiResponse {
  int status = 200;
  std::string body;
};

// GET /api/v1/stream: when the request is valid and the gateway admits it,
// takes the connection (and its `slot`) over as an SseSession on `shard` and
// returns true.
// Otherwise returns false and leaves the request to HandleApiRequest, which
// answers why not.
bool StartEventStream(Shard& shard, boost::beast::tcp_stream& stream, ConnectionGate::Slot& slot,
                      const ApiRequest& request, const std::string& peer);

// The answer to an /api/ request; nullopt when `request` is for another path.
std::optional<ApiResponse> HandleApiRequest(const ApiRequest& request, const Shard& shard);

}  // namespace stockfeed::ws_gateway

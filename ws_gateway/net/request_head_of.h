#pragma once

#include <boost/beast/websocket/rfc6455.hpp>

#include "absl/strings/string_view.h"
#include "core/request_head.h"

namespace stockfeed::ws_gateway {

// The admission checks' view of a request Beast parsed: views into the
// request, valid while it is. (Also what the request-head fuzzer feeds the
// admission chain, so it sees exactly what a connection's bytes become.)
template <typename Request>
RequestHead HeadOf(const Request& request) {
  const auto view = [](auto text) { return absl::string_view(text.data(), text.size()); };
  RequestHead head;
  head.method = view(request.method_string());
  head.target = view(request.target());
  head.version = request.version();
  head.upgrade = boost::beast::websocket::is_upgrade(request);
  for (const auto& field : request) head.fields.emplace_back(view(field.name_string()), view(field.value()));
  return head;
}

}  // namespace stockfeed::ws_gateway

#pragma once

#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/strings/string_view.h"

namespace stockfeed::ws_gateway {

// The answer to a GET/HEAD for a dashboard file under `web_root`: the file,
// or 400 (bad path), 403 (directory, FIFO, device…) or 404. The file is
// opened without blocking (a FIFO cannot stall the io thread) and served
// only if it really lies under the root once symlinks are resolved.
// `status` tells the access log what was answered.
boost::beast::http::message_generator StaticFileResponse(
    const boost::beast::http::request<boost::beast::http::string_body>& request, absl::string_view web_root,
    boost::beast::http::status& status);

}  // namespace stockfeed::ws_gateway

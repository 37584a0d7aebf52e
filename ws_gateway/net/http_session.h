#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/admission.h"
#include "core/connection_gate.h"
#include "core/request_head.h"
#include "frame_socket.h"

namespace stockfeed::ws_gateway {

class Shard;

// A plain HTTP connection: serves the dashboard from --web_root, /healthz,
// /readyz and /stats, and hands WebSocket upgrades on / and /ws to a Session.
// Every request passes the front door's AdmissionChain before any route
// sees it; the connection holds its ConnectionGate slot until it closes.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  // `peer`: the client's address when `socket` is not connected to it
  // directly (TLS: one end of the relay's socket pair).
  HttpSession(Shard& shard, tcp::socket socket, ConnectionGate::Slot slot,
              std::optional<tcp::endpoint> peer = std::nullopt);
  void Start();

  // For routes that answer later (GET /api/v1/bars): writes `response` to
  // `request` on the shard's thread, logs it, then reads the next request
  // or closes.
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  void Reply(boost::beast::http::message_generator response, unsigned status, bool keep_alive,
             const Request& request, std::chrono::steady_clock::time_point started);
  Shard& shard() { return shard_; }

 private:
  void Read();
  void OnRead(const error_code& ec);
  void Upgrade(Admission admission);
  void Refuse(const Rejection& rejection);
  void OnWritten(const error_code& ec, bool keep_alive);

  Shard& shard_;
  ConnectionGate::Slot slot_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::string peer_;
};

}  // namespace stockfeed::ws_gateway

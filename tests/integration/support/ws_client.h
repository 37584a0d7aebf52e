#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/value.hpp>

namespace stockfeed::testing {

// A blocking WebSocket test client with timeouts on every call.
class WsClient {
 public:
  // Connects to ws://127.0.0.1:port<target>; throws on failure. A small
  // `receive_buffer_bytes` makes a client that stops reading stall quickly.
  // `offer_deflate` offers permessage-deflate, as browsers do.
  WsClient(int port, const std::string& target = "/", int receive_buffer_bytes = 0,
           bool offer_deflate = false);
  ~WsClient();

  void Send(const std::string& text);
  void SendBinary(const std::string& data);
  // A WebSocket ping control frame (blocking write).
  void Ping();
  // The next text message, or nullopt on timeout or close.
  std::optional<std::string> Read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Next message parsed as JSON (objects and arrays).
  std::optional<boost::json::value> ReadJson(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads until a JSON object with "type" == type arrives; nullopt on timeout.
  std::optional<boost::json::object> ReadUntilType(const std::string& type,
                                                   std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // After the server closed: its close code (0 if none yet).
  int close_code() const;
  bool closed() const;
  // The server's Sec-WebSocket-Extensions answer.
  const std::string& extensions() const;
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A JSON object whose "type" is `type`.
bool IsType(const boost::json::value& value, const char* type);
// A price object's "seq".
uint64_t Seq(const boost::json::object& price);

struct HttpResult {
  int status = 0;
  std::string content_type;
  std::string cache_control;
  std::string body;
};
// GET http://127.0.0.1:port<target> (the target is sent exactly as given).
HttpResult HttpGet(int port, const std::string& target);

}  // namespace stockfeed::testing

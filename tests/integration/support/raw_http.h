#pragma once

#include <chrono>
#include <string>

namespace stockfeed::testing {

// A plain TCP connection to 127.0.0.1:port for sending exactly the bytes a
// test wants (malformed, partial or slow requests). Closed on destruction.
class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // False once the peer closed or reset the connection.
  bool Send(const std::string& bytes);
  // Everything the server sends until it closes the connection, `timeout`
  // passes, or (with stop_at_head_end) a full response head has arrived.
  std::string ReadAll(std::chrono::milliseconds timeout, bool stop_at_head_end = false);
  // True when the server has closed (EOF or reset) within `timeout`.
  bool ClosedWithin(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

// The status code of an HTTP response ("HTTP/1.1 403 …" → 403); 0 if none.
int StatusOf(const std::string& response);
// Sends `request` on a new connection and returns the whole response.
std::string RawRequest(int port, const std::string& request,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
// A WebSocket upgrade request for `target` with extra header lines
// ("Name: value\r\n" each), a valid key and Host.
std::string UpgradeRequest(int port, const std::string& target, const std::string& extra_headers = "");

}  // namespace stockfeed::testing

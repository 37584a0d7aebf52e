#include "ws_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "absl/strings/escaping.h"

namespace stockfeed::bench {

namespace beast = boost::beast;
namespace http = beast::http;
using Opcode = WsFrameReader::Opcode;

namespace {

constexpr size_t kReadBufferSize = 256 * 1024;

int64_t RealtimeMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// The SO_TIMESTAMPNS receive time recvmsg() attached, if any (the kernel
// starts stamping a moment after the first socket asks).
std::optional<int64_t> ArrivalMicros(msghdr& message) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      if (ts.tv_sec == 0) return std::nullopt;
      return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
    }
  }
  return std::nullopt;
}

struct DeflateResponse {
  bool accepted = false;
  bool server_no_context_takeover = false;
};

DeflateResponse ParseDeflateResponse(beast::string_view extensions) {
  DeflateResponse out;
  for (const auto& [name, params] : http::ext_list(extensions)) {
    if (!beast::iequals(name, "permessage-deflate")) continue;
    out.accepted = true;
    for (const auto& param : params) {
      if (beast::iequals(param.first, "server_no_context_takeover")) {
        out.server_no_context_takeover = true;
      }
    }
  }
  return out;
}

}  // namespace

WorkerContext::WorkerContext(const ClientTarget& client_target,
                             ConnectionCounters& connection_counters, int epoll,
                             const std::string& commit_log_path)
    : target(client_target),
      counters(connection_counters),
      epoll_fd(epoll),
      commit_log(commit_log_path.empty() ? nullptr : std::make_unique<CommitLog>(commit_log_path)),
      read_buffer(kReadBufferSize),
      random(std::random_device{}()) {}

struct WsClient::Handshake {
  http::response_parser<http::empty_body> parser;
  std::string response;  // received bytes the parser has not consumed yet
};

WsClient::WsClient(WorkerContext& worker, bool stallable)
    : worker_(worker), stallable_(stallable) {}

WsClient::~WsClient() = default;

void WsClient::Start() {
  const ClientTarget& target = worker_.target;
  fd_.reset(::socket(target.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) return Close();
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Latency is measured to the bytes' arrival at this socket, the point the
  // kernel floor (fanout_floor) also measures to.
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&target.address),
                target.address_size) != 0 &&
      errno != EINPROGRESS) {
    return Close();
  }
  interest_ = WantedEvents();  // writable once connected (or failed)
  epoll_event event{.events = interest_, .data = {.ptr = this}};
  if (::epoll_ctl(worker_.epoll_fd, EPOLL_CTL_ADD, fd_.get(), &event) != 0) return Close();
  handshake_ = std::make_unique<Handshake>();
}

void WsClient::OnEvents(uint32_t events) {
  // A client closed earlier in the same epoll batch may still get events.
  if (state_ == State::kClosed) return;
  if (state_ == State::kConnecting) return OnConnected();
  if ((events & EPOLLOUT) && !FlushUnsent()) return;
  if (events & EPOLLIN) {
    OnReadable();
  } else if (events & (EPOLLERR | EPOLLHUP)) {
    Close();  // reset while not reading (stalled)
  }
}

void WsClient::OnConnectTimeout() {
  if (opening()) Close();
}

void WsClient::SetReading(bool reading) {
  reading_ = reading;
  if (state_ != State::kClosed) UpdateInterest();
}

void WsClient::OnConnected() {
  int error = 0;
  socklen_t size = sizeof error;
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0 || error != 0) {
    return Close();
  }
  state_ = State::kHandshaking;
  if (Send(HandshakeRequest())) UpdateInterest();
}

std::string WsClient::HandshakeRequest() {
  std::array<char, 16> key;
  for (char& c : key) c = static_cast<char>(worker_.random());
  const ClientTarget& target = worker_.target;
  std::string request = "GET " + target.target + " HTTP/1.1\r\nHost: " + target.host_header +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
                        absl::Base64Escape(absl::string_view(key.data(), key.size())) +
                        "\r\nSec-WebSocket-Version: 13\r\n";
  if (target.offer_deflate) {
    request += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
  }
  request += "\r\n";
  return request;
}

void WsClient::OnReadable() {
  std::vector<char>& buffer = worker_.read_buffer;
  for (;;) {
    iovec data{.iov_base = buffer.data(), .iov_len = buffer.size()};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(timespec))> control;
    msghdr message{.msg_iov = &data, .msg_iovlen = 1, .msg_control = control.data(),
                   .msg_controllen = control.size()};
    const ssize_t n = ::recvmsg(fd_.get(), &message, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) return Close();  // closed by the server, or reset
    // One time per read: the kernel's is that of the newest segment in it,
    // so no frame is taken to have arrived earlier than it did.
    ReceiveTime received{.read_us = RealtimeMicros()};
    received.arrived_us = ArrivalMicros(message).value_or(received.read_us);
    if (!OnReceived(std::string_view(buffer.data(), static_cast<size_t>(n)), received)) {
      return;
    }
    // A short read emptied the socket (epoll(7)), so the recv() that would
    // fail with EAGAIN is not needed: newer data brings a new edge.
    if (static_cast<size_t>(n) < buffer.size()) return;
  }
}

bool WsClient::OnReceived(std::string_view bytes, ReceiveTime received) {
  if (state_ == State::kHandshaking) {
    if (!OnHandshakeResponse(bytes)) return false;
    if (state_ != State::kOpen) return true;
  }
  reader_.Feed(bytes);
  WsFrameReader::Message message;
  for (;;) {
    switch (reader_.Next(message)) {
      case WsFrameReader::Result::kNeedMore:
        return true;
      case WsFrameReader::Result::kProtocolError:
        Close();
        return false;
      case WsFrameReader::Result::kMessage:
        if (!OnMessage(message, received)) return false;
        break;
    }
  }
}

// Leaves in `bytes` what follows the response header: the first frames.
bool WsClient::OnHandshakeResponse(std::string_view& bytes) {
  Handshake& handshake = *handshake_;
  handshake.response.append(bytes);
  beast::error_code ec;
  const size_t used = handshake.parser.put(boost::asio::buffer(handshake.response), ec);
  if (ec == http::error::need_more) {
    handshake.response.erase(0, used);
    bytes = {};
    return true;
  }
  const auto& response = handshake.parser.get();
  const bool upgraded = !ec && response.result_int() == 101;
  const DeflateResponse deflate =
      upgraded ? ParseDeflateResponse(response[http::field::sec_websocket_extensions])
               : DeflateResponse{};
  if (!upgraded || (deflate.accepted && !worker_.target.offer_deflate)) {
    Close();
    return false;
  }
  if (deflate.accepted) {
    reader_.AllowCompression();
    if (!deflate.server_no_context_takeover) {
      inflate_stream_ = std::make_unique<beast::zlib::inflate_stream>();
    }
  }
  // The header ends in this chunk: anything the parser left is from it.
  bytes = bytes.substr(bytes.size() - (handshake.response.size() - used));
  handshake_.reset();
  state_ = State::kOpen;
  worker_.counters.opened.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool WsClient::OnMessage(const WsFrameReader::Message& message, ReceiveTime received) {
  switch (message.opcode) {
    case Opcode::kText:
    case Opcode::kBinary: {
      std::string_view payload = message.payload;
      if (message.compressed) {
        auto& stream = inflate_stream_ ? *inflate_stream_ : worker_.shared_inflate_stream;
        const auto inflated = worker_.inflater.Inflate(stream, payload);
        if (!inflate_stream_) stream.reset();
        if (!inflated) {
          Close();
          return false;
        }
        payload = *inflated;
      }
      DeliveryTally& tally = stallable_ ? worker_.tallies.stalled : worker_.tallies.healthy;
      if (message.opcode == Opcode::kText) {
        tally.OnFrame(payload, received, seq_, worker_.commit_log.get());
      } else {
        ++tally.frames;
        ++tally.other_messages;
      }
      return true;
    }
    case Opcode::kPing:
      return SendControl(Opcode::kPong, message.payload);
    case Opcode::kClose:
      // Echo the status code (RFC 6455 §5.5.1), then hang up.
      SendControl(Opcode::kClose, message.payload.substr(0, 2));
      Close();
      return false;
    case Opcode::kPong:
    case Opcode::kContinuation:
      return true;  // unsolicited pong; the reader yields no continuations
  }
  return true;
}

bool WsClient::SendControl(Opcode opcode, std::string_view payload) {
  // Client frames are masked (RFC 6455 §5.3); control payloads are <= 125.
  std::array<char, 2 + 4 + 125> frame;
  frame[0] = static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
  frame[1] = static_cast<char>(0x80 | payload.size());
  const uint32_t mask = worker_.random();
  std::memcpy(&frame[2], &mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) frame[6 + i] = payload[i] ^ frame[2 + i % 4];
  return Send(std::string_view(frame.data(), 6 + payload.size()));
}

bool WsClient::Send(std::string_view bytes) {
  if (unsent_.empty()) {
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      Close();
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(std::max<ssize_t>(n, 0)));
  }
  if (!bytes.empty()) {
    unsent_.append(bytes);
    UpdateInterest();
  }
  return true;
}

bool WsClient::FlushUnsent() {
  const ssize_t n = ::send(fd_.get(), unsent_.data(), unsent_.size(), MSG_NOSIGNAL);
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    Close();
    return false;
  }
  unsent_.erase(0, static_cast<size_t>(std::max<ssize_t>(n, 0)));
  UpdateInterest();
  return true;
}

uint32_t WsClient::WantedEvents() const {
  // Edge-triggered: a socket is not polled again after each event, which
  // level-triggered epoll does at a measurable cost per message.
  uint32_t events = EPOLLET;
  if (state_ == State::kConnecting || !unsent_.empty()) events |= EPOLLOUT;
  if (state_ != State::kConnecting && reading_) events |= EPOLLIN;
  return events;
}

void WsClient::UpdateInterest() {
  const uint32_t wanted = WantedEvents();
  if (wanted == interest_) return;
  interest_ = wanted;
  epoll_event event{.events = interest_, .data = {.ptr = this}};
  ::epoll_ctl(worker_.epoll_fd, EPOLL_CTL_MOD, fd_.get(), &event);
}

void WsClient::Close() {
  if (state_ == State::kClosed) return;
  ConnectionCounters& counters = worker_.counters;
  if (!counters.stopping.load(std::memory_order_relaxed)) {
    if (opening()) {
      counters.failed.fetch_add(1, std::memory_order_relaxed);
    } else if (stallable_) {
      counters.closed_stalled.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters.closed_healthy.fetch_add(1, std::memory_order_relaxed);
    }
  }
  state_ = State::kClosed;
  fd_.reset();  // also leaves the epoll set
  // Give back what a closed client no longer needs.
  handshake_.reset();
  inflate_stream_.reset();
  reader_ = WsFrameReader();
  std::string().swap(unsent_);
}

}  // namespace stockfeed::bench

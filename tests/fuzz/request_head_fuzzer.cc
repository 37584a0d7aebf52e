// libFuzzer target: the bytes a client sends before anything is served, as
// the gateway reads them: Beast's request parser with the gateway's caps,
// then the admission chain every request passes (head limits, handshake
// fields, Origin, token with an HS256 key configured) and, for an accepted
// WebSocket upgrade, the connect parameters narrowed by the token's claims.
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "absl/time/time.h"
#include "core/admission.h"
#include "core/control_message.h"
#include "fuzz_check.h"
#include "net/request_head_of.h"

namespace {

namespace gw = stockfeed::ws_gateway;
namespace http = boost::beast::http;

constexpr uint32_t kMaxHeaderBytes = 8192;  // the gateway's defaults
constexpr uint64_t kMaxRequestBody = 8 * 1024;
constexpr size_t kMaxSymbols = 256;
constexpr size_t kMaxHistory = 100;

gw::AdmissionChain& Chain() {
  static gw::AdmissionChain* chain = [] {
    auto* made = new gw::AdmissionChain(gw::HeadLimits{}, *gw::OriginPolicy::Create({}));
    made->tokens().SetVerifier(*stockfeed::TokenVerifier::FromKeys(
        {{"k", stockfeed::TokenVerifier::Algorithm::kHs256, std::string(32, 's')}}, {}));
    return made;
  }();
  return *chain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(kMaxRequestBody);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;  // the session answers 400/431 or keeps reading

  const gw::RequestHead head = gw::HeadOf(parser.get());
  std::variant<gw::Admission, gw::Rejection> admission = Chain().Admit(head, absl::FromUnixSeconds(1764000000));
  if (const gw::Rejection* rejection = std::get_if<gw::Rejection>(&admission)) {
    FUZZ_CHECK(rejection->status >= 400 && rejection->status < 600);
    FUZZ_CHECK(!rejection->code.empty());
    FUZZ_CHECK(rejection->message.size() < 1024);
    return 0;
  }
  // Let in: a well-formed head with exactly one Host (HTTP/1.1) and, for an
  // upgrade, one valid key.
  if (head.version == 11) FUZZ_CHECK(head.Count("host") == 1);
  if (head.upgrade) FUZZ_CHECK(head.Count("sec-websocket-key") == 1);
  if (head.upgrade && gw::IsWebSocketPath(head.target)) {
    std::variant<gw::ConnectParams, gw::ControlError> params =
        gw::ParseConnectParams(head.target, kMaxSymbols, kMaxHistory);
    gw::Admission& admitted = std::get<gw::Admission>(admission);
    if (auto* connect = std::get_if<gw::ConnectParams>(&params); connect != nullptr && admitted.claims) {
      gw::RestrictSymbols(*admitted.claims, connect->symbols);
      if (!admitted.claims->AllowsAllSymbols() && connect->symbols) {
        for (const std::string& symbol : *connect->symbols) FUZZ_CHECK(admitted.claims->AllowsSymbol(symbol));
      }
    }
  }
  return 0;
}

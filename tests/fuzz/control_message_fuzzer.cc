// libFuzzer target: one WebSocket text frame from a client, as the session
// hands it to ParseControlMessage, then applied to a subscription.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/control_message.h"
#include "core/subscription.h"
#include "fuzz_check.h"

namespace {

using stockfeed::ws_gateway::ControlError;
using stockfeed::ws_gateway::ControlRequest;

constexpr size_t kMaxSymbols = 256;  // the gateway's defaults
constexpr size_t kMaxHistory = 100;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::variant<ControlRequest, ControlError> parsed =
      stockfeed::ws_gateway::ParseControlMessage(text, kMaxSymbols, kMaxHistory);
  if (const ControlError* error = std::get_if<ControlError>(&parsed)) {
    FUZZ_CHECK(!error->code.empty());
    // An error reply carries the message: it must stay small whatever was sent.
    FUZZ_CHECK(error->message.size() < 1024);
    return 0;
  }
  const ControlRequest& request = std::get<ControlRequest>(parsed);
  FUZZ_CHECK(request.symbols.size() <= kMaxSymbols);
  FUZZ_CHECK(!request.history.has_value() || *request.history <= kMaxHistory);
  FUZZ_CHECK(!request.max_rate.has_value() || stockfeed::ws_gateway::IsValidMaxRate(*request.max_rate));
  if (request.type == ControlRequest::Type::kSubscribe || request.type == ControlRequest::Type::kUnsubscribe) {
    stockfeed::ws_gateway::Subscription subscription(std::vector<std::string>{"AAPL"}, std::nullopt);
    const bool subscribe = request.type == ControlRequest::Type::kSubscribe;
    if (subscribe) {
      subscription.Add(request.symbols, request.sources, kMaxSymbols);
    } else {
      subscription.Remove(request.symbols, request.sources);
    }
    FUZZ_CHECK(subscription.SymbolList().size() <= kMaxSymbols);
  }
  return 0;
}

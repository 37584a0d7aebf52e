#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "request_head.h"
#include "stockfeed/common/token_verifier.h"

namespace stockfeed::ws_gateway {

// The token a request carries, looked for in this order (the first one
// present wins, even if it is bad):
//   1. Authorization: Bearer <token>
//   2. Sec-WebSocket-Protocol: an entry "bearer.<token>" (browsers cannot set
//      headers on a WebSocket; offer it next to "stockfeed")
//   3. the query parameter token=<token> (sent as is: a JWT needs no escaping)
std::optional<absl::string_view> ExtractToken(const RequestHead& head);

// Whether a request needs a token when token auth is on. Open: /healthz,
// /readyz, /metrics (probes and scrapers), and the dashboard's static files
// (a page load cannot carry a header; the page then connects with its token).
// Everything else — WebSocket upgrades, /stats, /api/… and any route added
// later — needs one.
bool RequiresToken(const RequestHead& head);

// Narrows a subscription request to the symbols the token allows and
// returns the ones it does not ("forbidden_symbol"). "*" or no list at all
// (nullopt) become the token's whole list.
std::vector<std::string> RestrictSymbols(const TokenClaims& claims, std::vector<std::string>& symbols);
std::vector<std::string> RestrictSymbols(const TokenClaims& claims, std::optional<std::vector<std::string>>& symbols);

// Narrows a plain-HTTP data request to its token's `symbols` claim, before
// any route sees it: /api/v1/stream and /api/v1/latest get a `symbols=`
// holding only what the token allows (the claim's list when they asked for
// all), /api/v1/bars must name an allowed `symbol=` (or only allowed
// symbols in `pairs=`). A name outside the claim
// is 403 forbidden_symbol (names that do not match literally are outside).
// Returns the target to route, unchanged for other paths and for tokens
// that allow every symbol.
std::variant<std::string, Rejection> ScopeDataRequest(const TokenClaims& claims, absl::string_view target);

// The token step of the admission chain. Without a verifier (no key
// configured) every request passes without claims. The verifier can be
// swapped at any time (SIGHUP) from another thread.
class TokenGate {
 public:
  void SetVerifier(std::shared_ptr<const TokenVerifier> verifier);
  std::shared_ptr<const TokenVerifier> verifier() const;

  // nullopt claims: auth is off or the route is open.
  std::variant<std::optional<TokenClaims>, Rejection> Check(const RequestHead& head, absl::Time now) const;
  // A token sent later (the refresh message).
  absl::StatusOr<TokenClaims> Verify(absl::string_view token, absl::Time now) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const TokenVerifier> verifier_;  // guarded by mu_
};

}  // namespace stockfeed::ws_gateway

#include "token_gate.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace stockfeed::ws_gateway {
namespace {

constexpr absl::string_view kProtocolPrefix = "bearer.";

}  // namespace

std::optional<absl::string_view> ExtractToken(const RequestHead& head) {
  if (const std::optional<absl::string_view> authorization = head.Field("Authorization")) {
    return BearerToken(*authorization);
  }
  if (const std::optional<absl::string_view> protocols = head.Field("Sec-WebSocket-Protocol")) {
    for (absl::string_view entry : absl::StrSplit(*protocols, ',')) {
      entry = absl::StripAsciiWhitespace(entry);
      if (absl::StartsWith(entry, kProtocolPrefix)) return entry.substr(kProtocolPrefix.size());
    }
  }
  const size_t question = head.target.find('?');
  if (question == absl::string_view::npos) return std::nullopt;
  for (absl::string_view pair : absl::StrSplit(head.target.substr(question + 1), '&')) {
    if (absl::StartsWith(pair, "token=")) return pair.substr(6);
  }
  return std::nullopt;
}

bool RequiresToken(const RequestHead& head) {
  if (head.upgrade) return true;
  const absl::string_view path = head.Path();
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") return false;
  if (path == "/stats" || absl::StartsWith(path, "/api/")) return true;
  // Static files: the page itself and anything with a file extension.
  const absl::string_view last = path.substr(path.rfind('/') + 1);
  return !(path == "/" || absl::StrContains(last, '.'));
}

std::vector<std::string> RestrictSymbols(const TokenClaims& claims, std::vector<std::string>& symbols) {
  if (claims.AllowsAllSymbols()) return {};
  std::vector<std::string> allowed, forbidden;
  for (std::string& symbol : symbols) {
    if (symbol == "*") {
      allowed.insert(allowed.end(), claims.symbols->begin(), claims.symbols->end());
    } else if (claims.AllowsSymbol(symbol)) {
      allowed.push_back(std::move(symbol));
    } else {
      forbidden.push_back(std::move(symbol));
    }
  }
  symbols = std::move(allowed);
  return forbidden;
}

std::vector<std::string> RestrictSymbols(const TokenClaims& claims, std::optional<std::vector<std::string>>& symbols) {
  if (!symbols) {
    if (!claims.AllowsAllSymbols()) symbols = *claims.symbols;
    return {};
  }
  return RestrictSymbols(claims, *symbols);
}

std::variant<std::string, Rejection> ScopeDataRequest(const TokenClaims& claims, absl::string_view target) {
  if (claims.AllowsAllSymbols()) return std::string(target);
  const size_t question = target.find('?');
  const absl::string_view path = target.substr(0, question);
  const absl::string_view query = question == absl::string_view::npos ? "" : target.substr(question + 1);
  const bool stream_or_latest = path == "/api/v1/stream" || path == "/api/v1/latest";
  if (!stream_or_latest && path != "/api/v1/bars") return std::string(target);

  std::vector<absl::string_view> kept;  // the query's other parameters, in order
  std::vector<std::string> named;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    if (!stream_or_latest && absl::StartsWith(pair, "pairs=")) {
      // A bars batch, "AAPL:finnhub,MSFT:iex": each symbol before its ':'. An
      // escape anywhere in an item could hide another ',' or ':', so such an
      // item names itself whole (and is refused unless literally allowed).
      for (absl::string_view item : absl::StrSplit(pair.substr(6), ',', absl::SkipEmpty())) {
        named.emplace_back(absl::StrContains(item, '%') ? item : item.substr(0, item.find(':')));
      }
      continue;
    }
    const absl::string_view key = stream_or_latest ? "symbols=" : "symbol=";
    if (!absl::StartsWith(pair, key)) {
      kept.push_back(pair);
      continue;
    }
    for (absl::string_view name : absl::StrSplit(pair.substr(key.size()), ',', absl::SkipEmpty())) {
      named.emplace_back(name);
    }
  }
  if (!stream_or_latest) {
    for (const std::string& symbol : named) {
      if (!claims.AllowsSymbol(symbol)) {
        return Rejection{403, "forbidden_symbol", absl::StrCat("the token does not allow ", symbol)};
      }
    }
    return std::string(target);
  }
  const std::vector<std::string> forbidden = RestrictSymbols(claims, named);
  if (!forbidden.empty()) {
    return Rejection{403, "forbidden_symbol", absl::StrCat("the token does not allow ", absl::StrJoin(forbidden, ","))};
  }
  if (named.empty()) named = *claims.symbols;  // "all" is what the token allows
  if (named.empty()) return Rejection{403, "forbidden_symbol", "the token allows no symbol"};
  kept.push_back("");  // placeholder for the symbols parameter
  std::string scoped = absl::StrCat(path, "?", absl::StrJoin(kept.begin(), kept.end() - 1, "&"));
  if (kept.size() > 1) scoped += '&';
  absl::StrAppend(&scoped, "symbols=", absl::StrJoin(named, ","));
  return scoped;
}

void TokenGate::SetVerifier(std::shared_ptr<const TokenVerifier> verifier) {
  std::lock_guard lock(mu_);
  verifier_ = std::move(verifier);
}

std::shared_ptr<const TokenVerifier> TokenGate::verifier() const {
  std::lock_guard lock(mu_);
  return verifier_;
}

std::variant<std::optional<TokenClaims>, Rejection> TokenGate::Check(const RequestHead& head, absl::Time now) const {
  const std::shared_ptr<const TokenVerifier> current = verifier();
  if (!current || !RequiresToken(head)) return std::optional<TokenClaims>();
  absl::StatusOr<TokenClaims> claims = current->Verify(ExtractToken(head).value_or(""), now);
  if (!claims.ok()) return Rejection{401, "unauthorized", std::string(claims.status().message())};
  return std::optional<TokenClaims>(*std::move(claims));
}

absl::StatusOr<TokenClaims> TokenGate::Verify(absl::string_view token, absl::Time now) const {
  const std::shared_ptr<const TokenVerifier> current = verifier();
  if (!current) return absl::FailedPreconditionError("token auth is off");
  return current->Verify(token, now);
}

}  // namespace stockfeed::ws_gateway

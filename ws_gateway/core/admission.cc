#include "admission.h"

namespace stockfeed::ws_gateway {

std::variant<Admission, Rejection> AdmissionChain::Admit(const RequestHead& head, absl::Time now) const {
  if (auto rejection = CheckHeadLimits(head, limits_)) return *rejection;
  if (auto rejection = CheckHandshakeFields(head)) return *rejection;
  if (auto rejection = origins_.Check(head)) return *rejection;
  std::variant<std::optional<TokenClaims>, Rejection> token = tokens_.Check(head, now);
  if (auto* rejection = std::get_if<Rejection>(&token)) return *rejection;
  return Admission{std::get<std::optional<TokenClaims>>(std::move(token))};
}

}  // namespace stockfeed::ws_gateway

#include "admission.h"

namespace stockfeed::ws_gateway {

std::optional<Rejection> AdmissionChain::Check(const RequestHead& head) const {
  if (auto rejection = CheckHeadLimits(head, limits_)) return rejection;
  if (auto rejection = CheckHandshakeFields(head)) return rejection;
  return origins_.Check(head);
}

}  // namespace stockfeed::ws_gateway

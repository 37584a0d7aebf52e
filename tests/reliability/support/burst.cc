#include "burst.h"

#include <algorithm>

namespace stockfeed::testing {

using std::chrono::milliseconds;

UpgradeBurst::UpgradeBurst(int port, int count, const std::string& target) {
  for (int i = 0; i < count; ++i) connections_.push_back(std::make_unique<RawConnection>(port));
  const std::string request = UpgradeRequest(port, target);
  for (auto& connection : connections_) connection->Send(request);
}

UpgradeBurst::Answers UpgradeBurst::Read(milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  Answers answers;
  for (auto& connection : connections_) {
    const auto left =
        std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(end - std::chrono::steady_clock::now()));
    const std::string response = connection->ReadAll(left, /*stop_at_head_end=*/true);
    const int status = StatusOf(response);
    if (status == 101) {
      ++answers.upgraded;
    } else if (status == 503 || (status == 0 && connection->ClosedWithin(milliseconds(100)))) {
      ++answers.refused;
    } else {
      if (answers.other++ == 0) answers.first_other = response;
    }
  }
  return answers;
}

}  // namespace stockfeed::testing

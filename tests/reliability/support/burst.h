#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/raw_http.h"

namespace stockfeed::testing {

// `count` connections to the gateway on `port` opened at once, each then
// sending a WebSocket upgrade for `target`: the burst a connection limit
// must answer. The connections stay open until the object goes away.
class UpgradeBurst {
 public:
  UpgradeBurst(int port, int count, const std::string& target);

  // How the burst was answered: 101, refused (503, or closed at once: the
  // answer lost to the reset), or neither (left hanging, or a wrong answer).
  struct Answers {
    int upgraded = 0, refused = 0, other = 0;
    std::string first_other;  // what the first of those got, for a failure message
  };
  // Reads every connection's answer, all within `deadline` from now: a
  // connection left in the backlog costs no more than that.
  Answers Read(std::chrono::milliseconds deadline);

 private:
  std::vector<std::unique_ptr<RawConnection>> connections_;
};

}  // namespace stockfeed::testing

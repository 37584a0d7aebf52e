#include "stockfeed/common/stop_signals.h"

#include <pthread.h>
#include <signal.h>

#include "spdlog/spdlog.h"

namespace stockfeed {
namespace {

sigset_t HandledSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

StopSignals::StopSignals() {
  const sigset_t set = HandledSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

const char* StopSignals::Wait(const std::function<void()>& on_reload) {
  const sigset_t set = HandledSet();
  for (;;) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    if (signal_number == SIGINT) return "SIGINT";
    if (signal_number == SIGTERM) return "SIGTERM";
    if (on_reload) {
      spdlog::info("received SIGHUP: reloading keys and certificates");
      on_reload();
      continue;
    }
    spdlog::info("received SIGHUP: nothing to reload (settings are read at start; restart to apply changes)");
  }
}

}  // namespace stockfeed

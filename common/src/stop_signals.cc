#include "stockfeed/common/stop_signals.h"

#include <pthread.h>
#include <signal.h>

namespace stockfeed {
namespace {

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

StopSignals::StopSignals() {
  const sigset_t set = StopSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

const char* StopSignals::Wait() {
  const sigset_t set = StopSet();
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number == SIGINT ? "SIGINT" : "SIGTERM";
}

}  // namespace stockfeed

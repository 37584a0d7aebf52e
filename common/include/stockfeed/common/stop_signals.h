#pragma once

#include <functional>

namespace stockfeed {

// SIGINT and SIGTERM, taken synchronously. Construct it in main() before any
// thread starts so that every thread inherits the blocked mask and only
// Wait() ever sees the signals. SIGHUP (systemd's ExecReload, `kill -HUP`) is
// taken too, so that a reload request never kills the process by default.
class StopSignals {
 public:
  StopSignals();
  // Blocks until SIGINT or SIGTERM; returns the signal's name. A SIGHUP in
  // the meantime runs `on_reload` (keys and certificates are re-read), or is
  // logged and otherwise ignored when there is nothing to reload.
  const char* Wait(const std::function<void()>& on_reload = nullptr);
};

}  // namespace stockfeed

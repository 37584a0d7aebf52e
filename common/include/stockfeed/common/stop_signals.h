#pragma once

namespace stockfeed {

// SIGINT and SIGTERM, taken synchronously. Construct it in main() before any
// thread starts so that every thread inherits the blocked mask and only
// Wait() ever sees the signals. SIGHUP (systemd's ExecReload, `kill -HUP`) is
// taken too, so that a reload request never kills the process by default.
class StopSignals {
 public:
  StopSignals();
  // Blocks until SIGINT or SIGTERM; returns the signal's name. A SIGHUP in
  // the meantime is logged and otherwise ignored: every setting is read at
  // start, so there is nothing to reload yet.
  const char* Wait();
};

}  // namespace stockfeed

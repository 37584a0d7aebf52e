#pragma once

namespace stockfeed {

// SIGINT and SIGTERM, taken synchronously. Construct it in main() before any
// thread starts so that every thread inherits the blocked mask and only
// Wait() ever sees the signals.
class StopSignals {
 public:
  StopSignals();
  // Blocks until SIGINT or SIGTERM; returns the signal's name.
  const char* Wait();
};

}  // namespace stockfeed

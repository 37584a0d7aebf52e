#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace stockfeed::ws_gateway {

// How long a WebSocket client may stay silent before it is pinged: half of
// `idle_timeout` plus up to a quarter more, the share picked by
// `connection_number` along a golden-ratio sequence, which spreads any run
// of consecutive numbers evenly. Clients that connected together so fall due
// in different sweeps instead of being pinged as one wave (each pong puts
// the client's TCP into delayed-ACK mode for our next price, which costs the
// sending core a timer per client); and as each client's next ping counts
// from its own pong, they stay spread. The pong still has at least a quarter
// of `idle_timeout` to arrive.
absl::Duration PingAfterSilence(absl::Duration idle_timeout, uint64_t connection_number);

}  // namespace stockfeed::ws_gateway

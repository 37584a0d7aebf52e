#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "stockfeed/common/backoff.h"

namespace stockfeed::ws_gateway {

// Decides which price_service replica the gateway streams from, when to give
// it up and when to try the next one. Pure logic: the UpstreamClient reports
// what happened, with the time, and asks what to do; /readyz, /stats and the
// logs read its state.
//
// - Sticky: the gateway stays on a replica while it streams and serves; a
//   replica that comes back never pulls it away (no flapping).
// - A failure (stream error, health NOT_SERVING, stall) moves on to the next
//   replica at once. Only when every replica has failed since the last good
//   stream does the backoff delay the next round. This is the gateway's only
//   reconnect backoff: the adapter keeps no gRPC reconnect state between
//   attempts.
// - NOT_SERVING with nowhere better to go: stay (the stream carries on when
//   the replica's database returns) but be not ready; look elsewhere again
//   after --upstream_backoff_max.
// - Stall: nothing (no update, health message or probe answer) for half of
//   the stall timeout → probe; for all of it → give the replica up.
class UpstreamSelector {
 public:
  struct Options {
    Backoff::Options backoff;
    absl::Duration stall_timeout = absl::Seconds(10);
  };
  enum class Health { kUnknown, kServing, kNotServing };
  enum class Phase { kWaiting, kConnecting, kStreaming };
  enum class Failure { kUnreachable, kStreamEnded, kNotServing, kStalled };

  struct Attempt {
    std::string address;   // empty: no replica known (resolution failed)
    absl::Time not_before;
  };
  struct Decision {
    enum class Action { kNone, kProbe, kAbandon } action = Action::kNone;
    Failure reason = Failure::kStreamEnded;  // kAbandon
  };

  UpstreamSelector(Options options, std::function<double()> uniform01);

  // The replicas' addresses, in preference order (re-resolved names give new
  // lists). Failure marks of addresses still listed are kept.
  void SetReplicas(std::vector<std::string> addresses);
  const std::vector<std::string>& replicas() const { return replicas_; }

  // Where and when to connect next; the phase becomes kConnecting.
  Attempt NextAttempt(absl::Time now);
  // The stream to the attempted replica is open.
  void OnConnected(absl::Time now);
  // Something came from the replica: an update, a health message, a probe answer.
  void OnUpdate(absl::Time now);
  void OnHealth(Health health, absl::Time now);
  // What to do now about the current attempt; call after every event and
  // periodically. kProbe is returned once per quiet spell.
  Decision Poll(absl::Time now);
  // The attempt is over (the adapter has torn it down).
  void OnFailure(Failure why, absl::Time now);

  Phase phase() const { return phase_; }
  Health health() const { return health_; }
  // Streaming from a replica that said SERVING or sent data, and is not NOT_SERVING.
  bool ready() const { return phase_ == Phase::kStreaming && health_ != Health::kNotServing && confirmed_; }
  // The replica in use or being tried; empty before the first attempt.
  const std::string& current() const { return current_; }
  // Times the gateway moved from one replica to another.
  uint64_t failovers() const { return failovers_; }
  // Why the last attempt ended (meaningful once failovers or retries happened).
  Failure last_failure() const { return last_failure_reason_; }

 private:
  // The stream has shown it works: a new failure starts a fresh round.
  void Confirm();
  size_t IndexAfterCurrent() const;
  bool HasUntried() const;

  const Options options_;
  Backoff backoff_;
  std::vector<std::string> replicas_;
  // Replicas that failed since the last good stream.
  absl::flat_hash_set<std::string> failed_;
  std::string current_;
  Phase phase_ = Phase::kWaiting;
  Health health_ = Health::kUnknown;
  bool confirmed_ = false;
  absl::Time attempt_started_;
  absl::Time last_activity_;
  absl::Time not_serving_since_;
  absl::Time last_failure_ = absl::InfinitePast();
  Failure last_failure_reason_ = Failure::kUnreachable;
  bool probe_sent_ = false;
  uint64_t failovers_ = 0;
};

absl::string_view UpstreamHealthName(UpstreamSelector::Health health);
absl::string_view UpstreamFailureName(UpstreamSelector::Failure failure);

}  // namespace stockfeed::ws_gateway

#include "upstream_selector.h"

#include <algorithm>
#include <utility>

namespace stockfeed::ws_gateway {

UpstreamSelector::UpstreamSelector(Options options, std::function<double()> uniform01)
    : options_(options), backoff_(options.backoff, std::move(uniform01)) {}

void UpstreamSelector::SetReplicas(std::vector<std::string> addresses) {
  replicas_ = std::move(addresses);
  absl::erase_if(failed_, [this](const std::string& address) {
    return std::find(replicas_.begin(), replicas_.end(), address) == replicas_.end();
  });
}

size_t UpstreamSelector::IndexAfterCurrent() const {
  const auto it = std::find(replicas_.begin(), replicas_.end(), current_);
  if (it == replicas_.end()) return 0;
  return static_cast<size_t>(it - replicas_.begin() + 1) % replicas_.size();
}

bool UpstreamSelector::HasUntried() const {
  return std::any_of(replicas_.begin(), replicas_.end(), [this](const std::string& address) {
    return address != current_ && !failed_.contains(address);
  });
}

UpstreamSelector::Attempt UpstreamSelector::NextAttempt(absl::Time now) {
  if (replicas_.empty()) {
    return Attempt{.address = "", .not_before = now + backoff_.NextDelay()};
  }
  const size_t first = IndexAfterCurrent();
  absl::Time not_before = now;
  std::string next;
  for (size_t i = 0; i < replicas_.size() && next.empty(); ++i) {
    const std::string& candidate = replicas_[(first + i) % replicas_.size()];
    if (!failed_.contains(candidate)) next = candidate;
  }
  if (next.empty()) {
    // Every replica failed since the last good stream: a new round, paced.
    failed_.clear();
    next = replicas_[first];
    not_before = std::max(now, last_failure_ + backoff_.NextDelay());
  }
  if (!current_.empty() && next != current_) ++failovers_;
  current_ = std::move(next);
  phase_ = Phase::kConnecting;
  health_ = Health::kUnknown;
  confirmed_ = false;
  probe_sent_ = false;
  attempt_started_ = not_before;
  last_activity_ = not_before;
  return Attempt{.address = current_, .not_before = not_before};
}

void UpstreamSelector::Confirm() {
  if (confirmed_) return;
  confirmed_ = true;
  backoff_.Reset();
  failed_.clear();
}

void UpstreamSelector::OnConnected(absl::Time now) {
  phase_ = Phase::kStreaming;
  last_activity_ = now;
  if (health_ == Health::kServing) Confirm();
}

void UpstreamSelector::OnUpdate(absl::Time now) {
  last_activity_ = std::max(last_activity_, now);
  probe_sent_ = false;
  if (phase_ == Phase::kStreaming && health_ != Health::kNotServing) Confirm();
}

void UpstreamSelector::OnHealth(Health health, absl::Time now) {
  last_activity_ = std::max(last_activity_, now);
  probe_sent_ = false;
  if (health == Health::kNotServing && health_ != Health::kNotServing) not_serving_since_ = now;
  health_ = health;
  if (health == Health::kServing && phase_ == Phase::kStreaming) Confirm();
}

UpstreamSelector::Decision UpstreamSelector::Poll(absl::Time now) {
  using Action = Decision::Action;
  switch (phase_) {
    case Phase::kWaiting:
      return {};
    case Phase::kConnecting:
      if (now - attempt_started_ >= options_.stall_timeout) return {Action::kAbandon, Failure::kUnreachable};
      return {};
    case Phase::kStreaming:
      break;
  }
  if (health_ == Health::kNotServing && replicas_.size() > 1 &&
      (HasUntried() || now - not_serving_since_ >= options_.backoff.max)) {
    return {Action::kAbandon, Failure::kNotServing};
  }
  const absl::Duration quiet = now - last_activity_;
  if (quiet >= options_.stall_timeout) return {Action::kAbandon, Failure::kStalled};
  if (quiet >= options_.stall_timeout / 2 && !probe_sent_) {
    probe_sent_ = true;
    return {Action::kProbe};
  }
  return {};
}

void UpstreamSelector::OnFailure(Failure why, absl::Time now) {
  if (!current_.empty()) failed_.insert(current_);
  last_failure_reason_ = why;
  phase_ = Phase::kWaiting;
  health_ = Health::kUnknown;
  last_failure_ = now;
}

absl::string_view UpstreamHealthName(UpstreamSelector::Health health) {
  switch (health) {
    case UpstreamSelector::Health::kUnknown:
      return "unknown";
    case UpstreamSelector::Health::kServing:
      return "serving";
    case UpstreamSelector::Health::kNotServing:
      return "not_serving";
  }
  return "unknown";
}

absl::string_view UpstreamFailureName(UpstreamSelector::Failure failure) {
  switch (failure) {
    case UpstreamSelector::Failure::kUnreachable:
      return "unreachable";
    case UpstreamSelector::Failure::kStreamEnded:
      return "stream ended";
    case UpstreamSelector::Failure::kNotServing:
      return "not serving";
    case UpstreamSelector::Failure::kStalled:
      return "stalled";
  }
  return "unknown";
}

}  // namespace stockfeed::ws_gateway

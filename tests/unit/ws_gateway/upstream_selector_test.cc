#include "core/upstream_selector.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

using Action = UpstreamSelector::Decision::Action;
using Failure = UpstreamSelector::Failure;
using Health = UpstreamSelector::Health;
using Phase = UpstreamSelector::Phase;

constexpr absl::Duration kStall = absl::Seconds(10);

// Jitter pinned to the top of the range, so delays equal the ceilings:
// 100 ms, 200 ms, 400 ms, … up to 1 s.
UpstreamSelector MakeSelector(std::vector<std::string> replicas) {
  UpstreamSelector selector(
      {.backoff = {.initial = absl::Milliseconds(100), .max = absl::Seconds(1)}, .stall_timeout = kStall},
      [] { return 0.999999; });
  selector.SetReplicas(std::move(replicas));
  return selector;
}

class UpstreamSelectorTest : public ::testing::Test {
 protected:
  // Connects to the next replica and sees it stream a first update.
  std::string ConnectAndStream(UpstreamSelector& selector) {
    const UpstreamSelector::Attempt attempt = selector.NextAttempt(now_);
    now_ = std::max(now_, attempt.not_before);
    selector.OnConnected(now_);
    selector.OnUpdate(now_);
    return attempt.address;
  }
  absl::Time now_ = absl::FromUnixSeconds(1'000'000);
};

TEST_F(UpstreamSelectorTest, StartsWithTheFirstReplicaRightAway) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  const UpstreamSelector::Attempt attempt = selector.NextAttempt(now_);
  EXPECT_EQ(attempt.address, "a:1");
  EXPECT_EQ(attempt.not_before, now_);
  EXPECT_EQ(selector.phase(), Phase::kConnecting);
  EXPECT_FALSE(selector.ready());
  selector.OnConnected(now_);
  EXPECT_FALSE(selector.ready()) << "not before the replica said SERVING or sent data";
  selector.OnHealth(Health::kServing, now_);
  EXPECT_TRUE(selector.ready());
  EXPECT_EQ(selector.current(), "a:1");
}

TEST_F(UpstreamSelectorTest, AReplicaWithoutHealthServiceIsReadyOnceDataFlows) {
  UpstreamSelector selector = MakeSelector({"a:1"});
  selector.NextAttempt(now_);
  selector.OnConnected(now_);
  EXPECT_FALSE(selector.ready());
  selector.OnUpdate(now_);
  EXPECT_TRUE(selector.ready());
}

TEST_F(UpstreamSelectorTest, AFailedReplicaIsReplacedByTheNextAtOnce) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1", "c:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  selector.OnFailure(Failure::kStreamEnded, now_);
  EXPECT_FALSE(selector.ready());
  const UpstreamSelector::Attempt next = selector.NextAttempt(now_);
  EXPECT_EQ(next.address, "b:1");
  EXPECT_EQ(next.not_before, now_) << "failing over must not wait for a backoff";
  EXPECT_EQ(selector.failovers(), 1u);
}

TEST_F(UpstreamSelectorTest, OnlyWhenEveryReplicaFailedDoesTheBackoffPaceTheNextRound) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  EXPECT_EQ(selector.NextAttempt(now_).address, "a:1");
  selector.OnFailure(Failure::kUnreachable, now_);
  EXPECT_EQ(selector.NextAttempt(now_).not_before, now_);
  selector.OnFailure(Failure::kUnreachable, now_);
  // Both failed: rounds are paced 100 ms, 200 ms, 400 ms apart after the failure.
  for (absl::Duration delay : {absl::Milliseconds(100), absl::Milliseconds(200), absl::Milliseconds(400)}) {
    const UpstreamSelector::Attempt first = selector.NextAttempt(now_);
    EXPECT_NEAR(absl::ToDoubleMilliseconds(first.not_before - now_), absl::ToDoubleMilliseconds(delay), 0.01);
    now_ = first.not_before;
    selector.OnFailure(Failure::kUnreachable, now_);
    const UpstreamSelector::Attempt second = selector.NextAttempt(now_);
    EXPECT_NE(second.address, first.address);
    EXPECT_EQ(second.not_before, now_) << "within a round the other replica is tried at once";
    selector.OnFailure(Failure::kUnreachable, now_);
  }
}

TEST_F(UpstreamSelectorTest, TheBackoffIsCappedAtItsMaximum) {
  UpstreamSelector selector = MakeSelector({"a:1"});
  absl::Duration last;
  for (int i = 0; i < 10; ++i) {
    const UpstreamSelector::Attempt attempt = selector.NextAttempt(now_);
    last = attempt.not_before - now_;
    now_ = attempt.not_before;
    selector.OnFailure(Failure::kUnreachable, now_);
  }
  EXPECT_LE(last, absl::Seconds(1));
  EXPECT_GE(last, absl::Milliseconds(999));
}

TEST_F(UpstreamSelectorTest, AGoodStreamStartsTheBackoffAfreshButAMereConnectDoesNot) {
  UpstreamSelector selector = MakeSelector({"a:1"});
  for (int i = 0; i < 4; ++i) {
    now_ = selector.NextAttempt(now_).not_before;
    selector.OnFailure(Failure::kUnreachable, now_);
  }
  // Connects, then breaks before sending anything: no reset (no flapping loop).
  now_ = selector.NextAttempt(now_).not_before;
  selector.OnConnected(now_);
  selector.OnFailure(Failure::kStreamEnded, now_);
  EXPECT_GE(selector.NextAttempt(now_).not_before - now_, absl::Milliseconds(999));
  // Streams an update: the next failure waits the initial delay only.
  selector.OnConnected(now_ + absl::Seconds(1));
  now_ += absl::Seconds(1);
  selector.OnUpdate(now_);
  selector.OnFailure(Failure::kStreamEnded, now_);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(selector.NextAttempt(now_).not_before - now_), 100, 0.01);
}

TEST_F(UpstreamSelectorTest, AServingHealthMessageAlsoConfirmsTheStream) {
  UpstreamSelector selector = MakeSelector({"a:1"});
  for (int i = 0; i < 4; ++i) {
    now_ = selector.NextAttempt(now_).not_before;
    selector.OnFailure(Failure::kUnreachable, now_);
  }
  now_ = selector.NextAttempt(now_).not_before;
  selector.OnHealth(Health::kServing, now_);  // may arrive before the stream's headers
  selector.OnConnected(now_);
  selector.OnFailure(Failure::kStreamEnded, now_);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(selector.NextAttempt(now_).not_before - now_), 100, 0.01);
}

TEST_F(UpstreamSelectorTest, StaysOnAHealthyReplicaWhenAnEarlierOneComesBack) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  selector.OnFailure(Failure::kStreamEnded, now_);
  ASSERT_EQ(ConnectAndStream(selector), "b:1");
  // However long b streams, nothing in the selector moves it back to a.
  for (int i = 0; i < 100; ++i) {
    now_ += absl::Seconds(1);
    selector.OnUpdate(now_);
    EXPECT_EQ(selector.Poll(now_).action, Action::kNone);
  }
  selector.SetReplicas({"a:1", "b:1"});  // a re-resolution lists a again
  EXPECT_EQ(selector.Poll(now_).action, Action::kNone);
  EXPECT_EQ(selector.current(), "b:1");
  EXPECT_EQ(selector.failovers(), 1u);
}

TEST_F(UpstreamSelectorTest, NotServingMovesToAnUntriedReplicaAndIsNotReady) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  selector.OnHealth(Health::kNotServing, now_);
  EXPECT_FALSE(selector.ready());
  const UpstreamSelector::Decision decision = selector.Poll(now_);
  EXPECT_EQ(decision.action, Action::kAbandon);
  EXPECT_EQ(decision.reason, Failure::kNotServing);
  selector.OnFailure(decision.reason, now_);
  EXPECT_EQ(selector.NextAttempt(now_).address, "b:1");
}

TEST_F(UpstreamSelectorTest, NotServingEverywhereStaysWithoutFlappingThenLooksAgainAfterTheBackoffMaximum) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  selector.OnHealth(Health::kNotServing, now_);
  selector.OnFailure(selector.Poll(now_).reason, now_);
  // b connects but is not serving either (a shared database is down): stay.
  const UpstreamSelector::Attempt b = selector.NextAttempt(now_);
  ASSERT_EQ(b.address, "b:1");
  selector.OnConnected(now_);
  selector.OnHealth(Health::kNotServing, now_);
  now_ += absl::Milliseconds(500);
  selector.OnHealth(Health::kNotServing, now_);
  EXPECT_EQ(selector.Poll(now_).action, Action::kNone);
  EXPECT_FALSE(selector.ready());
  // Still not serving after the backoff maximum (1 s) with another replica listed: look again.
  now_ += absl::Milliseconds(499);
  selector.OnUpdate(now_);
  EXPECT_EQ(selector.Poll(now_).action, Action::kNone);
  now_ += absl::Milliseconds(1);
  EXPECT_EQ(selector.Poll(now_).action, Action::kAbandon);
}

TEST_F(UpstreamSelectorTest, AReplicaThatRecoversIsReadyAgainAndItsNextOutageStartsANewRound) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  selector.OnHealth(Health::kNotServing, now_);
  selector.OnFailure(selector.Poll(now_).reason, now_);
  ASSERT_EQ(selector.NextAttempt(now_).address, "b:1");
  selector.OnConnected(now_);
  selector.OnHealth(Health::kNotServing, now_);
  EXPECT_EQ(selector.Poll(now_).action, Action::kNone) << "a failed in this round: stay on b";
  selector.OnHealth(Health::kServing, now_);
  EXPECT_TRUE(selector.ready());
  EXPECT_EQ(selector.current(), "b:1");
  // b served, so a counts as untried again: the next NOT_SERVING moves to it.
  selector.OnHealth(Health::kNotServing, now_);
  EXPECT_EQ(selector.Poll(now_).action, Action::kAbandon);
}

TEST_F(UpstreamSelectorTest, ASingleNotServingReplicaIsKeptAndReportedNotReady) {
  UpstreamSelector selector = MakeSelector({"a:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  selector.OnHealth(Health::kNotServing, now_);
  for (int i = 0; i < 30; ++i) {
    now_ += absl::Seconds(1);
    selector.OnHealth(Health::kNotServing, now_);
    EXPECT_NE(selector.Poll(now_).action, Action::kAbandon);
  }
  EXPECT_FALSE(selector.ready());
}

TEST_F(UpstreamSelectorTest, AQuietStreamIsProbedOnceThenAbandonedWhenNothingAnswers) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  EXPECT_EQ(selector.Poll(now_ + kStall / 2 - absl::Milliseconds(1)).action, Action::kNone);
  EXPECT_EQ(selector.Poll(now_ + kStall / 2).action, Action::kProbe);
  EXPECT_EQ(selector.Poll(now_ + kStall / 2 + absl::Seconds(1)).action, Action::kNone) << "one probe per quiet spell";
  const UpstreamSelector::Decision decision = selector.Poll(now_ + kStall);
  EXPECT_EQ(decision.action, Action::kAbandon);
  EXPECT_EQ(decision.reason, Failure::kStalled);
}

TEST_F(UpstreamSelectorTest, AnAnsweredProbeKeepsAQuietStream) {
  UpstreamSelector selector = MakeSelector({"a:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  for (int i = 0; i < 10; ++i) {
    now_ += kStall / 2;
    ASSERT_EQ(selector.Poll(now_).action, Action::kProbe);
    selector.OnHealth(Health::kServing, now_);
  }
  EXPECT_EQ(selector.Poll(now_ + absl::Seconds(1)).action, Action::kNone);
  EXPECT_TRUE(selector.ready());
}

TEST_F(UpstreamSelectorTest, AConnectAttemptThatHangsIsGivenUpAfterTheStallTimeout) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  const UpstreamSelector::Attempt attempt = selector.NextAttempt(now_);
  EXPECT_EQ(selector.Poll(now_ + kStall - absl::Milliseconds(1)).action, Action::kNone);
  const UpstreamSelector::Decision decision = selector.Poll(now_ + kStall);
  EXPECT_EQ(decision.action, Action::kAbandon);
  EXPECT_EQ(decision.reason, Failure::kUnreachable);
  selector.OnFailure(decision.reason, now_ + kStall);
  EXPECT_EQ(selector.NextAttempt(now_ + kStall).address, "b:1");
  EXPECT_EQ(attempt.address, "a:1");
}

TEST_F(UpstreamSelectorTest, NoReplicasKnownMeansWaitingWithBackoff) {
  UpstreamSelector selector = MakeSelector({});
  const UpstreamSelector::Attempt attempt = selector.NextAttempt(now_);
  EXPECT_TRUE(attempt.address.empty());
  EXPECT_GT(attempt.not_before, now_);
  // A later resolution finds them.
  selector.SetReplicas({"c:1"});
  EXPECT_EQ(selector.NextAttempt(attempt.not_before).address, "c:1");
}

TEST_F(UpstreamSelectorTest, ReplicasDroppedByAResolutionAreForgottenAndNewOnesTried) {
  UpstreamSelector selector = MakeSelector({"a:1", "b:1"});
  ASSERT_EQ(ConnectAndStream(selector), "a:1");
  selector.OnFailure(Failure::kStreamEnded, now_);
  selector.SetReplicas({"b:1", "d:1"});
  EXPECT_EQ(selector.NextAttempt(now_).address, "b:1");
  selector.OnFailure(Failure::kUnreachable, now_);
  const UpstreamSelector::Attempt d = selector.NextAttempt(now_);
  EXPECT_EQ(d.address, "d:1");
  EXPECT_EQ(d.not_before, now_);
}

}  // namespace
}  // namespace stockfeed::ws_gateway

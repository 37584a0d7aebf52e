#include "core/upstream_tracker.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

using Verdict = UpstreamTracker::Verdict;

v1::PriceUpdate Make(uint64_t seq, v1::UpdateKind kind = v1::UPDATE_KIND_LIVE, std::string epoch = "e1",
                     uint64_t dropped_before = 0) {
  v1::PriceUpdate update;
  update.set_symbol("AAPL");
  update.set_source("finnhub");
  update.set_sequence(seq);
  update.set_kind(kind);
  update.set_epoch(std::move(epoch));
  update.set_dropped_before(dropped_before);
  return update;
}

// One snapshot entry per symbol/source, so entries name their own symbol.
v1::PriceUpdate Snapshot(uint64_t seq, std::string epoch = "e1", std::string symbol = "AAPL") {
  v1::PriceUpdate update = Make(seq, v1::UPDATE_KIND_SNAPSHOT, std::move(epoch));
  update.set_symbol(std::move(symbol));
  return update;
}

// deliver, new_epoch, gap, snapshot
std::string Flags(const Verdict& v) {
  return std::string(v.deliver ? "D" : "-") + (v.new_epoch ? "E" : "-") + (v.gap ? "G" : "-") +
         (v.snapshot ? "S" : "-");
}

TEST(UpstreamTrackerTest, FirstUpdateStartsAnEpochWithAGap) {
  UpstreamTracker tracker;
  EXPECT_EQ(Flags(tracker.Observe(Make(1))), "DEG-");
  EXPECT_EQ(tracker.epoch(), "e1");
  EXPECT_EQ(tracker.last_seq(), 1u);
}

TEST(UpstreamTrackerTest, ConsecutiveLiveUpdatesAreContinuous) {
  UpstreamTracker tracker;
  tracker.Observe(Make(1));
  EXPECT_EQ(Flags(tracker.Observe(Make(2))), "D---");
  EXPECT_EQ(Flags(tracker.Observe(Make(3))), "D---");
  EXPECT_EQ(tracker.last_seq(), 3u);
}

TEST(UpstreamTrackerTest, JumpIsAGap) {
  UpstreamTracker tracker;
  tracker.Observe(Make(1));
  EXPECT_EQ(Flags(tracker.Observe(Make(5))), "D-G-");
  EXPECT_EQ(Flags(tracker.Observe(Make(6))), "D---");
}

TEST(UpstreamTrackerTest, DroppedBeforeIsAGapEvenWhenConsecutive) {
  UpstreamTracker tracker;
  tracker.Observe(Make(1));
  EXPECT_EQ(Flags(tracker.Observe(Make(2, v1::UPDATE_KIND_LIVE, "e1", 3))), "D-G-");
}

TEST(UpstreamTrackerTest, DuplicatesAfterAResumeAreNotDelivered) {
  UpstreamTracker tracker;
  for (uint64_t seq = 1; seq <= 5; ++seq) tracker.Observe(Make(seq));
  // Reconnected with after_sequence=3 somewhere else: 4 and 5 come again.
  EXPECT_EQ(Flags(tracker.Observe(Make(4, v1::UPDATE_KIND_REPLAY))), "----");
  EXPECT_EQ(Flags(tracker.Observe(Make(5, v1::UPDATE_KIND_REPLAY))), "----");
  EXPECT_EQ(Flags(tracker.Observe(Make(6, v1::UPDATE_KIND_REPLAY))), "D---");
  EXPECT_EQ(Flags(tracker.Observe(Make(7))), "D---");
  EXPECT_EQ(tracker.last_seq(), 7u);
}

TEST(UpstreamTrackerTest, SnapshotThenLive) {
  UpstreamTracker tracker;
  for (uint64_t seq = 1; seq <= 5; ++seq) tracker.Observe(Make(seq));
  // Resume not held: the stream starts over with a snapshot, ordered by symbol.
  EXPECT_EQ(Flags(tracker.Observe(Snapshot(3))), "----");  // already passed on
  EXPECT_EQ(Flags(tracker.Observe(Snapshot(9))), "D-GS");  // first news: the gap
  EXPECT_EQ(Flags(tracker.Observe(Snapshot(7, "e1", "MSFT"))), "D--S");
  EXPECT_EQ(tracker.last_seq(), 5u);                        // snapshots are no position
  EXPECT_EQ(Flags(tracker.Observe(Make(10))), "D-G-");      // continuity restarts
  EXPECT_EQ(Flags(tracker.Observe(Make(11))), "D---");
  EXPECT_EQ(tracker.last_seq(), 11u);
}

TEST(UpstreamTrackerTest, AfterAGapASnapshotRestoresValuesOlderThanThePosition) {
  UpstreamTracker tracker;
  tracker.Observe(Make(1));                                     // AAPL at 1
  EXPECT_EQ(Flags(tracker.Observe(Make(9, v1::UPDATE_KIND_LIVE, "e1", 7))), "D-G-");  // 2..8 lost
  // The snapshot's MSFT value (seq 4) was among the lost ones: it is news
  // although 4 < 9; AAPL's value at 1 is not.
  EXPECT_EQ(Flags(tracker.Observe(Snapshot(4, "e1", "MSFT"))), "D-GS");
  EXPECT_EQ(Flags(tracker.Observe(Snapshot(1))), "----");
}

TEST(UpstreamTrackerTest, NewEpochResetsThePosition) {
  UpstreamTracker tracker;
  for (uint64_t seq = 1; seq <= 50; ++seq) tracker.Observe(Make(seq));
  EXPECT_EQ(Flags(tracker.Observe(Make(1, v1::UPDATE_KIND_LIVE, "e2"))), "DEG-");
  EXPECT_EQ(tracker.epoch(), "e2");
  EXPECT_EQ(tracker.last_seq(), 1u);
  EXPECT_EQ(Flags(tracker.Observe(Make(2, v1::UPDATE_KIND_LIVE, "e2"))), "D---");
}

TEST(UpstreamTrackerTest, NewEpochStartingWithASnapshot) {
  UpstreamTracker tracker;
  for (uint64_t seq = 1; seq <= 50; ++seq) tracker.Observe(Make(seq));
  EXPECT_EQ(Flags(tracker.Observe(Snapshot(7, "e2"))), "DEGS");  // low seq is news in a new epoch
  EXPECT_EQ(Flags(tracker.Observe(Snapshot(3, "e2", "MSFT"))), "D--S");
  EXPECT_EQ(tracker.last_seq(), 0u);
  EXPECT_EQ(Flags(tracker.Observe(Make(8, v1::UPDATE_KIND_LIVE, "e2"))), "D-G-");
}

TEST(UpstreamTrackerTest, EpochChangeMidSnapshotStartsAFreshSnapshot) {
  UpstreamTracker tracker;
  tracker.Observe(Make(1));
  tracker.Observe(Snapshot(4));
  EXPECT_EQ(Flags(tracker.Observe(Snapshot(2, "e2"))), "DEGS");
}

}  // namespace
}  // namespace stockfeed::ws_gateway

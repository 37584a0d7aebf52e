#include "stream_tally.h"

#include <gtest/gtest.h>

namespace stockfeed::bench {
namespace {

ObservedUpdate Update(uint64_t sequence, const char* epoch = "e1", uint64_t dropped_before = 0) {
  return {.sequence = sequence, .epoch = epoch, .live = true, .dropped_before = dropped_before,
          .event_time_us = 1000};
}

TEST(StreamChecker, ConsecutiveIsClean) {
  StreamChecker checker;
  StreamTally tally;
  for (uint64_t s = 5; s < 10; ++s) checker.Observe(Update(s), 1500, &tally);
  EXPECT_EQ(tally.updates, 5);
  EXPECT_EQ(tally.seq_gaps, 0);
  EXPECT_EQ(tally.latency.max(), 500);
}

TEST(StreamChecker, WarmupKeepsContinuity) {
  StreamChecker checker;
  StreamTally tally;
  checker.Observe(Update(1), 1000, nullptr);
  checker.Observe(Update(3), 1000, &tally);
  EXPECT_EQ(tally.updates, 1);
  EXPECT_EQ(tally.seq_gaps, 1);
  EXPECT_EQ(tally.seq_missing, 1);
  EXPECT_EQ(tally.unexplained_gaps, 1);
}

TEST(StreamChecker, AnnouncedDropIsExplained) {
  StreamChecker checker;
  StreamTally tally;
  checker.Observe(Update(1), 1000, &tally);
  checker.Observe(Update(11, "e1", 9), 1000, &tally);
  EXPECT_EQ(tally.seq_gaps, 1);
  EXPECT_EQ(tally.dropped_before, 9);
  EXPECT_EQ(tally.unexplained_gaps, 0);
}

TEST(StreamChecker, DuplicatesBackwardsAndEpochs) {
  StreamChecker checker;
  StreamTally tally;
  checker.Observe(Update(7), 1000, &tally);
  checker.Observe(Update(7), 1000, &tally);
  checker.Observe(Update(6), 1000, &tally);
  checker.Observe(Update(1, "e2"), 1000, &tally);  // new sequence space, not backwards
  checker.Observe(Update(2, "e2"), 1000, &tally);
  EXPECT_EQ(tally.seq_duplicates, 1);
  EXPECT_EQ(tally.seq_backwards, 1);
  EXPECT_EQ(tally.epoch_changes, 1);
  EXPECT_EQ(tally.seq_gaps, 0);
}

}  // namespace
}  // namespace stockfeed::bench

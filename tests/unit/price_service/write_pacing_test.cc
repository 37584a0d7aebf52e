#include "core/write_pacing.h"

#include <cstdint>

#include "core/update_batch.h"
#include "gtest/gtest.h"

namespace stockfeed::price_service {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'000'000);
constexpr absl::Duration kInterval = absl::Milliseconds(2);
constexpr size_t kFullBatch = 256;

PriceHub::Newest At(uint64_t sequence, uint64_t generation = 1) {
  return {.generation = generation, .sequence = sequence};
}

TEST(PacingClockTest, TheFirstPublishTicksAtOnce) {
  PacingClock clock(kInterval, kFullBatch);
  EXPECT_EQ(clock.NextTick(kStart, At(1)), kStart);
}

TEST(PacingClockTest, PublishesWithinAnIntervalOfTheLastTickWaitForTheNext) {
  PacingClock clock(kInterval, kFullBatch);
  clock.Ticked(kStart, At(20));
  EXPECT_EQ(clock.NextTick(kStart + absl::Milliseconds(1), At(40)), kStart + kInterval);
  EXPECT_EQ(clock.NextTick(kStart + absl::Microseconds(1999), At(20 + kFullBatch - 1)), kStart + kInterval);
}

TEST(PacingClockTest, AQuietFeedTicksAtOnceSoItGainsNoLatency) {
  PacingClock clock(kInterval, kFullBatch);
  clock.Ticked(kStart, At(20));
  EXPECT_EQ(clock.NextTick(kStart + kInterval, At(21)), kStart + kInterval);
  EXPECT_EQ(clock.NextTick(kStart + absl::Seconds(5), At(21)), kStart + absl::Seconds(5));
}

TEST(PacingClockTest, AFullBatchPublishedSinceTheLastTickTicksAtOnce) {
  PacingClock clock(kInterval, kFullBatch);
  clock.Ticked(kStart, At(20));
  EXPECT_FALSE(clock.FullBatchSinceTick(At(20 + kFullBatch - 1)));
  EXPECT_TRUE(clock.FullBatchSinceTick(At(20 + kFullBatch)));
  EXPECT_EQ(clock.NextTick(kStart, At(20 + kFullBatch)), kStart);
}

TEST(PacingClockTest, ANewEpochTicksAtOnce) {
  PacingClock clock(kInterval, kFullBatch);
  clock.Ticked(kStart, At(50'000, 1));
  EXPECT_TRUE(clock.FullBatchSinceTick(At(0, 2)));  // StartEpoch: sequences start again
  EXPECT_EQ(clock.NextTick(kStart, At(3, 2)), kStart);
}

TEST(PacingClockTest, EachTickRestartsTheInterval) {
  PacingClock clock(kInterval, kFullBatch);
  clock.Ticked(kStart, At(20));
  clock.Ticked(kStart + absl::Milliseconds(5), At(120));
  EXPECT_EQ(clock.NextTick(kStart + absl::Milliseconds(6), At(140)), kStart + absl::Milliseconds(7));
  EXPECT_FALSE(clock.FullBatchSinceTick(At(120 + kFullBatch - 1)));
}

TEST(StreamWriteTest, OnATickOrUnpacedWhateverIsReadyGoesOut) {
  EXPECT_EQ(WhenReady(0), StreamWrite::kNothing);
  EXPECT_EQ(WhenReady(1), StreamWrite::kNow);
  EXPECT_EQ(WhenReady(UINT64_MAX), StreamWrite::kNow);
}

TEST(StreamWriteTest, AfterAPacedWriteOnlyAFullBatchGoesAtOnceTheRestWaitsForTheTick) {
  EXPECT_EQ(AfterPacedWrite(0, kFullBatch), StreamWrite::kNothing);
  EXPECT_EQ(AfterPacedWrite(1, kFullBatch), StreamWrite::kAtTick);
  EXPECT_EQ(AfterPacedWrite(kFullBatch - 1, kFullBatch), StreamWrite::kAtTick);
  EXPECT_EQ(AfterPacedWrite(kFullBatch, kFullBatch), StreamWrite::kNow);
  EXPECT_EQ(AfterPacedWrite(UINT64_MAX, kFullBatch), StreamWrite::kNow);  // new epoch: read to find out
}

TEST(BatchLimitTest, StreamBatchUpToTheMessageCap) {
  EXPECT_EQ(BatchLimit(1), 1u);
  EXPECT_EQ(BatchLimit(256), 256u);
  EXPECT_EQ(BatchLimit(4096), 4096u);
  EXPECT_EQ(BatchLimit(65536), 4096u);
}

}  // namespace
}  // namespace stockfeed::price_service

#include "tail/stream_position.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "gtest/gtest.h"

namespace stockfeed::tail {
namespace {

v1::PriceUpdate Update(uint64_t sequence, std::string epoch = "e1",
                       v1::UpdateKind kind = v1::UPDATE_KIND_LIVE) {
  v1::PriceUpdate update;
  update.set_symbol("AAPL");
  update.set_source("finnhub");
  update.set_price(1);
  update.set_sequence(sequence);
  update.set_epoch(std::move(epoch));
  update.set_kind(kind);
  return update;
}

TEST(PositionTrackerTest, FreshStartDeliversEverythingAndFollowsTheSequence) {
  PositionTracker tracker({}, /*consecutive=*/true);
  tracker.StartStream();
  for (uint64_t seq : {5, 6, 7}) {
    const UpdateVerdict verdict = tracker.Accept(Update(seq));
    EXPECT_TRUE(verdict.deliver);
    EXPECT_EQ(verdict.missed, 0u);
    EXPECT_FALSE(verdict.epoch_changed);
  }
  EXPECT_EQ(tracker.position(), (StreamPosition{"e1", 7}));
}

TEST(PositionTrackerTest, ResumedStreamSkipsWhatWasAlreadyHandled) {
  PositionTracker tracker({"e1", 10}, true);
  tracker.StartStream();
  EXPECT_FALSE(tracker.Accept(Update(9, "e1", v1::UPDATE_KIND_REPLAY)).deliver);
  EXPECT_FALSE(tracker.Accept(Update(10, "e1", v1::UPDATE_KIND_REPLAY)).deliver);
  EXPECT_TRUE(tracker.Accept(Update(11, "e1", v1::UPDATE_KIND_REPLAY)).deliver);
  EXPECT_FALSE(tracker.Accept(Update(11)).deliver) << "a duplicate after a reconnect";
  EXPECT_TRUE(tracker.Accept(Update(12)).deliver);
}

TEST(PositionTrackerTest, HoleInAnUnfilteredStreamIsAGap) {
  PositionTracker tracker({"e1", 10}, true);
  tracker.StartStream();
  const UpdateVerdict verdict = tracker.Accept(Update(14));
  EXPECT_TRUE(verdict.deliver);
  EXPECT_EQ(verdict.missed, 3u);
}

TEST(PositionTrackerTest, HoleInAFilteredStreamIsNormal) {
  PositionTracker tracker({"e1", 10}, /*consecutive=*/false);
  tracker.StartStream();
  EXPECT_EQ(tracker.Accept(Update(14)).missed, 0u);
}

TEST(PositionTrackerTest, ServiceSideDropsAreReportedEvenWhenFiltered) {
  PositionTracker tracker({"e1", 10}, false);
  tracker.StartStream();
  v1::PriceUpdate update = Update(500);
  update.set_dropped_before(42);
  EXPECT_EQ(tracker.Accept(update).missed, 42u);
}

TEST(PositionTrackerTest, SnapshotAnsweringAResumeMeansTheRangeIsGone) {
  PositionTracker tracker({"e1", 10}, false);
  tracker.StartStream();
  // Snapshot entries come ordered by symbol, not sequence: 900 then 800.
  const UpdateVerdict first = tracker.Accept(Update(900, "e1", v1::UPDATE_KIND_SNAPSHOT));
  EXPECT_TRUE(first.deliver);
  EXPECT_EQ(first.missed, 889u);
  const UpdateVerdict second = tracker.Accept(Update(800, "e1", v1::UPDATE_KIND_SNAPSHOT));
  EXPECT_TRUE(second.deliver) << "an older snapshot entry is still news to this consumer";
  EXPECT_EQ(second.missed, 0u);
  EXPECT_FALSE(tracker.Accept(Update(5, "e1", v1::UPDATE_KIND_SNAPSHOT)).deliver);
  EXPECT_EQ(tracker.position().sequence, 900u);
}

TEST(PositionTrackerTest, NewEpochResetsThePositionWithoutCallingItAGap) {
  PositionTracker tracker({"e1", 1000}, true);
  tracker.StartStream();
  const UpdateVerdict verdict = tracker.Accept(Update(3, "e2", v1::UPDATE_KIND_SNAPSHOT));
  EXPECT_TRUE(verdict.deliver);
  EXPECT_TRUE(verdict.epoch_changed);
  EXPECT_EQ(verdict.missed, 0u);
  EXPECT_TRUE(tracker.Accept(Update(1, "e2", v1::UPDATE_KIND_SNAPSHOT)).deliver);
  EXPECT_TRUE(tracker.Accept(Update(4, "e2")).deliver);
  EXPECT_EQ(tracker.position(), (StreamPosition{"e2", 4}));
}

TEST(PositionTrackerTest, PositionWithoutEpochMeansTheCurrentOne) {
  PositionTracker tracker({"", 10}, true);
  tracker.StartStream();
  const UpdateVerdict verdict = tracker.Accept(Update(11, "e1", v1::UPDATE_KIND_REPLAY));
  EXPECT_TRUE(verdict.deliver);
  EXPECT_FALSE(verdict.epoch_changed);
  EXPECT_FALSE(tracker.Accept(Update(10, "e1", v1::UPDATE_KIND_REPLAY)).deliver);
  EXPECT_EQ(tracker.position(), (StreamPosition{"e1", 11}));
}

TEST(StateFileTest, RoundTrips) {
  const StreamPosition position{"pg-5f0c", 123456789012};
  EXPECT_EQ(FormatStateFile(position), "epoch=pg-5f0c\nsequence=123456789012\n");
  absl::StatusOr<StreamPosition> parsed = ParseStateFile(FormatStateFile(position));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, position);
}

TEST(StateFileTest, RejectsWhatIsNotAPosition) {
  for (const char* text : {"", "epoch=x\n", "sequence=3\n", "epoch=x\nsequence=-1\n", "epoch=x\nsequence=3\nfoo=1\n",
                           "epoch=x\nsequence=3\nsequence=4\n", "garbage"}) {
    EXPECT_FALSE(ParseStateFile(text).ok()) << text;
  }
}

class StateFileOnDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tail_state_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(StateFileOnDiskTest, MissingFileIsNoPosition) {
  absl::StatusOr<StreamPosition> loaded = LoadStateFile((dir_ / "absent").string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->empty());
}

TEST_F(StateFileOnDiskTest, SaveReplacesAtomicallyAndLeavesNoTemporary) {
  const std::string path = (dir_ / "position").string();
  ASSERT_TRUE(SaveStateFile(path, {"e1", 5}).ok());
  ASSERT_TRUE(SaveStateFile(path, {"e1", 6}).ok());
  absl::StatusOr<StreamPosition> loaded = LoadStateFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, (StreamPosition{"e1", 6}));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_F(StateFileOnDiskTest, CorruptFileIsAnErrorNamingTheFile) {
  const std::string path = (dir_ / "position").string();
  std::ofstream(path) << "not a position";
  absl::StatusOr<StreamPosition> loaded = LoadStateFile(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find(path), absl::string_view::npos) << loaded.status();
}

TEST_F(StateFileOnDiskTest, UnwritableDirectoryIsAnError) {
  EXPECT_FALSE(SaveStateFile((dir_ / "no" / "such" / "dir").string(), {"e1", 1}).ok());
}

}  // namespace
}  // namespace stockfeed::tail

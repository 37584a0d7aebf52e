#include "core/feed_log.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::IsSupersetOf;
using ::testing::Not;

FramePtr Price(uint64_t seq, std::string symbol = "AAPL", std::string source = "finnhub") {
  return Frame::Price("{\"seq\":" + std::to_string(seq) + "}", seq, symbol, source);
}

std::vector<uint64_t> Seqs(const std::vector<FramePtr>& frames) {
  std::vector<uint64_t> seqs;
  for (const FramePtr& frame : frames) seqs.push_back(frame->seq());
  return seqs;
}

bool All(const Frame&) { return true; }

// Appends frames with sequences first..last (inclusive) in order.
void AppendRange(FeedLog& log, uint64_t first, uint64_t last) {
  for (uint64_t seq = first; seq <= last; ++seq) log.Append(Price(seq));
}

TEST(FeedLogTest, EmptyLog) {
  FeedLog log(8, 0);
  EXPECT_EQ(log.head(), 0u);
  EXPECT_EQ(log.tail(), 1u);
  EXPECT_EQ(log.last_seq(), 0u);
  EXPECT_EQ(log.epoch(), "");
  EXPECT_EQ(log.ResumeCursor("", 0), std::nullopt);
  EXPECT_THAT(log.Latest(0, 0, All), IsEmpty());
}

TEST(FeedLogTest, AppendNumbersFramesFromOne) {
  FeedLog log(8, 0);
  EXPECT_EQ(log.Append(Price(100)), 1u);
  EXPECT_EQ(log.Append(Price(101)), 2u);
  EXPECT_EQ(log.Append(Price(105)), 3u);
  EXPECT_EQ(log.head(), 3u);
  EXPECT_EQ(log.tail(), 1u);
  EXPECT_EQ(log.at(1)->seq(), 100u);
  EXPECT_EQ(log.at(3)->seq(), 105u);
  EXPECT_EQ(log.last_seq(), 105u);
}

TEST(FeedLogTest, RingKeepsTheNewestCapacityFrames) {
  FeedLog log(4, 0);
  AppendRange(log, 1, 10);
  EXPECT_EQ(log.head(), 10u);
  EXPECT_EQ(log.tail(), 7u);
  for (uint64_t index = log.tail(); index <= log.head(); ++index) {
    EXPECT_EQ(log.at(index)->seq(), index) << index;
  }
  EXPECT_EQ(log.last_seq(), 10u);
}

TEST(FeedLogTest, TailMovesExactlyWhenFull) {
  FeedLog log(3, 0);
  AppendRange(log, 1, 3);
  EXPECT_EQ(log.tail(), 1u);
  log.Append(Price(4));
  EXPECT_EQ(log.tail(), 2u);
}

TEST(FeedLogTest, ZeroCapacityHoldsOne) {
  FeedLog log(0, 0);
  AppendRange(log, 1, 3);
  EXPECT_EQ(log.tail(), 3u);
  EXPECT_EQ(log.at(3)->seq(), 3u);
}

class FeedLogResumeTest : public testing::Test {
 protected:
  FeedLogResumeTest() { log_.StartEpoch("e1"); }
  FeedLog log_{8, 0};
};

TEST_F(FeedLogResumeTest, CursorIsTheIndexOfTheClientsLastSeq) {
  AppendRange(log_, 10, 14);  // indexes 1..5
  EXPECT_EQ(log_.ResumeCursor("e1", 12), 3u);
  EXPECT_EQ(log_.ResumeCursor("e1", 14), 5u);  // up to date: nothing to send
  EXPECT_EQ(log_.ResumeCursor("e1", 9), 0u);   // saw the frame just before the first held
}

TEST_F(FeedLogResumeTest, NotHeldWhenTheClientMissedMoreThanTheLogHolds) {
  AppendRange(log_, 10, 14);
  EXPECT_EQ(log_.ResumeCursor("e1", 8), std::nullopt);
  EXPECT_EQ(log_.ResumeCursor("e1", 0), std::nullopt);
}

TEST_F(FeedLogResumeTest, NotHeldWhenTheClientIsAhead) {
  AppendRange(log_, 10, 14);
  EXPECT_EQ(log_.ResumeCursor("e1", 15), std::nullopt);
  EXPECT_EQ(log_.ResumeCursor("e1", UINT64_MAX), std::nullopt);
}

TEST_F(FeedLogResumeTest, NotHeldForAnotherEpoch) {
  AppendRange(log_, 10, 14);
  EXPECT_EQ(log_.ResumeCursor("e0", 12), std::nullopt);
  EXPECT_EQ(log_.ResumeCursor("", 12), std::nullopt);
}

TEST_F(FeedLogResumeTest, SparseSequencesResumeAfterTheLastSeqNotAbove) {
  for (uint64_t seq : {10, 12, 15, 20}) log_.Append(Price(seq));
  EXPECT_EQ(log_.ResumeCursor("e1", 12), 2u);
  EXPECT_EQ(log_.ResumeCursor("e1", 13), 2u);  // next frame sent is 15
  EXPECT_EQ(log_.ResumeCursor("e1", 19), 3u);
}

TEST_F(FeedLogResumeTest, ExactAfterTheRingWrapped) {
  AppendRange(log_, 1, 20);  // holds indexes (and seqs) 13..20
  EXPECT_EQ(log_.tail(), 13u);
  EXPECT_EQ(log_.ResumeCursor("e1", 12), 12u);
  EXPECT_EQ(log_.ResumeCursor("e1", 11), std::nullopt);
  EXPECT_EQ(log_.ResumeCursor("e1", 17), 17u);
  EXPECT_EQ(log_.ResumeCursor("e1", 20), 20u);
  // Every held position, brute force.
  for (uint64_t seq = 12; seq <= 20; ++seq) {
    const std::optional<uint64_t> cursor = log_.ResumeCursor("e1", seq);
    ASSERT_TRUE(cursor.has_value()) << seq;
    if (*cursor >= log_.tail()) {
      EXPECT_EQ(log_.at(*cursor)->seq(), seq);
    }
    if (*cursor < log_.head()) {
      EXPECT_EQ(log_.at(*cursor + 1)->seq(), seq + 1);
    }
  }
}

TEST_F(FeedLogResumeTest, GapLimitsResumeToFramesAfterIt) {
  AppendRange(log_, 1, 3);  // indexes 1..3
  log_.MarkGap();
  AppendRange(log_, 10, 12);  // indexes 4..6
  EXPECT_EQ(log_.ResumeCursor("e1", 2), std::nullopt);  // would need 3, which is before the gap
  EXPECT_EQ(log_.ResumeCursor("e1", 3), std::nullopt);  // would need 4..9, never received
  EXPECT_EQ(log_.ResumeCursor("e1", 9), 3u);
  EXPECT_EQ(log_.ResumeCursor("e1", 11), 5u);
}

TEST_F(FeedLogResumeTest, NothingAfterAGapNothingToResume) {
  AppendRange(log_, 1, 3);
  log_.MarkGap();
  EXPECT_EQ(log_.ResumeCursor("e1", 3), std::nullopt);
}

TEST_F(FeedLogResumeTest, NewEpochResumesOnlyInItself) {
  AppendRange(log_, 1, 5);
  log_.StartEpoch("e2");
  EXPECT_EQ(log_.epoch(), "e2");
  EXPECT_EQ(log_.ResumeCursor("e1", 5), std::nullopt);
  EXPECT_EQ(log_.ResumeCursor("e2", 0), std::nullopt);  // nothing of e2 yet
  AppendRange(log_, 1, 3);                              // indexes 6..8
  EXPECT_EQ(log_.ResumeCursor("e2", 0), 5u);            // from e2's first frame
  EXPECT_EQ(log_.ResumeCursor("e2", 2), 7u);
  EXPECT_EQ(log_.ResumeCursor("e1", 2), std::nullopt);
}

TEST_F(FeedLogResumeTest, StartingTheSameEpochIsNoGap) {
  AppendRange(log_, 1, 5);
  log_.StartEpoch("e1");
  EXPECT_EQ(log_.ResumeCursor("e1", 2), 2u);
  EXPECT_THAT(Seqs(log_.Latest(0, log_.head(), All)), ElementsAre(5));
}

// What a v1 session does with the log (Session::Pump): before taking a
// frame it announces the epoch that frame begins, and takes frames only up
// to the next epoch it has not announced. Records what its client receives.
struct EpochReader {
  const FeedLog& log;
  uint64_t cursor;
  uint64_t epoch_known;
  std::vector<std::string> received;  // "epoch:<name>" or the frame's seq

  explicit EpochReader(const FeedLog& feed)
      : log(feed), cursor(feed.head()), epoch_known(feed.epoch_number()) {}

  // One pump: `max_frames` at most, as a write's room allows.
  void Pump(size_t max_frames) {
    if (const FeedLog::EpochStart* reached = log.EpochReached(epoch_known, cursor + 1)) {
      epoch_known = reached->number;
      received.push_back("epoch:" + reached->epoch);
    }
    const uint64_t up_to = log.DeliverableUpTo(epoch_known);
    for (size_t taken = 0; cursor < up_to && taken < max_frames; ++taken) {
      received.push_back(std::to_string(log.at(++cursor)->seq()));
    }
  }
  void CatchUp() {
    while (cursor != log.head()) Pump(2);
  }
};

TEST(FeedLogEpochTest, EachOfTwoEpochsAheadOfAClientIsAnnouncedBeforeItsFirstFrame) {
  // The client is still in e1 when e2 and then e3 start: it must hear of e2
  // before seq 1 of e2, not only of the newest epoch.
  FeedLog log(64, 0);
  log.StartEpoch("e1");
  AppendRange(log, 100, 101);
  EpochReader reader(log);
  AppendRange(log, 102, 103);
  log.StartEpoch("e2");
  AppendRange(log, 1, 3);
  log.StartEpoch("e3");
  AppendRange(log, 1, 2);
  reader.CatchUp();
  EXPECT_THAT(reader.received,
              ElementsAre("102", "103", "epoch:e2", "1", "2", "3", "epoch:e3", "1", "2"));
}

TEST(FeedLogEpochTest, AnEpochIsAnnouncedOnceEvenWhileItHasNoFrameYet) {
  FeedLog log(64, 0);
  log.StartEpoch("e1");
  AppendRange(log, 7, 8);
  EpochReader reader(log);
  AppendRange(log, 9, 9);
  log.StartEpoch("e2");
  reader.CatchUp();  // e1's last frame; nothing of e2 to announce it before
  EXPECT_THAT(reader.received, ElementsAre("9"));
  AppendRange(log, 1, 2);
  reader.CatchUp();
  reader.CatchUp();
  EXPECT_THAT(reader.received, ElementsAre("9", "epoch:e2", "1", "2"));
}

TEST(FeedLogEpochTest, AClientConnectedBeforeTheFirstEpochHearsOfIt) {
  FeedLog log(64, 0);
  EpochReader reader(log);  // its welcome named no epoch
  log.StartEpoch("e1");
  AppendRange(log, 1, 2);
  reader.CatchUp();
  EXPECT_THAT(reader.received, ElementsAre("epoch:e1", "1", "2"));
}

TEST(FeedLogEpochTest, AClientWelcomedInTheCurrentEpochIsNotToldAgain) {
  FeedLog log(64, 0);
  log.StartEpoch("e1");
  AppendRange(log, 1, 2);
  EpochReader reader(log);
  AppendRange(log, 3, 4);
  reader.CatchUp();
  EXPECT_THAT(reader.received, ElementsAre("3", "4"));
}

TEST(FeedLogEpochTest, EpochsWhoseFramesLeftTheRingAreForgotten) {
  FeedLog log(4, 0);
  for (const char* epoch : {"e1", "e2", "e3"}) {
    log.StartEpoch(epoch);
    AppendRange(log, 1, 4);
  }
  EXPECT_EQ(log.epoch_number(), 3u);
  // A client that knew only e1 is past the ring (it is conflated to the
  // head): the newest epoch is what it is told of.
  const FeedLog::EpochStart* reached = log.EpochReached(1, log.head() + 1);
  ASSERT_NE(reached, nullptr);
  EXPECT_EQ(reached->epoch, "e3");
  EXPECT_EQ(log.DeliverableUpTo(1), log.tail() - 1);
  EXPECT_EQ(log.DeliverableUpTo(3), log.head());
}

TEST(FeedLogLatestTest, OnePerPairInLogOrder) {
  FeedLog log(16, 0);
  log.Append(Price(1, "AAPL", "f"));  // 1
  log.Append(Price(2, "MSFT", "f"));  // 2
  log.Append(Price(3, "AAPL", "f"));  // 3
  log.Append(Price(4, "AAPL", "a"));  // 4
  log.Append(Price(5, "NVDA", "f"));  // 5
  log.Append(Price(6, "MSFT", "f"));  // 6
  EXPECT_THAT(Seqs(log.Latest(0, log.head(), All)), ElementsAre(3, 4, 5, 6));
  // Conflation: only pairs whose latest is after the cursor.
  EXPECT_THAT(Seqs(log.Latest(4, log.head(), All)), ElementsAre(5, 6));
  // New subscription: latest values the client's cursor has passed.
  EXPECT_THAT(Seqs(log.Latest(0, 4, All)), ElementsAre(3, 4));
  EXPECT_THAT(Seqs(log.Latest(6, 6, All)), IsEmpty());
}

TEST(FeedLogLatestTest, PredicateFilters) {
  FeedLog log(16, 0);
  log.Append(Price(1, "AAPL", "f"));
  log.Append(Price(2, "MSFT", "f"));
  log.Append(Price(3, "AAPL", "a"));
  EXPECT_THAT(Seqs(log.Latest(0, log.head(), [](const Frame& f) { return f.symbol() == "AAPL"; })),
              ElementsAre(1, 3));
  EXPECT_THAT(Seqs(log.Latest(0, log.head(), [](const Frame& f) { return f.source() == "a"; })),
              ElementsAre(3));
  EXPECT_THAT(log.Latest(0, log.head(), [](const Frame&) { return false; }), IsEmpty());
}

TEST(FeedLogLatestTest, LatestOutlivesTheRing) {
  FeedLog log(2, 0);
  log.Append(Price(1, "AAPL"));
  AppendRange(log, 2, 6);  // all AAPL: replaces
  log.Append(Price(7, "MSFT"));
  log.Append(Price(8, "MSFT"));
  log.Append(Price(9, "MSFT"));
  EXPECT_EQ(log.tail(), 8u);
  EXPECT_THAT(Seqs(log.Latest(0, log.head(), All)), ElementsAre(6, 9));
}

TEST(FeedLogLatestTest, NewEpochForgetsLatestButNotTheRing) {
  FeedLog log(16, 0);
  log.StartEpoch("e1");
  AppendRange(log, 1, 3);
  log.StartEpoch("e2");
  EXPECT_THAT(log.Latest(0, log.head(), All), IsEmpty());
  EXPECT_EQ(log.head(), 3u);
  log.Append(Price(1, "MSFT"));
  EXPECT_THAT(Seqs(log.Latest(0, log.head(), All)), ElementsAre(1));
}

TEST(FeedLogLatestTest, MarkGapKeepsLatest) {
  FeedLog log(16, 0);
  AppendRange(log, 1, 3);
  log.MarkGap();
  EXPECT_THAT(Seqs(log.Latest(0, log.head(), All)), ElementsAre(3));
}

// History's symbols come in hash order; compare per symbol.
std::map<std::string, std::vector<uint64_t>> BySymbol(const std::vector<FramePtr>& frames) {
  std::map<std::string, std::vector<uint64_t>> by_symbol;
  for (const FramePtr& frame : frames) by_symbol[frame->symbol()].push_back(frame->seq());
  return by_symbol;
}

using History = std::map<std::string, std::vector<uint64_t>>;

TEST(FeedLogHistoryTest, RecentPricesPerSymbolOldestFirst) {
  FeedLog log(64, 3);
  uint64_t seq = 0;
  for (int i = 0; i < 5; ++i) {
    log.Append(Price(++seq, "AAPL", i % 2 == 0 ? "a" : "b"));  // any source counts
    log.Append(Price(++seq, "MSFT"));
  }
  EXPECT_EQ(BySymbol(log.History(2, log.head(), All).frames), (History{{"AAPL", {7, 9}}, {"MSFT", {8, 10}}}));
  // Never more than the depth kept.
  EXPECT_EQ(BySymbol(log.History(10, log.head(), All).frames),
            (History{{"AAPL", {5, 7, 9}}, {"MSFT", {6, 8, 10}}}));
  EXPECT_THAT(log.History(0, log.head(), All).frames, IsEmpty());
}

TEST(FeedLogHistoryTest, UpToAndPredicate) {
  FeedLog log(64, 10);
  for (uint64_t seq = 1; seq <= 6; ++seq) log.Append(Price(seq, seq % 2 ? "AAPL" : "MSFT", seq > 3 ? "b" : "a"));
  // Up to index 4: AAPL 1 3, MSFT 2 4.
  EXPECT_EQ(BySymbol(log.History(10, 4, All).frames), (History{{"AAPL", {1, 3}}, {"MSFT", {2, 4}}}));
  EXPECT_EQ(BySymbol(log.History(10, log.head(), [](const Frame& f) { return f.source() == "b"; }).frames),
            (History{{"AAPL", {5}}, {"MSFT", {4, 6}}}));
}

TEST(FeedLogHistoryTest, DepthZeroKeepsNoHistory) {
  FeedLog log(64, 0);
  AppendRange(log, 1, 5);
  EXPECT_THAT(log.History(10, log.head(), All).frames, IsEmpty());
}

TEST(FeedLogHistoryTest, NewEpochForgetsHistory) {
  FeedLog log(64, 10);
  log.StartEpoch("e1");
  AppendRange(log, 1, 5);
  log.StartEpoch("e2");
  EXPECT_THAT(log.History(10, log.head(), All).frames, IsEmpty());
  log.Append(Price(1));
  EXPECT_EQ(BySymbol(log.History(10, log.head(), All).frames), (History{{"AAPL", {1}}}));
}

}  // namespace
}  // namespace stockfeed::ws_gateway

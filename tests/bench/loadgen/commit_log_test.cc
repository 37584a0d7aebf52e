#include "commit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "delivery_tally.h"

namespace stockfeed::bench {
namespace {

// A log file the test appends to the way the feeder does.
class CommitLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/commit_log_test.XXXXXX";
    fd_ = UniqueFd(::mkstemp(path));
    ASSERT_TRUE(fd_);
    path_ = path;
  }
  void TearDown() override { ::unlink(path_.c_str()); }

  void AppendBytes(const void* data, size_t size) {
    ASSERT_EQ(::write(fd_.get(), data, size), static_cast<ssize_t>(size));
  }
  void Append(int64_t sent_us) { AppendBytes(&sent_us, sizeof sent_us); }

  std::string path_;
  UniqueFd fd_;
};

TEST_F(CommitLogTest, ARowBelongsToTheFirstCommitSentAtOrAfterIt) {
  for (int64_t sent : {100, 200, 300}) Append(sent);
  CommitLog log(path_);
  EXPECT_EQ(log.CommitAtOrAfter(1), 100);
  EXPECT_EQ(log.CommitAtOrAfter(100), 100);
  EXPECT_EQ(log.CommitAtOrAfter(101), 200);
  EXPECT_EQ(log.CommitAtOrAfter(250), 300);
  EXPECT_EQ(log.CommitAtOrAfter(150), 200);  // out of order: searched again
  EXPECT_EQ(log.CommitAtOrAfter(300), 300);
}

TEST_F(CommitLogTest, CommitsAppendedLaterAreReadWhenARowNeedsThem) {
  Append(100);
  CommitLog log(path_);
  EXPECT_EQ(log.CommitAtOrAfter(50), 100);
  EXPECT_EQ(log.CommitAtOrAfter(150), std::nullopt);  // not committed yet
  Append(200);
  EXPECT_EQ(log.CommitAtOrAfter(150), 200);
}

TEST_F(CommitLogTest, AnEntryWrittenInTwoPiecesIsReadWhole) {
  Append(100);
  const int64_t next = 0x0102030405060708;
  const char* bytes = reinterpret_cast<const char*>(&next);
  AppendBytes(bytes, 3);
  CommitLog log(path_);
  EXPECT_EQ(log.CommitAtOrAfter(101), std::nullopt);
  AppendBytes(bytes + 3, sizeof next - 3);
  EXPECT_EQ(log.CommitAtOrAfter(101), next);
}

TEST_F(CommitLogTest, TheTallyMeasuresFromTheCommitOfEachRow) {
  for (int64_t sent : {1000, 2000}) Append(sent);
  CommitLog log(path_);
  DeliveryTally tally;
  SeqTracker seq;
  const ReceiveTime received{.arrived_us = 2500, .read_us = 2600};
  tally.OnFrame(R"([{"type":"price","seq":1,"event_time_us":900},{"type":"price","seq":2,"event_time_us":1500}])",
                received, seq, &log);
  tally.OnFrame(R"({"type":"price","seq":3,"event_time_us":2400})", received, seq, &log);
  EXPECT_EQ(tally.latency.max(), 1600);
  EXPECT_EQ(tally.commit_latency.count(), 2);
  EXPECT_EQ(tally.commit_latency.max(), 1500);  // committed at 1000
  EXPECT_EQ(tally.commit_latency.min(), 500);   // committed at 2000
  EXPECT_EQ(tally.without_commit, 1);           // no COMMIT logged after 2400
}

TEST_F(CommitLogTest, AMissingFileIsAnError) {
  EXPECT_THROW(CommitLog("/nonexistent/commit.log"), std::system_error);
}

}  // namespace
}  // namespace stockfeed::bench

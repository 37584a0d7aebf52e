#include "core/price_hub.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/update_batch.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockfeed::price_service {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::PriceUpdate Update(uint64_t sequence, std::string symbol = "AAPL", std::string source = "finnhub",
                       double price = 100.0) {
  v1::PriceUpdate update;
  update.set_sequence(sequence);
  update.set_symbol(std::move(symbol));
  update.set_source(std::move(source));
  update.set_price(price);
  update.set_event_time_us(static_cast<int64_t>(sequence) * 1000);
  return update;
}

std::vector<v1::PriceUpdate> Range(uint64_t first, uint64_t last) {
  std::vector<v1::PriceUpdate> updates;
  for (uint64_t seq = first; seq <= last; ++seq) updates.push_back(Update(seq));
  return updates;
}

std::vector<uint64_t> Sequences(const std::vector<v1::PriceUpdate>& updates) {
  std::vector<uint64_t> sequences;
  for (const v1::PriceUpdate& update : updates) sequences.push_back(update.sequence());
  return sequences;
}

// Reads everything available, in chunks of `chunk`.
std::vector<v1::PriceUpdate> ReadAll(const PriceHub& hub, FeedPosition& position,
                                     const SymbolFilter& filter = {}, size_t chunk = 1000) {
  std::vector<v1::PriceUpdate> out;
  while (hub.ReadAfter(position, filter, chunk, out) > 0) {
  }
  return out;
}

v1::SubscribeRequest Resume(uint64_t after_sequence, std::string epoch = "") {
  v1::SubscribeRequest request;
  request.set_after_sequence(after_sequence);
  request.set_epoch(std::move(epoch));
  return request;
}

class PriceHubTest : public testing::Test {
 protected:
  PriceHubTest() { hub_.StartEpoch("e1"); }
  PriceHub hub_{16};
};

TEST_F(PriceHubTest, PublishStampsEpochAndLiveAndClearsDroppedBefore) {
  FeedPosition position = hub_.Subscribe({}, {}).position;
  v1::PriceUpdate update = Update(1);
  update.set_epoch("forged");
  update.set_kind(v1::UPDATE_KIND_SNAPSHOT);
  update.set_dropped_before(9);
  hub_.Publish({update});

  const std::vector<v1::PriceUpdate> read = ReadAll(hub_, position);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].epoch(), "e1");
  EXPECT_EQ(read[0].kind(), v1::UPDATE_KIND_LIVE);
  EXPECT_EQ(read[0].dropped_before(), 0u);
  EXPECT_EQ(read[0].price(), 100.0);
  EXPECT_EQ(hub_.last_sequence(), 1u);
  EXPECT_EQ(hub_.epoch(), "e1");
}

TEST_F(PriceHubTest, HistoryReachesOpenStreamsAsReplayThenNewPricesAsLive) {
  FeedPosition position = hub_.Subscribe({}, {}).position;
  hub_.PublishHistory({Update(1), Update(2)});
  hub_.Publish({Update(3)});

  const std::vector<v1::PriceUpdate> read = ReadAll(hub_, position);
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].kind(), v1::UPDATE_KIND_REPLAY);
  EXPECT_EQ(read[1].kind(), v1::UPDATE_KIND_REPLAY);
  EXPECT_EQ(read[2].kind(), v1::UPDATE_KIND_LIVE);
  // A snapshot of history is a snapshot like any other.
  v1::SubscribeRequest snapshot;
  snapshot.set_snapshot(true);
  const PriceHub::Subscription later = hub_.Subscribe(snapshot, {});
  ASSERT_FALSE(later.initial.empty());
  for (const v1::PriceUpdate& update : later.initial) EXPECT_EQ(update.kind(), v1::UPDATE_KIND_SNAPSHOT);
}

TEST_F(PriceHubTest, PublishIgnoresSequencesAtOrBelowTheLast) {
  hub_.Publish(Range(1, 3));
  hub_.Publish(Range(2, 5));                  // a source re-reading after a reconnect
  hub_.Publish({Update(7), Update(6)});       // out of order within a batch
  EXPECT_EQ(hub_.last_sequence(), 7u);
  const PriceHub::Stats stats = hub_.stats();
  EXPECT_EQ(stats.published, 6u);             // 1 2 3 4 5 7
  EXPECT_EQ(stats.duplicates_ignored, 3u);    // 2 3 6
  EXPECT_EQ(stats.buffered, 6u);

  FeedPosition position{.generation = hub_.Subscribe({}, {}).position.generation};
  EXPECT_THAT(Sequences(ReadAll(hub_, position)), ElementsAre(1, 2, 3, 4, 5, 7));
}

TEST_F(PriceHubTest, NewSubscriberStartsLiveWithoutInitialUpdates) {
  hub_.Publish(Range(1, 5));
  PriceHub::Subscription subscription = hub_.Subscribe({}, {});
  EXPECT_THAT(subscription.initial, IsEmpty());
  EXPECT_EQ(subscription.position.after_sequence, 5u);
  std::vector<v1::PriceUpdate> out;
  EXPECT_EQ(hub_.ReadAfter(subscription.position, {}, 100, out), 0u);

  hub_.Publish(Range(6, 7));
  EXPECT_THAT(Sequences(ReadAll(hub_, subscription.position)), ElementsAre(6, 7));
}

TEST_F(PriceHubTest, ReadAfterHonoursMaxUpdatesAndContinues) {
  FeedPosition position = hub_.Subscribe({}, {}).position;
  hub_.Publish(Range(1, 10));
  std::vector<v1::PriceUpdate> out;
  EXPECT_EQ(hub_.ReadAfter(position, {}, 3, out), 3u);
  EXPECT_THAT(Sequences(out), ElementsAre(1, 2, 3));
  EXPECT_EQ(hub_.ReadAfter(position, {}, 3, out), 3u);  // appends
  EXPECT_THAT(Sequences(out), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_EQ(hub_.ReadAfter(position, {}, 100, out), 4u);
  EXPECT_EQ(hub_.ReadAfter(position, {}, 100, out), 0u);
  EXPECT_EQ(out.back().sequence(), 10u);
}

TEST_F(PriceHubTest, ReadAfterFiltersButAdvancesPastFilteredUpdates) {
  FeedPosition position = hub_.Subscribe({}, {}).position;
  hub_.Publish({Update(1, "AAPL"), Update(2, "MSFT"), Update(3, "AAPL", "alpha"),
                Update(4, "MSFT", "alpha"), Update(5, "NVDA")});
  const SymbolFilter filter({"MSFT"}, {"alpha"});
  std::vector<v1::PriceUpdate> out;
  EXPECT_EQ(hub_.ReadAfter(position, filter, 100, out), 1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].sequence(), 4u);
  EXPECT_EQ(position.after_sequence, 5u);  // NVDA was read and filtered out
  EXPECT_EQ(hub_.ReadAfter(position, filter, 100, out), 0u);
}

TEST(PriceHubLagTest, SlowReaderSkipsAheadAndIsToldHowManyItLost) {
  PriceHub hub(4);
  hub.StartEpoch("e");
  hub.Publish(Range(1, 2));
  FeedPosition position = hub.Subscribe({}, {}).position;  // after 2
  hub.Publish(Range(3, 12));                                // holds 9..12

  const std::vector<v1::PriceUpdate> read = ReadAll(hub, position);
  EXPECT_THAT(Sequences(read), ElementsAre(9, 10, 11, 12));
  EXPECT_EQ(read[0].dropped_before(), 6u);  // 3..8
  for (size_t i = 1; i < read.size(); ++i) EXPECT_EQ(read[i].dropped_before(), 0u);
  EXPECT_EQ(hub.stats().buffered, 4u);
}

TEST(PriceHubLagTest, LostCountWaitsForTheNextUpdateThatPassesTheFilter) {
  PriceHub hub(4);
  hub.StartEpoch("e");
  hub.Publish({Update(1)});
  FeedPosition position = hub.Subscribe({}, {}).position;
  hub.Publish({Update(2), Update(3), Update(4), Update(5), Update(6, "MSFT"), Update(7, "MSFT"),
               Update(8, "AAPL")});  // holds 5..8
  std::vector<v1::PriceUpdate> out;
  hub.ReadAfter(position, SymbolFilter({"MSFT"}, {}), 100, out);
  ASSERT_THAT(Sequences(out), ElementsAre(6, 7));
  EXPECT_EQ(out[0].dropped_before(), 3u);  // 2..4, before filtering
  EXPECT_EQ(out[1].dropped_before(), 0u);
}

TEST(PriceHubLagTest, LostCountSurvivesAReadThatDeliversNothing) {
  PriceHub hub(2);
  hub.StartEpoch("e");
  hub.Publish({Update(1)});
  FeedPosition position = hub.Subscribe({}, {}).position;
  hub.Publish({Update(2), Update(3), Update(4, "AAPL"), Update(5, "AAPL")});  // holds 4..5
  const SymbolFilter msft({"MSFT"}, {});
  std::vector<v1::PriceUpdate> out;
  EXPECT_EQ(hub.ReadAfter(position, msft, 100, out), 0u);
  hub.Publish({Update(6, "MSFT")});
  EXPECT_EQ(hub.ReadAfter(position, msft, 100, out), 1u);
  EXPECT_EQ(out[0].dropped_before(), 2u);  // 2 and 3
}

// The replay buffer reuses the slot of the update it evicts: nothing of the
// old update may survive into the new one, in either form.
TEST(PriceHubLagTest, AnUpdateInARecycledSlotKeepsNothingOfTheOldOne) {
  PriceHub hub(2);
  hub.StartEpoch("e");
  FeedPosition position = hub.Subscribe({}, {}).position;
  hub.PublishHistory({Update(1, "A-LONG-SYMBOL-NAME", "a-long-source-name", 123.5), Update(2)});
  v1::PriceUpdate bare;  // every field but the sequence at its default
  bare.set_sequence(3);
  hub.Publish({bare, Update(4, "MSFT", "beta", 7.25)});  // both slots recycled

  v1::PriceUpdate expected_bare = bare;
  expected_bare.set_epoch("e");
  expected_bare.set_kind(v1::UPDATE_KIND_LIVE);
  v1::PriceUpdate expected_msft = Update(4, "MSFT", "beta", 7.25);
  expected_msft.set_epoch("e");
  expected_msft.set_kind(v1::UPDATE_KIND_LIVE);
  std::vector<std::string> encoded;
  FeedPosition after_bare = position;
  after_bare.after_sequence = 3;
  hub.ReadEncodedAfter(after_bare, {}, 10, [&](std::string_view bytes, uint64_t) { encoded.emplace_back(bytes); });
  EXPECT_THAT(encoded, ElementsAre(expected_msft.SerializeAsString()));

  expected_bare.set_dropped_before(2);
  const std::vector<v1::PriceUpdate> read = ReadAll(hub, position);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read[0].SerializeAsString(), expected_bare.SerializeAsString()) << read[0].DebugString();
  EXPECT_EQ(read[1].SerializeAsString(), expected_msft.SerializeAsString()) << read[1].DebugString();
}

// A reader
// that subscribed before the first update of an epoch has lost nothing, though
// the epoch starts at a high sequence (PostgreSQL continues its numbering).
TEST(PriceHubLagTest, ReaderPresentFromTheEpochStartLosesNothing) {
  PriceHub hub(16);
  hub.StartEpoch("pg-1");
  FeedPosition position = hub.Subscribe({}, {}).position;
  hub.Publish(Range(1000, 1002));
  const std::vector<v1::PriceUpdate> read = ReadAll(hub, position);
  ASSERT_THAT(Sequences(read), ElementsAre(1000, 1001, 1002));
  EXPECT_EQ(read[0].dropped_before(), 0u);
}

TEST_F(PriceHubTest, ResumeReplaysTheMissedUpdatesThenGoesLive) {
  hub_.Publish(Range(1, 10));
  PriceHub::Subscription subscription = hub_.Subscribe(Resume(6, "e1"), {});
  EXPECT_THAT(subscription.initial, IsEmpty());
  hub_.Publish(Range(11, 12));

  const std::vector<v1::PriceUpdate> read = ReadAll(hub_, subscription.position);
  EXPECT_THAT(Sequences(read), ElementsAre(7, 8, 9, 10, 11, 12));
  for (const v1::PriceUpdate& update : read) {
    EXPECT_EQ(update.kind(), update.sequence() <= 10 ? v1::UPDATE_KIND_REPLAY : v1::UPDATE_KIND_LIVE)
        << update.sequence();
    EXPECT_EQ(update.dropped_before(), 0u);
  }
}

TEST_F(PriceHubTest, ResumeWithoutEpochMeansTheCurrentOne) {
  hub_.Publish(Range(1, 5));
  PriceHub::Subscription subscription = hub_.Subscribe(Resume(3), {});
  EXPECT_THAT(subscription.initial, IsEmpty());
  EXPECT_THAT(Sequences(ReadAll(hub_, subscription.position)), ElementsAre(4, 5));
}

TEST_F(PriceHubTest, ResumeAtTheHeadReplaysNothing) {
  hub_.Publish(Range(1, 5));
  PriceHub::Subscription subscription = hub_.Subscribe(Resume(5, "e1"), {});
  EXPECT_THAT(subscription.initial, IsEmpty());
  EXPECT_THAT(ReadAll(hub_, subscription.position), IsEmpty());
}

TEST_F(PriceHubTest, ResumeFiltersTheReplay) {
  hub_.Publish({Update(1, "AAPL"), Update(2, "MSFT"), Update(3, "AAPL"), Update(4, "MSFT")});
  const SymbolFilter filter({"MSFT"}, {});
  PriceHub::Subscription subscription = hub_.Subscribe(Resume(1, "e1"), filter);
  EXPECT_THAT(Sequences(ReadAll(hub_, subscription.position, filter)), ElementsAre(2, 4));
}

TEST(PriceHubResumeTest, ResumeFromTheOldestHeldEdge) {
  PriceHub hub(4);
  hub.StartEpoch("e");
  hub.Publish(Range(1, 10));  // holds 7..10

  PriceHub::Subscription exact = hub.Subscribe(Resume(6, "e"), {});
  EXPECT_THAT(exact.initial, IsEmpty());
  EXPECT_THAT(Sequences(ReadAll(hub, exact.position)), ElementsAre(7, 8, 9, 10));

  // One older and 7 is the first held: 6 is lost, so a snapshot instead.
  PriceHub::Subscription too_old = hub.Subscribe(Resume(5, "e"), {});
  ASSERT_EQ(too_old.initial.size(), 1u);
  EXPECT_EQ(too_old.initial[0].kind(), v1::UPDATE_KIND_SNAPSHOT);
  EXPECT_EQ(too_old.initial[0].sequence(), 10u);
  EXPECT_THAT(ReadAll(hub, too_old.position), IsEmpty());  // live from now
}

TEST_F(PriceHubTest, ResumeOfAnotherEpochGetsASnapshot) {
  hub_.Publish({Update(1, "AAPL"), Update(2, "MSFT")});
  PriceHub::Subscription subscription = hub_.Subscribe(Resume(1, "e0"), {});
  EXPECT_THAT(Sequences(subscription.initial), ElementsAre(1, 2));
  EXPECT_EQ(subscription.position.after_sequence, 2u);
  EXPECT_THAT(ReadAll(hub_, subscription.position), IsEmpty());
}

TEST_F(PriceHubTest, ResumeFromAheadOfTheHubGetsASnapshot) {
  hub_.Publish(Range(1, 3));
  PriceHub::Subscription subscription = hub_.Subscribe(Resume(4, "e1"), {});
  ASSERT_EQ(subscription.initial.size(), 1u);
  EXPECT_EQ(subscription.initial[0].kind(), v1::UPDATE_KIND_SNAPSHOT);
  EXPECT_EQ(subscription.position.after_sequence, 3u);
}

TEST_F(PriceHubTest, SnapshotIsLatestPerPairInPublishOrderWithOriginalSequence) {
  // Keys and sequences in opposite orders: by symbol the snapshot would go
  // AAPL 5, AAPL 3, MSFT 4 and its sequences back.
  hub_.Publish({Update(1, "MSFT", "finnhub", 1), Update(2, "AAPL", "finnhub", 2),
                Update(3, "AAPL", "alpha", 3), Update(4, "MSFT", "finnhub", 4),
                Update(5, "AAPL", "finnhub", 5)});
  v1::SubscribeRequest request;
  request.set_snapshot(true);
  PriceHub::Subscription subscription = hub_.Subscribe(request, {});

  ASSERT_EQ(subscription.initial.size(), 3u);
  EXPECT_THAT(Sequences(subscription.initial), ElementsAre(3, 4, 5));
  EXPECT_EQ(subscription.initial[0].symbol(), "AAPL");
  EXPECT_EQ(subscription.initial[0].source(), "alpha");
  EXPECT_EQ(subscription.initial[1].symbol(), "MSFT");
  EXPECT_EQ(subscription.initial[1].source(), "finnhub");
  EXPECT_EQ(subscription.initial[2].symbol(), "AAPL");
  EXPECT_EQ(subscription.initial[2].source(), "finnhub");
  EXPECT_EQ(subscription.initial[2].price(), 5.0);
  for (const v1::PriceUpdate& update : subscription.initial) {
    EXPECT_EQ(update.kind(), v1::UPDATE_KIND_SNAPSHOT);
    EXPECT_EQ(update.epoch(), "e1");
  }
  EXPECT_EQ(subscription.position.after_sequence, 5u);
}

TEST_F(PriceHubTest, ResumeOfAnotherEpochGetsItsSnapshotInSequenceOrder) {
  // What a restarted simulator answers the gateway: a symbol's sources were
  // last updated out of key order (alpha_vantage after finnhub).
  hub_.Publish({Update(1, "AAPL", "finnhub"), Update(2, "AAPL", "alpha_vantage"), Update(3, "MSFT", "alpha_vantage"),
                Update(4, "AAPL", "finnhub")});
  PriceHub::Subscription subscription = hub_.Subscribe(Resume(1080, "old"), {});
  EXPECT_THAT(Sequences(subscription.initial), ElementsAre(2, 3, 4));
}

TEST_F(PriceHubTest, SnapshotHonoursTheFilter) {
  hub_.Publish({Update(1, "AAPL", "finnhub"), Update(2, "MSFT", "finnhub"), Update(3, "MSFT", "alpha")});
  v1::SubscribeRequest request;
  request.set_snapshot(true);
  const PriceHub::Subscription subscription = hub_.Subscribe(request, SymbolFilter({"MSFT"}, {"alpha"}));
  EXPECT_THAT(Sequences(subscription.initial), ElementsAre(3));
}

TEST(PriceHubCapacityTest, SnapshotOutlivesTheReplayBuffer) {
  PriceHub hub(2);
  hub.Publish({Update(1, "AAPL"), Update(2, "MSFT"), Update(3, "MSFT"), Update(4, "MSFT")});
  EXPECT_THAT(Sequences(hub.Latest({})), ElementsAre(1, 4));
}

TEST_F(PriceHubTest, LatestSymbolsAndSources) {
  hub_.Publish({Update(1, "NVDA", "b"), Update(2, "AAPL", "c"), Update(3, "AAPL", "a"),
                Update(4, "MSFT", "b")});
  EXPECT_THAT(Sequences(hub_.Latest({})), ElementsAre(3, 2, 4, 1));
  EXPECT_THAT(Sequences(hub_.Latest(SymbolFilter({}, {"b"}))), ElementsAre(4, 1));
  EXPECT_THAT(hub_.Symbols(), ElementsAre("AAPL", "MSFT", "NVDA"));
  EXPECT_THAT(hub_.Sources(), ElementsAre("a", "b", "c"));
}

TEST_F(PriceHubTest, NewEpochDropsEverythingAndRestartsNumbering) {
  hub_.Publish(Range(1, 5));
  FeedPosition old_reader = hub_.Subscribe({}, {}).position;
  hub_.StartEpoch("e2");
  EXPECT_EQ(hub_.epoch(), "e2");
  EXPECT_EQ(hub_.last_sequence(), 0u);
  EXPECT_THAT(hub_.Latest({}), IsEmpty());
  EXPECT_THAT(hub_.Symbols(), IsEmpty());
  EXPECT_EQ(hub_.stats().published, 5u);  // stats are cumulative

  hub_.Publish(Range(1, 2));  // low sequences are new again
  EXPECT_EQ(hub_.last_sequence(), 2u);

  // A reader of the old epoch continues from the start of the new one.
  const std::vector<v1::PriceUpdate> read = ReadAll(hub_, old_reader);
  EXPECT_THAT(Sequences(read), ElementsAre(1, 2));
  EXPECT_EQ(read[0].epoch(), "e2");
  EXPECT_EQ(read[0].dropped_before(), 0u);
}

TEST_F(PriceHubTest, StartingTheSameEpochKeepsEverything) {
  hub_.Publish(Range(1, 5));
  FeedPosition reader = hub_.Subscribe({}, {}).position;
  hub_.StartEpoch("e1");
  EXPECT_EQ(hub_.last_sequence(), 5u);
  hub_.Publish(Range(3, 6));
  EXPECT_THAT(Sequences(ReadAll(hub_, reader)), ElementsAre(6));
}

TEST(PriceHubCapacityTest, ZeroCapacityHoldsOne) {
  PriceHub hub(0);
  hub.Publish(Range(1, 3));
  EXPECT_EQ(hub.stats().buffered, 1u);
  FeedPosition position{.generation = hub.Subscribe({}, {}).position.generation};
  const std::vector<v1::PriceUpdate> read = ReadAll(hub, position);
  EXPECT_THAT(Sequences(read), ElementsAre(3));
  EXPECT_EQ(read[0].dropped_before(), 2u);
}

class CountingListener : public PriceHub::Listener {
 public:
  void OnPublished(PriceHub::Newest newest) override {
    ++calls;
    last = newest;
  }
  PriceHub::Newest last;
  int calls = 0;
};

TEST_F(PriceHubTest, ListenersAreWokenByPublishAndEpochChangesUntilRemoved) {
  CountingListener a, b;
  hub_.AddListener(&a);
  hub_.AddListener(&b);
  hub_.Publish(Range(1, 3));
  EXPECT_EQ(a.calls, 1);  // once per Publish, not per update
  EXPECT_EQ(b.calls, 1);
  hub_.StartEpoch("e2");
  EXPECT_EQ(a.calls, 2);
  hub_.StartEpoch("e2");  // no change, no wake-up
  EXPECT_EQ(a.calls, 2);
  hub_.RemoveListener(&a);
  hub_.Publish(Range(1, 1));
  EXPECT_EQ(a.calls, 2);
  EXPECT_EQ(b.calls, 3);
}

TEST_F(PriceHubTest, ListenersAreToldTheNewestUpdateAndReadersHowManyTheyHaveNotRead) {
  CountingListener listener;
  hub_.AddListener(&listener);
  FeedPosition reader = hub_.Subscribe({}, {}).position;
  hub_.Publish(Range(1, 5));
  EXPECT_EQ(listener.last.sequence, 5u);
  EXPECT_EQ(listener.last.generation, hub_.newest().generation);
  EXPECT_EQ(PriceHub::UnreadAfter(reader, listener.last), 5u);
  std::vector<v1::PriceUpdate> read;
  hub_.ReadAfter(reader, {}, 3, read);
  EXPECT_EQ(PriceHub::UnreadAfter(reader, listener.last), 2u);
  hub_.ReadAfter(reader, {}, 10, read);
  EXPECT_EQ(PriceHub::UnreadAfter(reader, listener.last), 0u);

  // A filtered-out update still counts until read past: the count is an upper bound.
  FeedPosition filtered = reader;
  hub_.Publish(Range(6, 6));
  EXPECT_EQ(PriceHub::UnreadAfter(filtered, listener.last), 1u);
  EXPECT_EQ(hub_.ReadAfter(filtered, SymbolFilter({"NOSUCH"}, {}), 10, read), 0u);
  EXPECT_EQ(PriceHub::UnreadAfter(filtered, listener.last), 0u);

  // After an epoch change the reader must read to find out: "all".
  hub_.StartEpoch("e2");
  EXPECT_EQ(listener.last.sequence, 0u);
  EXPECT_EQ(PriceHub::UnreadAfter(reader, listener.last), UINT64_MAX);
  hub_.Publish(Range(1, 2));
  EXPECT_EQ(PriceHub::UnreadAfter(reader, listener.last), UINT64_MAX);
  hub_.RemoveListener(&listener);
}

TEST(PriceHubNewestTest, ALaterEpochIsNewerWhateverItsSequence) {
  const PriceHub::Newest old_epoch{.generation = 1, .sequence = 50'000};
  const PriceHub::Newest new_epoch{.generation = 2, .sequence = 3};
  EXPECT_TRUE(PriceHub::IsNewer(new_epoch, old_epoch));
  EXPECT_FALSE(PriceHub::IsNewer(old_epoch, new_epoch));
  EXPECT_TRUE(PriceHub::IsNewer({.generation = 2, .sequence = 4}, new_epoch));
  EXPECT_FALSE(PriceHub::IsNewer(new_epoch, new_epoch));
}

// The encoded read is the plain read in wire form: the same updates, kinds
// and dropped_before, bytes equal to encoding them, and the same position
// afterwards; a batch of them parses as one PriceUpdateBatch.
void ExpectEncodedReadMatchesPlain(const PriceHub& hub, const FeedPosition& start, const SymbolFilter& filter,
                                   size_t max_updates) {
  FeedPosition plain = start;
  FeedPosition encoded = start;
  std::vector<v1::PriceUpdate> expected;
  const size_t plain_count = hub.ReadAfter(plain, filter, max_updates, expected);
  std::vector<std::string> messages;
  uint64_t dropped = 0;
  std::string batch_bytes;
  EXPECT_EQ(hub.ReadEncodedAfter(encoded, filter, max_updates,
                                 [&](std::string_view bytes, uint64_t dropped_before) {
                                   messages.emplace_back(bytes);
                                   dropped += dropped_before;
                                   AppendBatchEntry(bytes, batch_bytes);
                                 }),
            plain_count);
  ASSERT_EQ(messages.size(), expected.size());
  uint64_t expected_dropped = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(messages[i], expected[i].SerializeAsString()) << i;
    expected_dropped += expected[i].dropped_before();
  }
  EXPECT_EQ(dropped, expected_dropped);
  v1::PriceUpdateBatch batch;
  ASSERT_TRUE(batch.ParseFromString(batch_bytes));
  EXPECT_EQ(static_cast<size_t>(batch.updates_size()), expected.size());
  EXPECT_EQ(encoded.after_sequence, plain.after_sequence);
  EXPECT_EQ(encoded.pending_dropped, plain.pending_dropped);
  EXPECT_EQ(encoded.replay_until, plain.replay_until);
}

TEST_F(PriceHubTest, EncodedReadGivesTheSameUpdatesLiveReplayedAndAfterALoss) {
  std::vector<v1::PriceUpdate> first;
  for (uint64_t seq = 1; seq <= 4; ++seq) first.push_back(Update(seq, seq % 2 ? "AAPL" : "MSFT"));
  hub_.Publish(first);
  const FeedPosition resumed = hub_.Subscribe(Resume(2), {}).position;  // 3 and 4 come as REPLAY
  const FeedPosition live = hub_.Subscribe({}, {}).position;
  for (const SymbolFilter& filter : {SymbolFilter{}, SymbolFilter({"AAPL"}, {})}) {
    ExpectEncodedReadMatchesPlain(hub_, resumed, filter, 5);
    ExpectEncodedReadMatchesPlain(hub_, resumed, filter, 1);
  }
  std::vector<v1::PriceUpdate> more;
  for (uint64_t seq = 5; seq <= 30; ++seq) more.push_back(Update(seq, seq % 2 ? "AAPL" : "MSFT"));
  hub_.Publish(more);  // capacity 16: `live` lost 5..14, announced in dropped_before
  for (const SymbolFilter& filter : {SymbolFilter{}, SymbolFilter({"MSFT"}, {})}) {
    ExpectEncodedReadMatchesPlain(hub_, live, filter, 5);
    ExpectEncodedReadMatchesPlain(hub_, live, filter, 100);
  }
  hub_.PublishHistory({Update(31), Update(32)});  // history is REPLAY for everyone, encoded once as such
  FeedPosition caught_up = hub_.Subscribe({}, {}).position;
  caught_up.after_sequence = 30;
  ExpectEncodedReadMatchesPlain(hub_, caught_up, {}, 10);
}

TEST_F(PriceHubTest, EncodedReadOfALoss) {
  hub_.Publish(Range(1, 40));  // holds 25..40
  FeedPosition position = hub_.Subscribe(Resume(0), {}).position;
  position.after_sequence = 3;
  std::vector<uint64_t> drops;
  std::vector<uint64_t> sequences;
  hub_.ReadEncodedAfter(position, {}, 3, [&](std::string_view bytes, uint64_t dropped_before) {
    v1::PriceUpdate update;
    ASSERT_TRUE(update.ParseFromString(std::string(bytes)));
    sequences.push_back(update.sequence());
    drops.push_back(dropped_before);
    EXPECT_EQ(update.dropped_before(), dropped_before);
    EXPECT_EQ(update.epoch(), "e1");
    EXPECT_EQ(update.kind(), v1::UPDATE_KIND_LIVE);
  });
  EXPECT_THAT(sequences, ElementsAre(25, 26, 27));
  EXPECT_THAT(drops, ElementsAre(21, 0, 0));  // 4..24
  EXPECT_EQ(position.after_sequence, 27u);
}

}  // namespace
}  // namespace stockfeed::price_service

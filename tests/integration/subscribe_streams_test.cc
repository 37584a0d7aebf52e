// Subscribe and SubscribeBatched on the real price_service: the same updates,
// each exactly once and in order, snapshot and resume on both, several
// updates per batched message, a slow stream isolated from the others, and
// paced batched writes (--stream_pacing) that lose and reorder nothing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "stockfeed/v1/price_feed.grpc.pb.h"
#include "support/process.h"
#include "support/system.h"

namespace stockfeed::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

enum class Rpc { kSubscribe, kSubscribeBatched };

struct Received {
  std::vector<v1::PriceUpdate> updates;
  std::vector<size_t> message_sizes;  // updates per message, in order
  grpc::Status status;
};

// One open stream of either RPC, read message by message.
class Stream {
 public:
  Stream(v1::PriceFeed::Stub& stub, Rpc rpc, const v1::SubscribeRequest& request, seconds timeout) {
    context_.set_deadline(std::chrono::system_clock::now() + timeout);
    if (rpc == Rpc::kSubscribe) {
      plain_ = stub.Subscribe(&context_, request);
    } else {
      batched_ = stub.SubscribeBatched(&context_, request);
    }
  }
  // Appends the next message's updates; false once the stream ended.
  bool ReadMessage(Received& into) {
    size_t before = into.updates.size();
    if (plain_) {
      v1::PriceUpdate update;
      if (!plain_->Read(&update)) return false;
      into.updates.push_back(std::move(update));
    } else {
      v1::PriceUpdateBatch batch;
      if (!batched_->Read(&batch)) return false;
      into.updates.insert(into.updates.end(), batch.updates().begin(), batch.updates().end());
    }
    into.message_sizes.push_back(into.updates.size() - before);
    return true;
  }
  void Cancel() { context_.TryCancel(); }
  grpc::Status Finish() { return plain_ ? plain_->Finish() : batched_->Finish(); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::PriceUpdate>> plain_;
  std::unique_ptr<grpc::ClientReader<v1::PriceUpdateBatch>> batched_;
};

// Reads from `rpc` until `count` updates arrived, the stream ended or `timeout`.
Received ReadStream(v1::PriceFeed::Stub& stub, Rpc rpc, const v1::SubscribeRequest& request, size_t count,
                    seconds timeout = seconds(20)) {
  Stream stream(stub, rpc, request, timeout);
  Received received;
  while (received.updates.size() < count && stream.ReadMessage(received)) {
  }
  if (received.updates.size() >= count) stream.Cancel();  // else it ended by itself: keep its status
  received.status = stream.Finish();
  return received;
}

const char* NameOf(Rpc rpc) { return rpc == Rpc::kSubscribe ? "Subscribe" : "SubscribeBatched"; }

// Every update after the first is the next sequence of the same epoch, not dropped.
void ExpectConsecutive(const std::vector<v1::PriceUpdate>& updates, size_t from = 0) {
  for (size_t j = from + 1; j < updates.size(); ++j) {
    ASSERT_EQ(updates[j].sequence(), updates[j - 1].sequence() + 1) << "at " << j;
    ASSERT_EQ(updates[j].epoch(), updates[j - 1].epoch());
    ASSERT_EQ(updates[j].dropped_before(), 0u);
  }
}

class SubscribeStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({"--rate=2000", "--stream_batch=50"}); }

  void Start(std::vector<std::string> extra) {
    port_ = FreePort();
    std::vector<std::string> args = {"--listen=127.0.0.1:" + std::to_string(port_), "--admin_listen=127.0.0.1:0",
                                     "--seed=5"};
    args.insert(args.end(), extra.begin(), extra.end());
    service_ = std::make_unique<ChildProcess>(Binaries::PriceService(), args, TestOutputDir() + "/price_service.log");
    ASSERT_TRUE(WaitForPort(port_, seconds(10))) << service_->Log();
    stub_ = v1::PriceFeed::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }

  // The service's newest (epoch, sequence) once it has published at least `min_sequence`.
  std::pair<std::string, uint64_t> WaitForSequence(uint64_t min_sequence) {
    v1::GetLatestResponse latest;
    EXPECT_TRUE(Eventually(
        [&] {
          grpc::ClientContext context;
          return stub_->GetLatest(&context, {}, &latest).ok() && latest.last_sequence() >= min_sequence;
        },
        seconds(20)));
    return {latest.epoch(), latest.last_sequence()};
  }

  int port_ = 0;
  std::unique_ptr<ChildProcess> service_;
  std::unique_ptr<v1::PriceFeed::Stub> stub_;
};

TEST_F(SubscribeStreamsTest, BothStreamsResumeWithTheSameUpdatesEachOnceInOrder) {
  const auto [epoch, head] = WaitForSequence(600);
  v1::SubscribeRequest resume;
  resume.set_after_sequence(head - 500);  // 500 replayed, then live
  resume.set_epoch(epoch);
  constexpr size_t kCount = 2000;
  Received plain, batched;
  std::thread other([&] { plain = ReadStream(*stub_, Rpc::kSubscribe, resume, kCount); });
  batched = ReadStream(*stub_, Rpc::kSubscribeBatched, resume, kCount);
  other.join();

  for (const Received* received : {&plain, &batched}) {
    ASSERT_GE(received->updates.size(), kCount) << received->status.error_message();
    EXPECT_EQ(received->updates.front().sequence(), head - 499);
    ExpectConsecutive(received->updates);
    // REPLAY up to where the service was when the stream opened, LIVE after.
    size_t replayed = 0;
    while (received->updates[replayed].kind() == v1::UPDATE_KIND_REPLAY) ++replayed;
    EXPECT_GE(replayed, 500u);
    for (size_t j = replayed; j < received->updates.size(); ++j) {
      ASSERT_EQ(received->updates[j].kind(), v1::UPDATE_KIND_LIVE) << j;
    }
  }
  for (size_t j = 0; j < kCount; ++j) {
    v1::PriceUpdate a = plain.updates[j], b = batched.updates[j];
    a.clear_kind();  // where replay ends depends on when each stream opened
    b.clear_kind();
    ASSERT_EQ(a.SerializeAsString(), b.SerializeAsString()) << "update " << j << " differs between the two RPCs";
  }
  // The 500 replayed went out --stream_batch (50) updates per message; live
  // messages carry whatever is ready, never nothing and never more.
  ASSERT_GE(batched.message_sizes.size(), 10u);
  for (size_t j = 0; j < 10; ++j) EXPECT_EQ(batched.message_sizes[j], 50u) << j;
  for (size_t size : batched.message_sizes) {
    EXPECT_GE(size, 1u);
    EXPECT_LE(size, 50u);
  }
}

TEST_F(SubscribeStreamsTest, SnapshotComesFirstThenLiveUpdatesOnBothStreams) {
  WaitForSequence(100);
  v1::SubscribeRequest request;
  request.set_snapshot(true);
  for (Rpc rpc : {Rpc::kSubscribe, Rpc::kSubscribeBatched}) {
    SCOPED_TRACE(NameOf(rpc));
    const Received received = ReadStream(*stub_, rpc, request, 300);
    ASSERT_GE(received.updates.size(), 300u);
    size_t snapshot = 0;
    std::set<std::pair<std::string, std::string>> pairs;
    for (; received.updates[snapshot].kind() == v1::UPDATE_KIND_SNAPSHOT; ++snapshot) {
      EXPECT_TRUE(pairs.emplace(received.updates[snapshot].symbol(), received.updates[snapshot].source()).second);
    }
    EXPECT_EQ(snapshot, 12u) << "6 symbols x 2 sources";
    EXPECT_EQ(received.updates[snapshot].kind(), v1::UPDATE_KIND_LIVE);
    ExpectConsecutive(received.updates, snapshot);
  }
}

TEST_F(SubscribeStreamsTest, ResumeFromAnotherEpochGetsASnapshotOnBothStreams) {
  WaitForSequence(50);
  v1::SubscribeRequest request;
  request.set_after_sequence(10);
  request.set_epoch("an-epoch-this-service-never-had");
  for (Rpc rpc : {Rpc::kSubscribe, Rpc::kSubscribeBatched}) {
    SCOPED_TRACE(NameOf(rpc));
    const Received received = ReadStream(*stub_, rpc, request, 1);
    ASSERT_FALSE(received.updates.empty());
    EXPECT_EQ(received.updates.front().kind(), v1::UPDATE_KIND_SNAPSHOT);
  }
}

TEST_F(SubscribeStreamsTest, BadFiltersAreInvalidArgumentOnBothStreams) {
  v1::SubscribeRequest request;
  request.add_symbols("no spaces allowed");
  for (Rpc rpc : {Rpc::kSubscribe, Rpc::kSubscribeBatched}) {
    SCOPED_TRACE(NameOf(rpc));
    const Received received = ReadStream(*stub_, rpc, request, 1, seconds(5));
    EXPECT_TRUE(received.updates.empty());
    EXPECT_EQ(received.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(received.status.error_message().find("symbol"), std::string::npos) << received.status.error_message();
  }
}

// A stream whose client stops reading falls out of the replay buffer: it
// skips ahead with the loss announced in dropped_before (the documented
// policy) while another stream is served without a gap.
class SlowStreamTest : public SubscribeStreamsTest {
 protected:
  void SetUp() override { Start({"--rate=5000", "--replay_capacity=2000"}); }
};

TEST_F(SlowStreamTest, AStalledStreamLosesAnnouncedUpdatesAndHoldsNoOtherBack) {
  for (Rpc slow_rpc : {Rpc::kSubscribeBatched, Rpc::kSubscribe}) {
    SCOPED_TRACE(std::string("slow stream: ") + NameOf(slow_rpc));
    const Rpc healthy_rpc = slow_rpc == Rpc::kSubscribe ? Rpc::kSubscribeBatched : Rpc::kSubscribe;
    // Small HTTP/2 windows so the service feels the stall soon.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
    auto slow_stub = v1::PriceFeed::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials(), args));

    Stream slow_stream(*slow_stub, slow_rpc, {}, seconds(60));
    Received slow;
    ASSERT_TRUE(slow_stream.ReadMessage(slow));

    // While the slow stream's client reads nothing for 4 s, another stream takes everything.
    Stream healthy_stream(*stub_, healthy_rpc, {}, seconds(60));
    Received healthy;
    std::thread healthy_reader([&] {
      while (healthy_stream.ReadMessage(healthy)) {
      }
    });
    std::this_thread::sleep_for(seconds(4));
    const uint64_t head = WaitForSequence(0).second;

    // The slow stream catches up: the loss is announced, then it is live again.
    while (slow.updates.back().sequence() < head + 200) {
      ASSERT_TRUE(slow_stream.ReadMessage(slow)) << "the slow stream ended";
    }
    slow_stream.Cancel();
    healthy_stream.Cancel();
    healthy_reader.join();
    uint64_t announced = 0;
    for (size_t j = 1; j < slow.updates.size(); ++j) {
      const v1::PriceUpdate& update = slow.updates[j];
      ASSERT_EQ(update.sequence(), slow.updates[j - 1].sequence() + 1 + update.dropped_before())
          << "a gap must be exactly what dropped_before announces, at " << j;
      announced += update.dropped_before();
    }
    EXPECT_GT(announced, 0u) << "the stalled stream must have fallen out of the 2,000-update buffer";
    ASSERT_GT(healthy.updates.size(), 5000u) << "the other stream must keep receiving during the stall";
    ExpectConsecutive(healthy.updates);
    EXPECT_GE(healthy.updates.back().sequence(), head) << "the other stream kept up with the service";
  }
}

// --stream_pacing: with the simulator publishing every millisecond (~4
// updates each at 4,000/s), SubscribeBatched streams send what piled up in
// one message per tick instead of a message per publish, and still carry
// every update exactly once, in order; Subscribe keeps one per message.
class PacedStreamsTest : public SubscribeStreamsTest {
 protected:
  void SetUp() override {}

  struct Run {
    Received all, resumed, filtered, plain;
  };
  // Four streams at once (~1 s of the feed each): SubscribeBatched of
  // everything, resumed 300 back, of AAPL only; Subscribe of everything.
  Run ReadFourStreams() {
    const auto [epoch, head] = WaitForSequence(400);
    v1::SubscribeRequest resume;
    resume.set_after_sequence(head - 300);
    resume.set_epoch(epoch);
    v1::SubscribeRequest aapl;
    aapl.add_symbols("AAPL");
    constexpr size_t kCount = 4000;
    Run run;
    std::thread resumed([&] { run.resumed = ReadStream(*stub_, Rpc::kSubscribeBatched, resume, kCount); });
    std::thread filtered([&] { run.filtered = ReadStream(*stub_, Rpc::kSubscribeBatched, aapl, kCount / 6); });
    std::thread plain([&] { run.plain = ReadStream(*stub_, Rpc::kSubscribe, {}, kCount); });
    run.all = ReadStream(*stub_, Rpc::kSubscribeBatched, {}, kCount);
    resumed.join();
    filtered.join();
    plain.join();
    return run;
  }
};

double UpdatesPerMessage(const Received& received) {
  return received.message_sizes.empty() ? 0.0
                                        : static_cast<double>(received.updates.size()) /
                                              static_cast<double>(received.message_sizes.size());
}

TEST_F(PacedStreamsTest, PacedStreamsCoalescePublishesWithoutLosingOrReorderingUpdates) {
  double unpaced_per_message = 0;
  for (const char* pacing : {"--stream_pacing=0", "--stream_pacing=50ms"}) {
    SCOPED_TRACE(pacing);
    Start({"--rate=4000", "--stream_batch=4096", pacing});
    const Run run = ReadFourStreams();
    for (const Received* received : {&run.all, &run.resumed, &run.filtered, &run.plain}) {
      ASSERT_TRUE(received->status.error_code() == grpc::StatusCode::CANCELLED) << received->status.error_message();
    }
    ExpectConsecutive(run.all.updates);
    ExpectConsecutive(run.plain.updates);
    ExpectConsecutive(run.resumed.updates);
    EXPECT_EQ(run.resumed.updates.front().kind(), v1::UPDATE_KIND_REPLAY);
    // The AAPL stream holds exactly the AAPL updates of the full stream where both ran.
    std::vector<uint64_t> aapl_in_all;
    for (const v1::PriceUpdate& update : run.all.updates) {
      if (update.symbol() == "AAPL" && update.sequence() >= run.filtered.updates.front().sequence() &&
          update.sequence() <= run.filtered.updates.back().sequence()) {
        aapl_in_all.push_back(update.sequence());
      }
    }
    std::vector<uint64_t> filtered;
    for (const v1::PriceUpdate& update : run.filtered.updates) {
      ASSERT_EQ(update.symbol(), "AAPL");
      ASSERT_EQ(update.dropped_before(), 0u);
      filtered.push_back(update.sequence());
    }
    if (!aapl_in_all.empty()) {
      // Compare over the range both streams covered.
      filtered.erase(std::remove_if(filtered.begin(), filtered.end(),
                                    [&](uint64_t sequence) {
                                      return sequence < run.all.updates.front().sequence() ||
                                             sequence > run.all.updates.back().sequence();
                                    }),
                     filtered.end());
      EXPECT_EQ(filtered, aapl_in_all);
    }
    for (size_t size : run.plain.message_sizes) ASSERT_EQ(size, 1u) << "Subscribe: one update per message";

    const double per_message = UpdatesPerMessage(run.all);
    std::printf("%s: SubscribeBatched carried %.1f updates per message (%zu messages), the AAPL stream %.1f\n",
                pacing, per_message, run.all.message_sizes.size(), UpdatesPerMessage(run.filtered));
    if (std::string(pacing) == "--stream_pacing=0") {
      unpaced_per_message = per_message;
    } else {
      // A tick every 50 ms carries ~200 updates; a message per publish ~4.
      EXPECT_GE(per_message, 20.0) << "paced writes must carry what piled up over several publishes (unpaced: "
                                   << unpaced_per_message << ")";
    }
  }
}

}  // namespace
}  // namespace stockfeed::testing

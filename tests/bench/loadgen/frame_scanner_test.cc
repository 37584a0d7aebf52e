#include "frame_scanner.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "delivery_tally.h"

namespace stockfeed::bench {
namespace {

std::vector<ScannedObject> Scan(std::string_view frame, bool* ok = nullptr) {
  std::vector<ScannedObject> out;
  const bool result = ScanFrame(frame, [&](const ScannedObject& o) { out.push_back(o); });
  if (ok) *ok = result;
  return out;
}

constexpr std::string_view kPrice =
    R"({"type":"price","symbol":"AAPL","price":189.23,"source":"finnhub",)"
    R"("timestamp":1764091234,"seq":1235,"event_time_us":1764091234123456})";

TEST(FrameScanner, SinglePriceObject) {
  bool ok = false;
  const auto objs = Scan(kPrice, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(objs.size(), 1u);
  EXPECT_TRUE(objs[0].is_price());
  EXPECT_TRUE(objs[0].has_seq);
  EXPECT_EQ(objs[0].seq, 1235u);
  EXPECT_TRUE(objs[0].has_event_time);
  EXPECT_EQ(objs[0].event_time_us, 1764091234123456);
}

TEST(FrameScanner, BatchArrayKeepsOrder) {
  const std::string frame = R"([{"type":"price","seq":7,"event_time_us":10},)"
                            R"( {"seq":8,"type":"price","event_time_us":11} , )"
                            R"({"type":"status","state":"ok"}])";
  bool ok = false;
  const auto objs = Scan(frame, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(objs.size(), 3u);
  EXPECT_EQ(objs[0].seq, 7u);
  EXPECT_EQ(objs[1].seq, 8u);
  EXPECT_EQ(objs[1].event_time_us, 11);
  EXPECT_FALSE(objs[2].is_price());
  EXPECT_EQ(objs[2].type, "status");
  EXPECT_TRUE(Scan("[]", &ok).empty());
  EXPECT_TRUE(ok);
}

TEST(FrameScanner, NestedFieldsDoNotLeakIntoTheObject) {
  const std::string frame =
      R"({"type":"snapshot","prices":[{"type":"price","seq":99,"event_time_us":5}],)"
      R"("meta":{"seq":3,"s":"\"seq\":4"}})";
  bool ok = false;
  const auto objs = Scan(frame, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(objs.size(), 1u);
  EXPECT_EQ(objs[0].type, "snapshot");
  EXPECT_FALSE(objs[0].has_seq);
  EXPECT_FALSE(objs[0].has_event_time);
}

TEST(FrameScanner, KeysInsideStringsAreIgnored) {
  const auto objs = Scan(R"({"symbol":"x\",\"seq\":5","seq":6,"type":"price"})");
  ASSERT_EQ(objs.size(), 1u);
  EXPECT_EQ(objs[0].seq, 6u);
}

TEST(FrameScanner, NonIntegerSeqReadsAsAbsent) {
  for (std::string_view frame : {R"({"seq":1.5})", R"({"seq":"7"})", R"({"seq":-1})",
                                 R"({"seq":1e3})", R"({"seq":null})",
                                 R"({"seq":99999999999999999999})"}) {
    bool ok = false;
    const auto objs = Scan(frame, &ok);
    ASSERT_TRUE(ok) << frame;
    ASSERT_EQ(objs.size(), 1u);
    EXPECT_FALSE(objs[0].has_seq) << frame;
  }
}

TEST(FrameScanner, RejectsMalformedFrames) {
  for (std::string_view frame :
       {"", "  ", "{", R"({"seq":1)", R"({"seq":})", R"({"seq" 1})", R"([{"seq":1},])",
        R"({"a":tru})", R"({"a":01})", R"({"a":"b})", "{} x", "42", R"("str")",
        R"({"a":[1,2})", R"({"a":1,})"}) {
    bool ok = true;
    Scan(frame, &ok);
    EXPECT_FALSE(ok) << frame;
  }
}

// The scanner must agree with a real JSON parser on every well-formed frame
// shape we send or might send.
TEST(FrameScanner, AgreesWithBoostJson) {
  const std::vector<std::string> frames = {
      std::string(kPrice),
      R"([)" + std::string(kPrice) + "," + std::string(kPrice) + "]",
      R"({ "type" : "price" , "seq" : 0 , "event_time_us" : -12 , "x" : [ { } , [ ] , "" , true, false, null, -0.5e-3 ] })",
      R"({"type":"connected","protocol":"v1","symbols":["AAPL","MSFT"],"seq":18446744073709551615})",
      R"({"type":"pr\u0069ce","seq":1,"event_time_us":2})",
  };
  for (const auto& frame : frames) {
    bool ok = false;
    const auto objs = Scan(frame, &ok);
    ASSERT_TRUE(ok) << frame;
    const boost::json::value v = boost::json::parse(frame);
    std::vector<boost::json::object> expected;
    if (v.is_object()) {
      expected.push_back(v.as_object());
    } else {
      for (const auto& e : v.as_array()) expected.push_back(e.as_object());
    }
    ASSERT_EQ(objs.size(), expected.size()) << frame;
    for (size_t i = 0; i < objs.size(); ++i) {
      const auto& o = expected[i];
      const auto* seq = o.if_contains("seq");
      EXPECT_EQ(objs[i].has_seq, seq && (seq->is_uint64() || (seq->is_int64() && seq->as_int64() >= 0)))
          << frame;
      if (objs[i].has_seq) {
        EXPECT_EQ(objs[i].seq, seq->to_number<uint64_t>());
      }
      const auto* t = o.if_contains("event_time_us");
      if (t) {
        EXPECT_EQ(objs[i].event_time_us, t->to_number<int64_t>());
      }
      const auto* type = o.if_contains("type");
      // Raw view: equal when the type has no escapes.
      if (type && type->as_string().find('\\') == boost::json::string::npos &&
          frame.find("\\u") == std::string::npos) {
        EXPECT_EQ(objs[i].type, std::string_view(type->as_string()));
      }
    }
  }
}

TEST(SeqTracker, StrictIncreaseWithGapsDuplicatesAndBackwards) {
  SeqTracker t;
  uint64_t missing = 0;
  EXPECT_EQ(t.Observe(10, &missing), SeqTracker::Verdict::kFirst);
  EXPECT_EQ(t.Observe(11, &missing), SeqTracker::Verdict::kNext);
  EXPECT_EQ(t.Observe(15, &missing), SeqTracker::Verdict::kGap);
  EXPECT_EQ(missing, 3u);
  EXPECT_EQ(t.Observe(15, &missing), SeqTracker::Verdict::kDuplicate);
  EXPECT_EQ(t.Observe(12, &missing), SeqTracker::Verdict::kBackwards);
  EXPECT_EQ(t.Observe(16, &missing), SeqTracker::Verdict::kNext);
}

TEST(DeliveryTally, CountsPricesOthersAndLatency) {
  DeliveryTally tally;
  SeqTracker seq;
  const ReceiveTime received{.arrived_us = 1000, .read_us = 1200};
  tally.OnFrame(R"({"type":"connected"})", received, seq, nullptr);
  tally.OnFrame(R"([{"type":"price","seq":1,"event_time_us":900},{"type":"price","seq":3,"event_time_us":950}])",
                received, seq, nullptr);
  tally.OnFrame(R"({"type":"price","seq":3,"event_time_us":990})", received, seq, nullptr);
  tally.OnFrame(R"({"type":"price"})", received, seq, nullptr);
  tally.OnFrame("not json", received, seq, nullptr);
  EXPECT_EQ(tally.frames, 5);
  EXPECT_EQ(tally.other_messages, 1);
  EXPECT_EQ(tally.price_updates, 3);
  EXPECT_EQ(tally.seq_gaps, 1);
  EXPECT_EQ(tally.seq_missing, 1);
  EXPECT_EQ(tally.seq_duplicates, 1);
  EXPECT_EQ(tally.parse_errors, 2);
  EXPECT_EQ(tally.latency.max(), 100);
  EXPECT_EQ(tally.latency.min(), 10);
  EXPECT_EQ(tally.read_latency.max(), 300);
  EXPECT_EQ(tally.read_latency.min(), 210);
}

}  // namespace
}  // namespace stockfeed::bench

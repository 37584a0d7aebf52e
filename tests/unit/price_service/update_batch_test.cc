#include "core/update_batch.h"

#include <string>

#include "gtest/gtest.h"
#include "stockfeed/v1/price_feed.pb.h"

namespace stockfeed::price_service {
namespace {

TEST(UpdateBatchTest, ConcatenatedEntriesParseAsOneBatchInOrder) {
  v1::PriceUpdate small;
  small.set_symbol("AAPL");
  small.set_sequence(7);
  v1::PriceUpdate large = small;  // over 127 bytes: a two-byte length
  large.set_source(std::string(300, 's'));
  large.set_sequence(8);
  large.set_dropped_before(3);
  v1::PriceUpdate huge = small;  // over 16383 bytes: a three-byte length
  huge.set_source(std::string(20000, 'h'));
  std::string bytes;
  AppendBatchEntry(small.SerializeAsString(), bytes);
  AppendBatchEntry(large.SerializeAsString(), bytes);
  AppendBatchEntry(huge.SerializeAsString(), bytes);
  v1::PriceUpdateBatch batch;
  ASSERT_TRUE(batch.ParseFromString(bytes));
  ASSERT_EQ(batch.updates_size(), 3);
  EXPECT_EQ(batch.updates(0).SerializeAsString(), small.SerializeAsString());
  EXPECT_EQ(batch.updates(1).SerializeAsString(), large.SerializeAsString());
  EXPECT_EQ(batch.updates(2).SerializeAsString(), huge.SerializeAsString());
}

TEST(UpdateBatchTest, EntriesAreWhatProtobufWouldWriteForTheBatch) {
  v1::PriceUpdateBatch expected;
  for (int i = 0; i < 3; ++i) {
    v1::PriceUpdate* update = expected.add_updates();
    update->set_symbol(i == 1 ? std::string(200, 'X') : "MSFT");
    update->set_price(100.5 + i);
    update->set_sequence(static_cast<uint64_t>(i) + 1);
  }
  std::string bytes;
  for (const v1::PriceUpdate& update : expected.updates()) AppendBatchEntry(update.SerializeAsString(), bytes);
  EXPECT_EQ(bytes, expected.SerializeAsString());
}

TEST(UpdateBatchTest, AnEmptyUpdateIsStillAnEntry) {
  std::string bytes;
  AppendBatchEntry(v1::PriceUpdate().SerializeAsString(), bytes);
  EXPECT_EQ(bytes, std::string("\x0a\x00", 2));
  v1::PriceUpdateBatch batch;
  ASSERT_TRUE(batch.ParseFromString(bytes));
  EXPECT_EQ(batch.updates_size(), 1);
}

}  // namespace
}  // namespace stockfeed::price_service

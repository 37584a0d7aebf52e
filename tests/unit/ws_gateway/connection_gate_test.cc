#include "core/connection_gate.h"

#include <vector>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

using Verdict = ConnectionGate::Verdict;
const absl::Time kStart = absl::FromUnixSeconds(1'000'000);

TEST(ConnectionGateTest, RefusesBeyondTheTotalAndFreesSlotsWhenReleased) {
  ConnectionGate gate({.max_connections = 2});
  ConnectionGate::Slot a, b, c;
  EXPECT_EQ(gate.TryReserve("10.0.0.1", kStart, a), Verdict::kAdmitted);
  EXPECT_EQ(gate.TryReserve("10.0.0.2", kStart, b), Verdict::kAdmitted);
  EXPECT_EQ(gate.TryReserve("10.0.0.3", kStart, c), Verdict::kFull);
  EXPECT_FALSE(c);
  EXPECT_EQ(gate.open(), 2u);
  a = ConnectionGate::Slot();  // releases
  EXPECT_EQ(gate.open(), 1u);
  EXPECT_EQ(gate.TryReserve("10.0.0.3", kStart, c), Verdict::kAdmitted);
}

TEST(ConnectionGateTest, PerAddressLimitLeavesOtherAddressesAlone) {
  ConnectionGate gate({.max_connections = 100, .max_per_address = 2});
  std::vector<ConnectionGate::Slot> slots(4);
  EXPECT_EQ(gate.TryReserve("10.0.0.1", kStart, slots[0]), Verdict::kAdmitted);
  EXPECT_EQ(gate.TryReserve("10.0.0.1", kStart, slots[1]), Verdict::kAdmitted);
  EXPECT_EQ(gate.TryReserve("10.0.0.1", kStart, slots[2]), Verdict::kAddressFull);
  EXPECT_EQ(gate.TryReserve("10.0.0.2", kStart, slots[3]), Verdict::kAdmitted);
  slots[0] = ConnectionGate::Slot();
  EXPECT_EQ(gate.TryReserve("10.0.0.1", kStart, slots[2]), Verdict::kAdmitted);
  EXPECT_EQ(slots[2].address(), "10.0.0.1");
}

TEST(ConnectionGateTest, NewConnectionsPerSecondAdmitsABurstThenTheRate) {
  ConnectionGate gate({.max_connections = 100, .new_connections_per_second = 3});
  std::vector<ConnectionGate::Slot> slots(10);
  EXPECT_EQ(gate.TryReserve("a", kStart, slots[0]), Verdict::kAdmitted);
  EXPECT_EQ(gate.TryReserve("a", kStart, slots[1]), Verdict::kAdmitted);
  EXPECT_EQ(gate.TryReserve("a", kStart, slots[2]), Verdict::kAdmitted);
  EXPECT_EQ(gate.TryReserve("a", kStart, slots[3]), Verdict::kTooFast);
  EXPECT_EQ(gate.TryReserve("a", kStart + absl::Milliseconds(340), slots[3]), Verdict::kAdmitted);
  EXPECT_EQ(gate.TryReserve("a", kStart + absl::Milliseconds(340), slots[4]), Verdict::kTooFast);
}

TEST(ConnectionGateTest, MovedSlotReleasesOnce) {
  ConnectionGate gate({.max_connections = 1});
  ConnectionGate::Slot a;
  ASSERT_EQ(gate.TryReserve("a", kStart, a), Verdict::kAdmitted);
  {
    ConnectionGate::Slot moved(std::move(a));
    EXPECT_EQ(gate.open(), 1u);
  }
  EXPECT_EQ(gate.open(), 0u);
}

TEST(ConnectionGateTest, StatusesAre503For_FullAndTooFast_And429PerAddress) {
  EXPECT_EQ(StatusFor(Verdict::kFull), 503);
  EXPECT_EQ(StatusFor(Verdict::kTooFast), 503);
  EXPECT_EQ(StatusFor(Verdict::kAddressFull), 429);
}

}  // namespace
}  // namespace stockfeed::ws_gateway

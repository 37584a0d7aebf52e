#include "core/sweep_list.h"

#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

struct Member {
  int id = 0;
  size_t slot = 0;
};

using List = SweepList<Member, &Member::slot>;

std::vector<int> Ids(absl::Span<Member* const> members) {
  std::vector<int> ids;
  for (const Member* member : members) ids.push_back(member->id);
  return ids;
}

std::vector<int> Contents(const List& list) {
  std::vector<int> ids;
  for (size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(list[i]->slot, i) << "member " << list[i]->id << " does not know its place";
    ids.push_back(list[i]->id);
  }
  return ids;
}

TEST(SweepListTest, SlicesWalkEveryMemberOncePerRound) {
  Member members[5] = {{1}, {2}, {3}, {4}, {5}};
  List list;
  for (Member& member : members) list.Add(&member);
  for (int round = 0; round < 2; ++round) {
    EXPECT_THAT(Ids(list.NextSlice(2)), ElementsAre(1, 2));
    EXPECT_FALSE(list.round_done());
    EXPECT_THAT(Ids(list.NextSlice(2)), ElementsAre(3, 4));
    EXPECT_THAT(Ids(list.NextSlice(2)), ElementsAre(5));
    EXPECT_TRUE(list.round_done());
    EXPECT_TRUE(list.NextSlice(2).empty());
    list.StartRound();
  }
}

TEST(SweepListTest, AnEmptyListsRoundIsDoneAtOnce) {
  List list;
  EXPECT_TRUE(list.NextSlice(4).empty());
  EXPECT_TRUE(list.round_done());
}

TEST(SweepListTest, RemovingSwapsTheLastMemberIn) {
  Member members[4] = {{1}, {2}, {3}, {4}};
  List list;
  for (Member& member : members) list.Add(&member);
  list.Remove(&members[1]);
  EXPECT_THAT(Contents(list), ElementsAre(1, 4, 3));
  list.Remove(&members[2]);  // the last one
  EXPECT_THAT(Contents(list), ElementsAre(1, 4));
  list.Remove(&members[0]);
  list.Remove(&members[3]);
  EXPECT_EQ(list.size(), 0u);
}

TEST(SweepListTest, RemovingAVisitedMemberDoesNotHideAnUnvisitedOne) {
  // Plain swap-removal would move 5 into 1's place, among the visited ones,
  // and the round would never reach it.
  Member members[5] = {{1}, {2}, {3}, {4}, {5}};
  List list;
  for (Member& member : members) list.Add(&member);
  EXPECT_THAT(Ids(list.NextSlice(3)), ElementsAre(1, 2, 3));
  list.Remove(&members[0]);
  EXPECT_THAT(Contents(list), ElementsAre(3, 2, 5, 4));
  EXPECT_THAT(Ids(list.NextSlice(10)), UnorderedElementsAre(4, 5));
}

TEST(SweepListTest, RemovingAVisitedMemberWhenAllAreVisited) {
  Member members[3] = {{1}, {2}, {3}};
  List list;
  for (Member& member : members) list.Add(&member);
  list.NextSlice(3);
  list.Remove(&members[0]);
  EXPECT_THAT(Contents(list), ElementsAre(3, 2));
  EXPECT_TRUE(list.round_done());
}

TEST(SweepListTest, MembersAddedDuringARoundAreVisitedInIt) {
  Member members[3] = {{1}, {2}, {3}};
  List list;
  list.Add(&members[0]);
  list.Add(&members[1]);
  EXPECT_THAT(Ids(list.NextSlice(1)), ElementsAre(1));
  list.Add(&members[2]);
  EXPECT_THAT(Ids(list.NextSlice(5)), ElementsAre(2, 3));
}

// Members come and go at random between slices: every member that stays for
// a whole round is visited exactly once in it, and nobody is visited twice.
TEST(SweepListTest, ChurnNeverSkipsOrRepeatsAMember) {
  std::mt19937 random(20261203);
  std::vector<std::unique_ptr<Member>> pool;
  std::set<Member*> present;
  List list;
  int next_id = 0;
  const auto add = [&] {
    pool.push_back(std::make_unique<Member>(Member{++next_id}));
    list.Add(pool.back().get());
    present.insert(pool.back().get());
  };
  for (int i = 0; i < 50; ++i) add();
  for (int round = 0; round < 200; ++round) {
    const std::set<Member*> at_start = present;
    std::set<Member*> removed;
    std::map<int, int> visits;
    while (!list.round_done()) {
      for (Member* member : list.NextSlice(1 + random() % 7)) ++visits[member->id];
      for (int changes = random() % 4; changes > 0; --changes) {
        if (random() % 2 == 0 || present.empty()) {
          add();
        } else {
          auto it = present.begin();
          std::advance(it, random() % present.size());
          list.Remove(*it);
          removed.insert(*it);
          present.erase(it);
        }
      }
    }
    for (const auto& [id, count] : visits) ASSERT_EQ(count, 1) << "member " << id << ", round " << round;
    for (Member* member : at_start) {
      if (removed.count(member) != 0) continue;
      ASSERT_EQ(visits.count(member->id), 1u) << "member " << member->id;
    }
    ASSERT_EQ(list.size(), present.size());
    for (size_t i = 0; i < list.size(); ++i) ASSERT_EQ(list[i]->slot, i);
    list.StartRound();
  }
}

}  // namespace
}  // namespace stockfeed::ws_gateway

// The classic assignors, against the assignments Java's RangeAssignor and RoundRobinAssignor
// produce for the same input (worked out from their published algorithms).
#include "kwire/client/assignor.hpp"

#include <gtest/gtest.h>

#include <set>

using kwire::client::assign_range;
using kwire::client::assign_roundrobin;
using kwire::client::topic_partition;
using member = kwire::client::group_member;

namespace {
std::vector<topic_partition> tps(std::initializer_list<std::pair<const char*, int>> l) {
    std::vector<topic_partition> out;
    for (auto [t, p] : l) out.push_back({t, p});
    return out;
}
}  // namespace

TEST(RangeAssignor, ContiguousRangesWithTheRemainderToTheFirstMembers) {
    const std::vector<member> members = {{"c2", {}, {"t"}}, {"c1", {}, {"t"}}, {"c3", {}, {"t"}}};
    const auto a = assign_range(members, {{"t", 8}});
    EXPECT_EQ(a.at("c1"), tps({{"t", 0}, {"t", 1}, {"t", 2}}));
    EXPECT_EQ(a.at("c2"), tps({{"t", 3}, {"t", 4}, {"t", 5}}));
    EXPECT_EQ(a.at("c3"), tps({{"t", 6}, {"t", 7}}));
}

TEST(RangeAssignor, UnevenSubscriptionsOnlyShareTheirOwnTopics) {
    const std::vector<member> members = {{"a", {}, {"x", "y"}}, {"b", {}, {"y"}}};
    const auto a = assign_range(members, {{"x", 3}, {"y", 2}, {"z", 4}});
    EXPECT_EQ(a.at("a"), tps({{"x", 0}, {"x", 1}, {"x", 2}, {"y", 0}}));
    EXPECT_EQ(a.at("b"), tps({{"y", 1}}));
}

TEST(RangeAssignor, StaticMembersAreOrderedByInstanceId) {
    const std::vector<member> members = {{"aaa", std::string("zeta"), {"t"}}, {"zzz", std::string("alpha"), {"t"}}};
    const auto a = assign_range(members, {{"t", 2}});
    EXPECT_EQ(a.at("zzz"), tps({{"t", 0}}));  // instance id "alpha" sorts first
    EXPECT_EQ(a.at("aaa"), tps({{"t", 1}}));
}

TEST(RoundRobinAssignor, DealsPartitionsInTurnSkippingUnsubscribedMembers) {
    const std::vector<member> members = {{"c0", {}, {"t0"}}, {"c1", {}, {"t0", "t1"}}, {"c2", {}, {"t0", "t1", "t2"}}};
    // Java's documented example: t0 has 1 partition, t1 2, t2 3.
    const auto a = assign_roundrobin(members, {{"t0", 1}, {"t1", 2}, {"t2", 3}});
    EXPECT_EQ(a.at("c0"), tps({{"t0", 0}}));
    EXPECT_EQ(a.at("c1"), tps({{"t1", 0}}));
    EXPECT_EQ(a.at("c2"), tps({{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}}));
}

TEST(RoundRobinAssignor, EveryPartitionExactlyOnceAndBalanced) {
    std::vector<member> members;
    for (int i = 0; i < 4; ++i) members.push_back({"m" + std::to_string(i), {}, {"a", "b"}});
    const auto a = assign_roundrobin(members, {{"a", 7}, {"b", 6}});
    std::set<topic_partition> seen;
    for (const auto& [m, list] : a) {
        EXPECT_GE(list.size(), 3u);
        EXPECT_LE(list.size(), 4u);
        for (const auto& tp : list) EXPECT_TRUE(seen.insert(tp).second);
    }
    EXPECT_EQ(seen.size(), 13u);
    EXPECT_TRUE(assign_roundrobin({}, {{"a", 3}}).empty());
}

// The cooperative-sticky assignor: balance, stickiness across joins and leaves, uneven
// subscriptions, conflicting and stale ownership claims, the two-round hand-over of moved
// partitions, determinism, and random groups that must settle (every subscribed partition
// assigned, balanced) within a few rounds without a partition ever going to two members or to a
// member while another still claims it.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "kwire/client/assignor.hpp"

using kwire::client::assign_cooperative_sticky;
using kwire::client::assignment;
using kwire::client::diff_assignment;
using kwire::client::topic_partition;
using member = kwire::client::group_member;
using topic_sizes = std::map<std::string, std::int32_t>;

namespace {

std::vector<topic_partition> tps(std::initializer_list<std::pair<const char*, int>> l) {
    std::vector<topic_partition> out;
    for (auto [t, p] : l) out.push_back({t, p});
    return out;
}

std::vector<topic_partition> all_of(const std::string& topic, int n) {
    std::vector<topic_partition> out;
    for (int p = 0; p < n; ++p) out.push_back({topic, p});
    return out;
}

bool subscribes(const member& m, const std::string& topic) {
    return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
}

const member& by_id(const std::vector<member>& members, const std::string& id) {
    return *std::find_if(members.begin(), members.end(), [&](const member& m) { return m.member_id == id; });
}

/// What holds after every round: every member listed, lists sorted, each partition to at most one
/// member and only to a subscriber, and never to a member that does not claim it while another
/// member does (that one must revoke it first).
void check_round(const std::vector<member>& members, const topic_sizes& sizes, const assignment& a) {
    ASSERT_EQ(a.size(), members.size());
    std::set<topic_partition> seen;
    for (const auto& [id, list] : a) {
        const auto& m = by_id(members, id);
        EXPECT_TRUE(std::is_sorted(list.begin(), list.end())) << id;
        for (const auto& tp : list) {
            EXPECT_TRUE(seen.insert(tp).second) << tp.topic << "-" << tp.partition << " assigned twice";
            EXPECT_TRUE(subscribes(m, tp.topic)) << id << " got " << tp.topic;
            ASSERT_TRUE(sizes.count(tp.topic) && tp.partition >= 0 && tp.partition < sizes.at(tp.topic));
            const auto claims = [&](const member& o) {
                return std::find(o.owned.begin(), o.owned.end(), tp) != o.owned.end();
            };
            if (!claims(m)) {
                for (const auto& o : members)
                    EXPECT_FALSE(o.member_id != id && claims(o))
                        << tp.topic << "-" << tp.partition << " handed to " << id << " while " << o.member_id << " owns it";
            }
        }
    }
}

/// Every partition of a subscribed topic is assigned.
bool complete(const std::vector<member>& members, const topic_sizes& sizes, const assignment& a) {
    std::size_t expected = 0, got = 0;
    for (const auto& entry : sizes) {
        const auto subscribed = [&](const member& m) { return subscribes(m, entry.first); };
        if (std::any_of(members.begin(), members.end(), subscribed)) expected += static_cast<std::size_t>(std::max(entry.second, 0));
    }
    for (const auto& [id, list] : a) got += list.size();
    return got == expected;
}

/// No partition could move to a subscriber holding two or more fewer than its holder.
void expect_balanced(const std::vector<member>& members, const assignment& a) {
    for (const auto& [x, list] : a)
        for (const auto& tp : list)
            for (const auto& y : members)
                if (subscribes(y, tp.topic)) {
                    EXPECT_LE(list.size(), a.at(y.member_id).size() + 1)
                        << x << " holds " << tp.topic << "-" << tp.partition << " that " << y.member_id << " could take";
                }
}

/// The members take their assignment (revoking what it lacks) and rejoin at the next generation.
void apply(std::vector<member>& members, const assignment& a, std::int32_t generation) {
    for (auto& m : members) {
        m.owned = a.at(m.member_id);
        m.generation = generation;
    }
}

/// Rebalances until a round assigns everything; returns that round's assignment.
assignment settle(std::vector<member>& members, const topic_sizes& sizes, std::int32_t& generation, int max_rounds = 3) {
    for (int round = 1;; ++round) {
        const auto a = assign_cooperative_sticky(members, sizes);
        check_round(members, sizes, a);
        apply(members, a, ++generation);
        if (complete(members, sizes, a)) return a;
        if (round == max_rounds) {
            ADD_FAILURE() << "no complete assignment after " << max_rounds << " rounds";
            return a;
        }
    }
}

std::vector<topic_partition> joined(const assignment& a) {
    std::vector<topic_partition> out;
    for (const auto& [id, list] : a) out.insert(out.end(), list.begin(), list.end());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST(CooperativeSticky, FreshGroupIsBalancedAndComplete) {
    const std::vector<member> members = {{"c", {}, {"t", "u"}}, {"a", {}, {"t", "u"}}, {"b", {}, {"t", "u"}}};
    const topic_sizes sizes = {{"t", 8}, {"u", 3}};
    const auto a = assign_cooperative_sticky(members, sizes);
    check_round(members, sizes, a);
    EXPECT_TRUE(complete(members, sizes, a));
    expect_balanced(members, a);
    std::multiset<std::size_t> counts;
    for (const auto& [id, list] : a) counts.insert(list.size());
    EXPECT_EQ(counts, (std::multiset<std::size_t>{3, 4, 4}));
    EXPECT_TRUE(assign_cooperative_sticky({}, sizes).empty());
}

TEST(CooperativeSticky, AJoiningMemberGetsMovedPartitionsOnlyAfterTheirOwnersRevoke) {
    std::vector<member> members = {{"a", {}, {"t"}}, {"b", {}, {"t"}}};
    const topic_sizes sizes = {{"t", 6}};
    std::int32_t generation = 0;
    const auto settled = settle(members, sizes, generation, 1);
    ASSERT_EQ(settled.at("a").size(), 3u);

    members.push_back({.member_id = "c", .topics = {"t"}});  // a newcomer: no claims, generation unknown
    const auto round1 = assign_cooperative_sticky(members, sizes);
    check_round(members, sizes, round1);
    // a and b each give one up; c gets nothing yet: both moved partitions are still owned.
    EXPECT_EQ(round1.at("a").size(), 2u);
    EXPECT_EQ(round1.at("b").size(), 2u);
    EXPECT_TRUE(round1.at("c").empty());
    for (const auto* id : {"a", "b"}) {
        const auto d = diff_assignment(settled.at(id), round1.at(id));
        EXPECT_TRUE(d.added.empty()) << id;
        EXPECT_EQ(d.revoked.size(), 1u) << id;
    }
    apply(members, round1, ++generation);

    // Round 2: the revoked partitions are nobody's now, and go to c; a and b keep theirs.
    const auto round2 = assign_cooperative_sticky(members, sizes);
    check_round(members, sizes, round2);
    EXPECT_EQ(round2.at("a"), round1.at("a"));
    EXPECT_EQ(round2.at("b"), round1.at("b"));
    EXPECT_EQ(round2.at("c").size(), 2u);
    EXPECT_EQ(joined(round2), all_of("t", 6));
    expect_balanced(members, round2);
}

TEST(CooperativeSticky, ALeavingMembersPartitionsAreSpreadAtOnceAndTheRestStay) {
    std::vector<member> members = {{"a", {}, {"t"}}, {"b", {}, {"t"}}, {"c", {}, {"t"}}};
    const topic_sizes sizes = {{"t", 9}};
    std::int32_t generation = 0;
    const auto before = settle(members, sizes, generation, 1);
    members.pop_back();  // c leaves
    const auto after = assign_cooperative_sticky(members, sizes);
    check_round(members, sizes, after);
    EXPECT_EQ(joined(after), all_of("t", 9));  // nothing to wait for: nobody owns c's partitions
    EXPECT_TRUE(diff_assignment(before.at("a"), after.at("a")).revoked.empty());
    EXPECT_TRUE(diff_assignment(before.at("b"), after.at("b")).revoked.empty());
    expect_balanced(members, after);
}

TEST(CooperativeSticky, UnevenSubscriptionsAreRespected) {
    // The Java sticky assignor's documented example: t1 has 1 partition, t2 2, t3 3.
    std::vector<member> members = {{"c0", {}, {"t1"}}, {"c1", {}, {"t1", "t2"}}, {"c2", {}, {"t1", "t2", "t3"}}};
    const topic_sizes sizes = {{"t1", 1}, {"t2", 2}, {"t3", 3}};
    std::int32_t generation = 0;
    const auto a = settle(members, sizes, generation, 1);
    EXPECT_EQ(a.at("c0"), tps({{"t1", 0}}));
    EXPECT_EQ(a.at("c1"), tps({{"t2", 0}, {"t2", 1}}));
    EXPECT_EQ(a.at("c2"), tps({{"t3", 0}, {"t3", 1}, {"t3", 2}}));

    // c3 subscribes to t3 only: it takes one of c2's, in two rounds; nobody else moves.
    members.push_back({.member_id = "c3", .topics = {"t3"}});
    const auto b = settle(members, sizes, generation, 2);
    EXPECT_EQ(b.at("c0"), a.at("c0"));
    EXPECT_EQ(b.at("c1"), a.at("c1"));
    EXPECT_EQ(b.at("c2").size(), 2u);
    EXPECT_EQ(b.at("c3").size(), 1u);
    expect_balanced(members, b);

    // Members with different subscriptions only share what they both want.
    const std::vector<member> xy = {{"a", {}, {"x", "y"}}, {"b", {}, {"y"}}};
    const auto c = assign_cooperative_sticky(xy, {{"x", 2}, {"y", 2}});
    EXPECT_EQ(c.at("a"), tps({{"x", 0}, {"x", 1}}));
    EXPECT_EQ(c.at("b"), tps({{"y", 0}, {"y", 1}}));
}

TEST(CooperativeSticky, APartitionClaimedTwiceInOneGenerationIsHeldBackThenAssigned) {
    std::vector<member> members = {
        {.member_id = "a", .topics = {"t"}, .owned = tps({{"t", 0}, {"t", 1}}), .generation = 3},
        {.member_id = "b", .topics = {"t"}, .owned = tps({{"t", 0}, {"t", 2}}), .generation = 3},
    };
    const topic_sizes sizes = {{"t", 4}};
    const auto round1 = assign_cooperative_sticky(members, sizes);
    check_round(members, sizes, round1);
    EXPECT_EQ(round1.at("a"), tps({{"t", 1}}));  // t-0 goes to neither claimant ...
    EXPECT_EQ(round1.at("b"), tps({{"t", 2}, {"t", 3}}));  // ... and t-3, nobody's, fills b
    apply(members, round1, 4);
    const auto round2 = assign_cooperative_sticky(members, sizes);
    check_round(members, sizes, round2);
    EXPECT_EQ(round2.at("a"), tps({{"t", 0}, {"t", 1}}));  // once both let go, it is free
    EXPECT_EQ(round2.at("b"), round1.at("b"));
}

TEST(CooperativeSticky, ClaimsFromAnOlderGenerationLose) {
    const std::vector<member> members = {
        {.member_id = "a", .topics = {"t"}, .owned = tps({{"t", 0}}), .generation = 5},
        {.member_id = "b", .topics = {"t"}, .owned = tps({{"t", 0}, {"t", 1}, {"t", 2}}), .generation = 4},
        {.member_id = "c", .topics = {"t"}, .generation = 5},
    };
    const topic_sizes sizes = {{"t", 3}};
    const auto a = assign_cooperative_sticky(members, sizes);
    check_round(members, sizes, a);
    EXPECT_EQ(a.at("a"), tps({{"t", 0}}));  // a's claim is current; b's is stale
    // b's stale claims make it nobody's valid owner, but it still holds them: whatever goes to c
    // must wait for b to revoke, whatever stays with b need not.
    EXPECT_EQ(a.at("b").size() + a.at("c").size(), 1u);
    EXPECT_TRUE(a.at("c").empty());

    // When nobody knows its generation, every claim counts.
    const std::vector<member> unknown = {
        {.member_id = "a", .topics = {"t"}, .owned = tps({{"t", 2}})},
        {.member_id = "b", .topics = {"t"}, .owned = tps({{"t", 0}})},
    };
    const auto u = assign_cooperative_sticky(unknown, {{"t", 2}, {"gone", 1}});
    EXPECT_EQ(u.at("a"), tps({{"t", 1}}));  // t-2 no longer exists
    EXPECT_EQ(u.at("b"), tps({{"t", 0}}));
}

TEST(CooperativeSticky, ClaimsOnTopicsNoLongerSubscribedAreRevokedFirst) {
    std::vector<member> members = {
        {.member_id = "a", .topics = {"u"}, .owned = tps({{"t", 0}, {"t", 1}}), .generation = 2},
        {.member_id = "b", .topics = {"t", "u"}, .generation = 2},
    };
    const topic_sizes sizes = {{"t", 2}, {"u", 2}};
    const auto round1 = assign_cooperative_sticky(members, sizes);
    check_round(members, sizes, round1);
    EXPECT_EQ(round1.at("a"), tps({{"u", 0}, {"u", 1}}));
    EXPECT_TRUE(round1.at("b").empty());  // t is b's to take, once a lets go of it
    apply(members, round1, 3);
    const auto round2 = assign_cooperative_sticky(members, sizes);
    EXPECT_EQ(round2.at("a"), round1.at("a"));
    EXPECT_EQ(round2.at("b"), tps({{"t", 0}, {"t", 1}}));
}

TEST(CooperativeSticky, DeterministicWhateverTheMemberOrder) {
    std::vector<member> members;
    for (int i = 0; i < 6; ++i) {
        member m{.member_id = "m" + std::to_string(i), .topics = {"a", "b"}, .generation = 7};
        for (int p = i; p < 12; p += 5) m.owned.push_back({p % 2 ? "a" : "b", p});
        members.push_back(m);
    }
    members[2].topics = {"b"};
    members[4].group_instance_id = "static-1";
    const topic_sizes sizes = {{"a", 7}, {"b", 11}};
    const auto expected = assign_cooperative_sticky(members, sizes);
    std::mt19937 rng(42);
    for (int i = 0; i < 20; ++i) {
        std::shuffle(members.begin(), members.end(), rng);
        EXPECT_EQ(assign_cooperative_sticky(members, sizes), expected);
    }
}

TEST(CooperativeSticky, RandomGroupsSettleBalancedAndStayPut) {
    std::mt19937 rng(2024);
    const auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    int settled_in_two_or_less = 0;
    for (int iteration = 0; iteration < 300; ++iteration) {
        SCOPED_TRACE("iteration " + std::to_string(iteration));
        topic_sizes sizes;
        const int topics = pick(1, 4);
        for (int t = 0; t < topics; ++t) sizes["t" + std::to_string(t)] = pick(0, 9);
        std::vector<member> members;
        const int count = pick(1, 7);
        for (int i = 0; i < count; ++i) {
            member m{.member_id = "m" + std::to_string(i)};
            for (const auto& [topic, n] : sizes)
                if (pick(0, 2) != 0) m.topics.push_back(topic);
            if (m.topics.empty()) m.topics.push_back("t0");
            // Random, overlapping, partly stale or nonexistent claims.
            for (int c = pick(0, 5); c > 0; --c) m.owned.push_back({"t" + std::to_string(pick(0, 4)), pick(0, 9)});
            m.generation = pick(-1, 1) + 10;
            members.push_back(m);
        }
        std::int32_t generation = 20;
        const auto start = generation;
        const auto a = settle(members, sizes, generation, 4);
        if (generation - start <= 2) ++settled_in_two_or_less;
        ASSERT_TRUE(complete(members, sizes, a));
        expect_balanced(members, a);
        // Settled: another rebalance changes nothing.
        EXPECT_EQ(assign_cooperative_sticky(members, sizes), a);
    }
    EXPECT_GT(settled_in_two_or_less, 250);
}

TEST(AssignmentDiff, AddedAndRevokedSortedAndUnique) {
    const auto d = diff_assignment(tps({{"b", 1}, {"a", 0}, {"a", 0}, {"c", 2}}), tps({{"c", 2}, {"a", 3}, {"a", 3}, {"a", 1}}));
    EXPECT_EQ(d.added, tps({{"a", 1}, {"a", 3}}));
    EXPECT_EQ(d.revoked, tps({{"a", 0}, {"b", 1}}));
    EXPECT_TRUE(diff_assignment({}, {}).added.empty());
}

// The producer's per-broker sinks (client/producer/sink.hpp): routing partitions by leader, the
// ready lists, waking only the sink concerned, round-robin drains, and leader moves.
#include "producer/sink.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <vector>

namespace {

using kwire::client::detail::sink_link;

struct part {
    int id = 0;
    sink_link link;
};
using router = kwire::client::detail::sink_router<part>;
using sink = router::sink_type;

std::deque<part> parts(int n) {
    std::deque<part> out(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(i)].id = i;
    return out;
}

std::vector<int> ids(const std::vector<part*>& ps) {
    std::vector<int> out;
    for (auto* p : ps) out.push_back(p->id);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<sink*> woken(router& r) {
    std::vector<sink*> out;
    r.take_woken(out);
    return out;
}

/// Every partition routed to `node` and ready there, the wake consumed.
void all_ready_on(router& r, std::deque<part>& ps, int node) {
    for (auto& p : ps) {
        r.route(p, node);
        r.mark_ready(p);
    }
    (void)woken(r);
}

/// One visit: the ids seen, in order; every partition stays ready unless listed in `done`.
std::vector<int> visit(sink& s, const std::vector<int>& done = {}) {
    std::vector<int> seen;
    s.visit_ready([&](part& p) {
        seen.push_back(p.id);
        return std::find(done.begin(), done.end(), p.id) == done.end();
    });
    return seen;
}

TEST(Sink, PartitionsAreRoutedToTheirLeadersSinkOrHeldWithoutOne) {
    router r;
    auto ps = parts(4);
    r.route(ps[0], 1);
    r.route(ps[1], 2);
    r.route(ps[2], 1);
    r.route(ps[3], -1);
    EXPECT_EQ(ids(r.of(1).members()), (std::vector<int>{0, 2}));
    EXPECT_EQ(ids(r.of(2).members()), (std::vector<int>{1}));
    EXPECT_EQ(ids(r.holding().members()), (std::vector<int>{3}));
    EXPECT_TRUE(r.holding().holding());
    EXPECT_EQ(router::home_of(ps[2]), &r.of(1));
    EXPECT_FALSE(r.route(ps[2], 1));  // already there
    EXPECT_FALSE(r.any_woken());      // routing alone wakes nobody: nothing is ready
}

TEST(Sink, ABatchMadeReadyWakesOnlyItsSink) {
    router r;
    auto ps = parts(6);
    for (auto& p : ps) r.route(p, p.id % 3);  // brokers 0, 1, 2
    r.mark_ready(ps[4]);                       // broker 1
    r.mark_ready(ps[1]);                       // broker 1 again: listed once
    const auto w = woken(r);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0]->node(), 1);
    EXPECT_FALSE(w[0]->woken);
    EXPECT_EQ(w[0]->ready_count(), 2u);
    EXPECT_EQ(r.of(0).ready_count(), 0u);
    EXPECT_EQ(r.of(2).ready_count(), 0u);
    // The drain of broker 1 sees only its own ready partitions.
    auto seen = visit(*w[0]);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<int>{1, 4}));
    EXPECT_TRUE(woken(r).empty());  // nothing woken since
}

TEST(Sink, MarkingAReadyPartitionAgainStillWakesItsSink) {
    // Its blocker (say a batch in flight on its old leader) may just have gone.
    router r;
    auto ps = parts(1);
    r.route(ps[0], 7);
    r.mark_ready(ps[0]);
    ASSERT_EQ(woken(r).size(), 1u);
    r.mark_ready(ps[0]);
    const auto w = woken(r);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0]->node(), 7);
}

TEST(Sink, APartitionWithNothingLeftLeavesTheReadyList) {
    router r;
    auto ps = parts(3);
    all_ready_on(r, ps, 1);
    auto& s = r.of(1);
    EXPECT_EQ(visit(s, {1}).size(), 3u);
    EXPECT_EQ(s.ready_count(), 2u);
    auto seen = visit(s, {0, 2});
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<int>{0, 2}));
    EXPECT_EQ(s.ready_count(), 0u);
    EXPECT_TRUE(visit(s).empty());
    r.mark_ready(ps[1]);  // it can come back
    EXPECT_EQ(visit(s), (std::vector<int>{1}));
}

TEST(Sink, DrainsStartOnePartitionFurtherEachTime) {
    // Round robin: when a request fills up, the partitions left out are not always the same.
    router r;
    auto ps = parts(4);
    all_ready_on(r, ps, 1);
    auto& s = r.of(1);
    std::vector<int> firsts;
    for (int i = 0; i < 8; ++i) firsts.push_back(visit(s).front());
    EXPECT_EQ(firsts, (std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3}));
    // Each visit sees every ready partition exactly once.
    auto seen = visit(s);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
}

TEST(Sink, APartitionMadeReadyDuringAVisitWaitsForTheNext) {
    router r;
    auto ps = parts(3);
    for (auto& p : ps) r.route(p, 1);
    r.mark_ready(ps[0]);
    auto& s = r.of(1);
    (void)woken(r);
    std::vector<int> seen;
    s.visit_ready([&](part& p) {
        seen.push_back(p.id);
        r.mark_ready(ps[2]);  // e.g. a send from a completion handler run by the drain
        return false;
    });
    EXPECT_EQ(seen, (std::vector<int>{0}));
    const auto w = woken(r);
    ASSERT_EQ(w.size(), 1u);  // woken again: the next drain takes it
    EXPECT_EQ(visit(s), (std::vector<int>{2}));
}

TEST(Sink, ALeaderMoveKeepsAReadyPartitionReadyAndWakesTheNewLeader) {
    router r;
    auto ps = parts(3);
    all_ready_on(r, ps, 1);
    EXPECT_TRUE(r.route(ps[1], 2));
    EXPECT_EQ(ids(r.of(1).members()), (std::vector<int>{0, 2}));
    EXPECT_EQ(ids(r.of(2).members()), (std::vector<int>{1}));
    const auto w = woken(r);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0]->node(), 2);
    // The old leader's drain no longer sees it; the new one's does.
    auto old_seen = visit(r.of(1));
    std::sort(old_seen.begin(), old_seen.end());
    EXPECT_EQ(old_seen, (std::vector<int>{0, 2}));
    EXPECT_EQ(visit(r.of(2)), (std::vector<int>{1}));
    // A partition that was not ready moves quietly.
    EXPECT_TRUE(r.route(ps[0], -1));
    EXPECT_EQ(ids(r.holding().members()), (std::vector<int>{0}));
}

TEST(Sink, APartitionMovedAwayDuringAVisitIsNotVisitedThere) {
    router r;
    auto ps = parts(3);
    all_ready_on(r, ps, 1);
    auto& s = r.of(1);
    std::vector<int> seen;
    s.visit_ready([&](part& p) {
        seen.push_back(p.id);
        if (p.id == 0) r.route(ps[1], 2), r.route(ps[2], 2);
        return true;
    });
    EXPECT_EQ(seen, (std::vector<int>{0}));
    EXPECT_EQ(s.ready_count(), 1u);
    EXPECT_EQ(r.of(2).ready_count(), 2u);
    auto seen2 = visit(r.of(2));
    std::sort(seen2.begin(), seen2.end());
    EXPECT_EQ(seen2, (std::vector<int>{1, 2}));
    // And back: the stale entries left behind in broker 1's list are not visited twice.
    r.route(ps[1], 1);
    auto back = visit(s);
    std::sort(back.begin(), back.end());
    EXPECT_EQ(back, (std::vector<int>{0, 1}));
}

TEST(Sink, WakeAllWakesOnlySinksWithWork) {
    router r;
    auto ps = parts(3);
    r.route(ps[0], 1);
    r.route(ps[1], 2);
    r.route(ps[2], -1);
    r.mark_ready(ps[1]);
    r.mark_ready(ps[2]);
    (void)woken(r);
    r.wake_all();
    auto w = woken(r);
    std::vector<int> nodes;
    for (auto* s : w) nodes.push_back(s->node());
    std::sort(nodes.begin(), nodes.end());
    EXPECT_EQ(nodes, (std::vector<int>{-1, 2}));
}

}  // namespace

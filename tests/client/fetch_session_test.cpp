// Fetch sessions (KIP-227) without a broker: which Fetch is full or incremental, what an
// incremental one lists and forgets, how answers and errors move the session, and the epoch.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "consumer/fetch_session.hpp"

namespace {

using kwire::client::detail::fetch_plan;
using kwire::client::detail::fetch_position;
using kwire::client::detail::fetch_session;
using kwire::client::detail::fetch_verdict;
using kwire::client::detail::fetch_want;

constexpr std::int16_t v = 11;  // a version with sessions

fetch_want want(std::uint32_t id, std::int64_t offset, std::int32_t leader_epoch = 5, std::int32_t max_bytes = 1024) {
    return {id, fetch_position{offset, leader_epoch, max_bytes, -1}};
}

std::vector<std::uint32_t> parts(std::initializer_list<std::uint32_t> l) { return l; }

std::vector<std::uint32_t> ids(const std::vector<fetch_want>& w) {
    std::vector<std::uint32_t> out;
    for (const auto& x : w) out.push_back(x.id);
    return out;
}

/// A session the broker accepted as `id` after a full Fetch of `wanted`; the next Fetch is epoch 1.
fetch_session established(const std::vector<fetch_want>& wanted, std::int32_t id = 77) {
    fetch_session s;
    fetch_plan p;
    s.plan(wanted, p);
    EXPECT_EQ(s.on_response(v, 0, id, ids(wanted)), fetch_verdict::use);
    EXPECT_EQ(s.epoch(), 1);
    return s;
}

TEST(FetchSession, TheFirstFetchIsFullAndListsEveryPartitionInTheGivenOrder) {
    fetch_session s;
    fetch_plan p;
    const std::vector<fetch_want> wanted{want(3, 10), want(1, 20), want(2, 30)};
    s.plan(wanted, p);
    EXPECT_TRUE(p.full);
    EXPECT_EQ(p.session_id, 0);
    EXPECT_EQ(p.epoch, 0) << "epoch 0 asks the broker for a session";
    EXPECT_EQ(p.send, wanted);
    EXPECT_TRUE(p.forget.empty());
}

TEST(FetchSession, ABrokerThatMakesNoSessionGetsFullFetchesEveryTime) {
    fetch_session s;
    fetch_plan p;
    const std::vector<fetch_want> wanted{want(1, 0), want(2, 0)};
    for (int round = 0; round < 3; ++round) {
        s.plan(wanted, p);
        EXPECT_TRUE(p.full);
        EXPECT_EQ(p.session_id, 0);
        EXPECT_EQ(p.epoch, 0);
        EXPECT_EQ(p.send, wanted);
        EXPECT_EQ(s.on_response(v, 0, 0, parts({1, 2})), fetch_verdict::use);  // session id 0: none made
    }
    EXPECT_FALSE(s.incremental());
}

TEST(FetchSession, VersionsBeforeSevenAreSessionless) {
    fetch_session s;
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 0)}, p);
    // Whatever the decoded answer says: v6 has no session fields.
    EXPECT_EQ(s.on_response(6, 0, 0, parts({1})), fetch_verdict::use);
    s.plan(std::vector<fetch_want>{want(1, 5)}, p);
    EXPECT_TRUE(p.full);
    EXPECT_EQ(p.session_id, 0);
}

TEST(FetchSession, WithASessionOnlyChangedPartitionsAreListed) {
    auto s = established({want(1, 100), want(2, 200), want(3, 300)});
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 100), want(2, 250), want(3, 300)}, p);
    EXPECT_FALSE(p.full);
    EXPECT_EQ(p.session_id, 77);
    EXPECT_EQ(p.epoch, 1);
    EXPECT_EQ(p.send, (std::vector<fetch_want>{want(2, 250)})) << "only the partition whose offset moved";
    EXPECT_TRUE(p.forget.empty());
    // The broker answers for partition 2 only: the others keep their state.
    EXPECT_EQ(s.on_response(v, 0, 77, parts({2})), fetch_verdict::use);
    EXPECT_EQ(s.epoch(), 2);
    // Nothing changed: an incremental Fetch that lists nothing (the broker still fetches all three).
    s.plan(std::vector<fetch_want>{want(1, 100), want(2, 250), want(3, 300)}, p);
    EXPECT_FALSE(p.full);
    EXPECT_EQ(p.epoch, 2);
    EXPECT_TRUE(p.send.empty());
    EXPECT_TRUE(p.forget.empty());
    EXPECT_EQ(s.on_response(v, 0, 77, parts({})), fetch_verdict::use) << "an empty incremental answer is valid";
    EXPECT_EQ(s.epoch(), 3);
}

TEST(FetchSession, LeaderEpochAndMaxBytesChangesAreSentAgain) {
    auto s = established({want(1, 100), want(2, 200), want(3, 300)});
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 100, 6), want(2, 200, 5, 2048), want(3, 300)}, p);
    EXPECT_EQ(p.send, (std::vector<fetch_want>{want(1, 100, 6), want(2, 200, 5, 2048)}));
}

TEST(FetchSession, NewPartitionsAreAddedAndOnesNoLongerWantedForgotten) {
    auto s = established({want(1, 100), want(2, 200), want(3, 300)});
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(4, 0), want(3, 310), want(2, 200)}, p);
    EXPECT_FALSE(p.full);
    EXPECT_EQ(p.send, (std::vector<fetch_want>{want(3, 310), want(4, 0)}));
    EXPECT_EQ(p.forget, (std::vector<std::uint32_t>{1}));
    EXPECT_EQ(s.partitions().size(), 3u);
    EXPECT_EQ(s.partitions()[0].id, 2u);
    EXPECT_EQ(s.partitions()[2].id, 4u);
}

TEST(FetchSession, APausedPartitionIsForgottenAndListedAgainOnResume) {
    auto s = established({want(1, 100), want(2, 200)});
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 100)}, p);  // 2 paused (or holding unread records)
    EXPECT_TRUE(p.send.empty());
    EXPECT_EQ(p.forget, (std::vector<std::uint32_t>{2}));
    ASSERT_EQ(s.on_response(v, 0, 77, parts({})), fetch_verdict::use);
    s.plan(std::vector<fetch_want>{want(1, 100), want(2, 200)}, p);  // resumed, same position
    EXPECT_EQ(p.send, (std::vector<fetch_want>{want(2, 200)})) << "the broker forgot it: it must be listed";
    EXPECT_TRUE(p.forget.empty());
}

TEST(FetchSession, AnAnswerNamingAPartitionOutsideTheSessionIsDiscarded) {
    {
        auto s = established({want(1, 100), want(2, 200)});
        fetch_plan p;
        s.plan(std::vector<fetch_want>{want(1, 100), want(2, 200)}, p);
        EXPECT_EQ(s.on_response(v, 0, 77, parts({3})), fetch_verdict::discard);
        s.plan(std::vector<fetch_want>{want(1, 100), want(2, 200)}, p);
        EXPECT_TRUE(p.full);
        EXPECT_EQ(p.session_id, 77) << "named so that the broker closes it";
        EXPECT_EQ(p.epoch, 0);
    }
    {
        fetch_session s;
        fetch_plan p;
        s.plan(std::vector<fetch_want>{want(1, 100)}, p);
        EXPECT_EQ(s.on_response(v, 0, 5, parts({1, fetch_session::unknown_partition})), fetch_verdict::discard);
        s.plan(std::vector<fetch_want>{want(1, 100)}, p);
        EXPECT_TRUE(p.full);
        EXPECT_EQ(p.session_id, 0);
    }
}

TEST(FetchSession, AFullAnswerLeavingAPartitionOutIsDiscarded) {
    fetch_session s;
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 100), want(2, 200)}, p);
    EXPECT_EQ(s.on_response(v, 0, 9, parts({1})), fetch_verdict::discard);  // e.g. a throttled empty answer
    s.plan(std::vector<fetch_want>{want(1, 100), want(2, 200)}, p);
    EXPECT_TRUE(p.full);
    EXPECT_EQ(p.session_id, 0);
    EXPECT_EQ(p.send.size(), 2u);
}

TEST(FetchSession, UnknownSessionIdStartsOverWithoutTheId) {
    auto s = established({want(1, 100), want(2, 200)});
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 150), want(2, 200)}, p);
    EXPECT_EQ(s.on_response(v, 70, 0, parts({})), fetch_verdict::discard);  // FETCH_SESSION_ID_NOT_FOUND
    s.plan(std::vector<fetch_want>{want(1, 150), want(2, 200)}, p);
    EXPECT_TRUE(p.full);
    EXPECT_EQ(p.session_id, 0);
    EXPECT_EQ(p.epoch, 0);
    EXPECT_EQ(p.send, (std::vector<fetch_want>{want(1, 150), want(2, 200)})) << "every partition, at its position";
    EXPECT_TRUE(p.forget.empty());
    EXPECT_EQ(s.on_response(v, 0, 78, parts({1, 2})), fetch_verdict::use);
    s.plan(std::vector<fetch_want>{want(1, 150), want(2, 200)}, p);
    EXPECT_EQ(p.session_id, 78);
    EXPECT_EQ(p.epoch, 1);
}

TEST(FetchSession, InvalidEpochAndOtherErrorsCloseTheSessionInTheNextFullFetch) {
    for (const std::int16_t error : {std::int16_t{71}, std::int16_t{-1}, std::int16_t{106}}) {
        SCOPED_TRACE(error);
        auto s = established({want(1, 100)});
        fetch_plan p;
        s.plan(std::vector<fetch_want>{want(1, 100)}, p);
        EXPECT_EQ(s.on_response(v, error, 0, parts({})), fetch_verdict::discard);
        s.plan(std::vector<fetch_want>{want(1, 100)}, p);
        EXPECT_TRUE(p.full);
        EXPECT_EQ(p.session_id, 77);
        EXPECT_EQ(p.epoch, 0);
    }
}

TEST(FetchSession, AFailedRequestMakesTheNextFetchFull) {
    auto s = established({want(1, 100), want(2, 200)});
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 120), want(2, 200)}, p);
    s.on_failure();  // timed out, or the connection dropped: the broker may or may not have seen it
    s.plan(std::vector<fetch_want>{want(1, 120), want(2, 200)}, p);
    EXPECT_TRUE(p.full);
    EXPECT_EQ(p.session_id, 77);
    EXPECT_EQ(p.epoch, 0);
    EXPECT_EQ(p.send.size(), 2u);
}

TEST(FetchSession, TheBrokerClosingTheSessionMeansFullFetches) {
    auto s = established({want(1, 100)});
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 100)}, p);
    EXPECT_EQ(s.on_response(v, 0, 0, parts({1})), fetch_verdict::use);
    s.plan(std::vector<fetch_want>{want(1, 100)}, p);
    EXPECT_TRUE(p.full);
    EXPECT_EQ(p.session_id, 0);
}

TEST(FetchSession, TheEpochCountsAnsweredFetchesAndWrapsToOne) {
    auto s = established({want(1, 0)});
    fetch_plan p;
    for (std::int32_t e = 1; e <= 50; ++e) {
        s.plan(std::vector<fetch_want>{want(1, e)}, p);
        ASSERT_EQ(p.epoch, e);
        ASSERT_EQ(s.on_response(v, 0, 77, parts({1})), fetch_verdict::use);
    }
    constexpr auto max = std::numeric_limits<std::int32_t>::max();
    EXPECT_EQ(fetch_session::next_epoch(0), 1);
    EXPECT_EQ(fetch_session::next_epoch(41), 42);
    EXPECT_EQ(fetch_session::next_epoch(max - 1), max);
    EXPECT_EQ(fetch_session::next_epoch(max), 1) << "0 means full: never reused";
    EXPECT_EQ(fetch_session::next_epoch(-1), -1);
}

TEST(FetchSession, CloseEndsTheSessionWithEpochMinusOne) {
    auto s = established({want(1, 100), want(2, 200)});
    auto c = s.close();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->session_id, 77);
    EXPECT_EQ(c->epoch, -1);
    EXPECT_TRUE(c->send.empty());
    EXPECT_TRUE(c->forget.empty());
    EXPECT_FALSE(s.close()) << "nothing left to close";
    fetch_plan p;
    s.plan(std::vector<fetch_want>{want(1, 100)}, p);
    EXPECT_TRUE(p.full);
    EXPECT_EQ(p.session_id, 0);

    fetch_session none;
    EXPECT_FALSE(none.close()) << "no session, no request";
}

}  // namespace

// KIP-848 group membership without a broker: what each ConsumerGroupHeartbeat says, when it is
// due, and what its answers and failures make the consumer do.
#include <gtest/gtest.h>

#include "group/group_membership.hpp"
#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"

namespace {

using kwire::client::detail::group_membership;
using kwire::client::detail::id_assignment;
using kwire::client::detail::member_commit_action;
using kwire::client::detail::classify_member_commit_error;
using action = group_membership::action;
using clock_type = group_membership::clock;
using namespace std::chrono_literals;
namespace kp = kwire::protocol;

kp::uuid id(std::uint8_t n) {
    kp::uuid u;
    u.bytes[15] = n;
    return u;
}

group_membership::options opts(std::optional<std::string> instance = std::nullopt) {
    group_membership::options o;
    o.group_id = "g";
    o.client_member_id = "client-made-id";
    o.instance_id = std::move(instance);
    o.rack_id = "rack-1";
    o.rebalance_timeout_ms = 45000;
    o.retry_backoff = 50ms;
    return o;
}

kp::ConsumerGroupHeartbeatResponse answer(std::int32_t epoch, std::optional<id_assignment> assignment = std::nullopt,
                                          std::int32_t interval_ms = 1000, std::string member = "client-made-id") {
    kp::ConsumerGroupHeartbeatResponse r;
    r.member_id = std::move(member);
    r.member_epoch = epoch;
    r.heartbeat_interval_ms = interval_ms;
    if (assignment) {
        r.assignment.emplace();
        for (const auto& [t, ps] : *assignment) r.assignment->topic_partitions.push_back({t, {ps.begin(), ps.end()}, {}});
    }
    return r;
}

kp::ConsumerGroupHeartbeatResponse error(std::int16_t code) {
    kp::ConsumerGroupHeartbeatResponse r;
    r.error_code = code;
    return r;
}

const auto t0 = clock_type::time_point{} + 1000s;

/// A member that joined and was answered with `epoch`, owning nothing yet.
group_membership joined(std::optional<std::string> instance = std::nullopt) {
    group_membership m(opts(std::move(instance)));
    m.subscribe({"orders"}, t0);
    (void)m.heartbeat(1, t0);
    EXPECT_EQ(m.on_response(answer(5), t0), action::none);
    return m;
}

TEST(GroupMembership, JoiningSendsEveryFieldAtEpochZero) {
    group_membership m(opts("i-1"));
    EXPECT_FALSE(m.heartbeat_due(t0)) << "nothing before subscribe";
    m.subscribe({"orders", "audit"}, t0);
    ASSERT_TRUE(m.heartbeat_due(t0));
    const auto req = m.heartbeat(1, t0);
    EXPECT_EQ(req.group_id, "g");
    EXPECT_EQ(req.member_id, "client-made-id") << "v1: the member names itself";
    EXPECT_EQ(req.member_epoch, 0);
    EXPECT_EQ(req.instance_id, "i-1");
    EXPECT_EQ(req.rack_id, "rack-1");
    EXPECT_EQ(req.rebalance_timeout_ms, 45000);
    EXPECT_EQ(req.subscribed_topic_names, (std::vector<std::string>{"orders", "audit"}));
    ASSERT_TRUE(req.topic_partitions.has_value());
    EXPECT_TRUE(req.topic_partitions->empty()) << "joining: an empty owned list";
    EXPECT_FALSE(m.heartbeat_due(t0)) << "one in flight at a time";
}

TEST(GroupMembership, VersionZeroTakesTheIdTheBrokerGives) {
    group_membership m(opts());
    m.subscribe({"orders"}, t0);
    EXPECT_EQ(m.heartbeat(0, t0).member_id, "");
    EXPECT_EQ(m.on_response(answer(1, std::nullopt, 1000, "broker-made"), t0), action::none);
    EXPECT_EQ(m.member_id(), "broker-made");
    EXPECT_EQ(m.heartbeat(0, t0 + 1s).member_id, "broker-made");
}

TEST(GroupMembership, AfterAnAnswerOnlyChangesAreSentAtTheBrokersInterval) {
    auto m = joined();
    EXPECT_EQ(m.member_epoch(), 5);
    EXPECT_FALSE(m.heartbeat_due(t0 + 999ms));
    ASSERT_TRUE(m.heartbeat_due(t0 + 1000ms)) << "HeartbeatIntervalMs from the answer";
    auto req = m.heartbeat(1, t0 + 1000ms);
    EXPECT_EQ(req.member_epoch, 5);
    EXPECT_FALSE(req.subscribed_topic_names) << "unchanged: null";
    EXPECT_FALSE(req.topic_partitions) << "unchanged: null";
    EXPECT_FALSE(req.rack_id);
    EXPECT_EQ(req.rebalance_timeout_ms, -1);
    ASSERT_EQ(m.on_response(answer(5, std::nullopt, 2000), t0 + 1s), action::none);
    EXPECT_FALSE(m.heartbeat_due(t0 + 2999ms));
    // A new subscription goes out at once.
    m.subscribe({"orders", "audit"}, t0 + 1500ms);
    ASSERT_TRUE(m.heartbeat_due(t0 + 1500ms));
    req = m.heartbeat(1, t0 + 1500ms);
    EXPECT_EQ(req.subscribed_topic_names, (std::vector<std::string>{"orders", "audit"}));
    ASSERT_EQ(m.on_response(answer(6), t0 + 1500ms), action::none);
    EXPECT_FALSE(m.heartbeat(1, t0 + 3s).subscribed_topic_names) << "acknowledged: not sent again";
}

TEST(GroupMembership, AnAssignmentIsReconciledThenAcknowledgedAtOnce) {
    auto m = joined();
    (void)m.heartbeat(1, t0 + 1s);
    const id_assignment target{{id(1), {0, 1}}, {id(2), {3}}};
    ASSERT_EQ(m.on_response(answer(6, target), t0 + 1s), action::reconcile);
    EXPECT_EQ(m.target(), target);
    EXPECT_TRUE(m.reconcile_needed());
    const auto token = m.begin_reconcile();
    EXPECT_FALSE(m.reconcile_needed()) << "one at a time";
    m.reconciled(token, target, t0 + 1100ms);
    EXPECT_EQ(m.owned(), target);
    ASSERT_TRUE(m.heartbeat_due(t0 + 1100ms)) << "the acknowledgement does not wait for the interval";
    auto req = m.heartbeat(1, t0 + 1100ms);
    ASSERT_TRUE(req.topic_partitions);
    ASSERT_EQ(req.topic_partitions->size(), 2u);
    EXPECT_EQ((*req.topic_partitions)[0].topic_id, id(1));
    EXPECT_EQ((*req.topic_partitions)[0].partitions, (std::vector<std::int32_t>{0, 1}));
    ASSERT_EQ(m.on_response(answer(6), t0 + 1100ms), action::none);
    EXPECT_FALSE(m.heartbeat(1, t0 + 3s).topic_partitions) << "acknowledged: null until it changes";
}

TEST(GroupMembership, ARevocationIsAcknowledgedByOwningLess) {
    auto m = joined();
    (void)m.heartbeat(1, t0);
    const id_assignment all{{id(1), {0, 1, 2, 3}}};
    ASSERT_EQ(m.on_response(answer(6, all), t0), action::reconcile);
    m.reconciled(m.begin_reconcile(), all, t0);
    (void)m.heartbeat(1, t0);
    ASSERT_EQ(m.on_response(answer(6), t0), action::none);
    // The broker moves two partitions elsewhere: the member gives them up and says so.
    (void)m.heartbeat(1, t0 + 1s);
    const id_assignment half{{id(1), {0, 1}}};
    ASSERT_EQ(m.on_response(answer(7, half), t0 + 1s), action::reconcile);
    m.reconciled(m.begin_reconcile(), half, t0 + 1s);
    const auto req = m.heartbeat(1, t0 + 1s);
    ASSERT_TRUE(req.topic_partitions);
    EXPECT_EQ((*req.topic_partitions)[0].partitions, (std::vector<std::int32_t>{0, 1}));
    EXPECT_EQ(req.member_epoch, 7);
}

TEST(GroupMembership, AnAssignmentArrivingDuringAReconciliationWaitsForIt) {
    auto m = joined();
    (void)m.heartbeat(1, t0);
    const id_assignment a{{id(1), {0}}};
    ASSERT_EQ(m.on_response(answer(6, a), t0), action::reconcile);
    const auto token = m.begin_reconcile();
    (void)m.heartbeat(1, t0 + 1s);  // heartbeats go on meanwhile
    const id_assignment b{{id(1), {0, 1}}};
    EXPECT_EQ(m.on_response(answer(7, b), t0 + 1s), action::none) << "not while one runs";
    m.reconciled(token, a, t0 + 1s);
    EXPECT_TRUE(m.reconcile_needed()) << "then toward the newer target";
    EXPECT_EQ(m.target(), b);
}

TEST(GroupMembership, FencingLosesEverythingAndRejoinsAtEpochZeroUnderTheSameId) {
    for (const std::int16_t code : {std::int16_t{25}, std::int16_t{110}}) {  // UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH
        SCOPED_TRACE(code);
        auto m = joined();
        (void)m.heartbeat(1, t0);
        const id_assignment a{{id(1), {0, 1}}};
        ASSERT_EQ(m.on_response(answer(6, a), t0), action::reconcile);
        m.reconciled(m.begin_reconcile(), a, t0);
        (void)m.heartbeat(1, t0 + 1s);
        const id_assignment b{{id(1), {0, 1, 2}}};
        ASSERT_EQ(m.on_response(answer(7, b), t0 + 1s), action::reconcile);
        const auto token = m.begin_reconcile();
        EXPECT_TRUE(m.reconciling(token));
        (void)m.heartbeat(1, t0 + 2s);
        EXPECT_EQ(m.on_response(error(code), t0 + 2s), action::lose_all);
        EXPECT_FALSE(m.reconciling(token)) << "stale: it must not add partitions of the lost epoch";
        EXPECT_TRUE(m.owned().empty());
        EXPECT_EQ(m.member_epoch(), 0);
        m.reconciled(token, b, t0 + 2s);  // finished after the fence: ignored
        EXPECT_TRUE(m.owned().empty());
        ASSERT_TRUE(m.heartbeat_due(t0 + 2s)) << "rejoin at once";
        const auto req = m.heartbeat(1, t0 + 2s);
        EXPECT_EQ(req.member_epoch, 0);
        EXPECT_EQ(req.member_id, "client-made-id");
        EXPECT_EQ(req.subscribed_topic_names, std::vector<std::string>{"orders"});
        EXPECT_EQ(req.rebalance_timeout_ms, 45000);
        ASSERT_TRUE(req.topic_partitions);
        EXPECT_TRUE(req.topic_partitions->empty());
    }
}

TEST(GroupMembership, CoordinatorErrorsAndLostRequestsResendEverythingAfterTheBackoff) {
    auto m = joined();
    (void)m.heartbeat(1, t0 + 1s);
    EXPECT_EQ(m.on_response(error(16), t0 + 1s), action::rediscover_coordinator);  // NOT_COORDINATOR
    EXPECT_FALSE(m.heartbeat_due(t0 + 1s + 49ms));
    ASSERT_TRUE(m.heartbeat_due(t0 + 1s + 50ms));
    auto req = m.heartbeat(1, t0 + 1s + 50ms);
    EXPECT_EQ(req.member_epoch, 5) << "still a member";
    EXPECT_TRUE(req.subscribed_topic_names);
    EXPECT_TRUE(req.topic_partitions);
    EXPECT_EQ(m.on_failure(make_error_code(kwire::client::client_errc::request_timed_out), t0 + 2s),
              action::rediscover_coordinator);
    req = m.heartbeat(1, t0 + 3s);
    EXPECT_TRUE(req.subscribed_topic_names) << "the broker may not have seen the last one";
    EXPECT_EQ(m.on_response(error(14), t0 + 3s), action::none);  // COORDINATOR_LOAD_IN_PROGRESS: retried
    // The third failure in a row: the backoff has doubled twice.
    EXPECT_FALSE(m.heartbeat_due(t0 + 3s + 199ms));
    EXPECT_TRUE(m.heartbeat_due(t0 + 3s + 200ms));
}

TEST(GroupMembership, ConsecutiveFailuresBackOffExponentiallyUntilAnAnswer) {
    auto o = opts();
    o.retry_backoff_max = 300ms;
    group_membership m(o);
    m.subscribe({"orders"}, t0);
    auto now = t0;
    std::vector<std::chrono::milliseconds> waits;
    for (int i = 0; i < 5; ++i) {
        (void)m.heartbeat(1, now);
        m.on_response(error(14), now);  // COORDINATOR_LOAD_IN_PROGRESS
        const auto at = m.next_heartbeat();
        ASSERT_TRUE(at);
        waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(*at - now));
        now = *at;
    }
    EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{50ms, 100ms, 200ms, 300ms, 300ms}));
    // An answer starts the count again.
    (void)m.heartbeat(1, now);
    m.on_response(answer(1), now);
    now += 1s;
    (void)m.heartbeat(1, now);
    EXPECT_EQ(m.on_failure(make_error_code(kwire::client::client_errc::request_timed_out), now),
              action::rediscover_coordinator);
    EXPECT_EQ(m.next_heartbeat(), now + 50ms);
}

TEST(GroupMembership, TheRetryBackoffIsJittered) {
    auto o = opts();
    o.jitter = [] { return 0.8; };
    group_membership m(o);
    m.subscribe({"orders"}, t0);
    (void)m.heartbeat(1, t0);
    m.on_response(error(14), t0);
    EXPECT_EQ(m.next_heartbeat(), t0 + 40ms);
}

TEST(GroupMembership, UnknownErrorsAndAMissingApiAreFatal) {
    {
        auto m = joined();
        (void)m.heartbeat(1, t0 + 1s);
        EXPECT_EQ(m.on_response(error(111), t0 + 1s), action::fatal);  // UNRELEASED_INSTANCE_ID
        EXPECT_EQ(m.error(), kwire::kafka_error(111));
        EXPECT_FALSE(m.heartbeat_due(t0 + 1h));
    }
    {
        group_membership m(opts());
        m.subscribe({"orders"}, t0);
        (void)m.heartbeat(0, t0);
        const auto ec = make_error_code(kwire::client::client_errc::unsupported_version);
        EXPECT_EQ(m.on_failure(ec, t0), action::fatal);
        EXPECT_EQ(m.error(), ec);
    }
}

TEST(GroupMembership, LeavingSaysEpochMinusOneOrMinusTwoForAStaticMember) {
    for (const bool is_static : {false, true}) {
        auto m = joined(is_static ? std::optional<std::string>("i-1") : std::nullopt);
        m.leave(t0 + 100ms);
        ASSERT_TRUE(m.heartbeat_due(t0 + 100ms)) << "at once";
        const auto req = m.heartbeat(1, t0 + 100ms);
        EXPECT_EQ(req.member_epoch, is_static ? -2 : -1);
        EXPECT_EQ(req.member_id, "client-made-id");
        EXPECT_EQ(m.on_response(error(25), t0 + 100ms), action::left) << "whatever the answer";
        EXPECT_FALSE(m.heartbeat_due(t0 + 1h));
    }
    // A leave asked for while a heartbeat is in flight goes out after its answer.
    auto m = joined();
    (void)m.heartbeat(1, t0 + 1s);
    m.leave(t0 + 1100ms);
    EXPECT_FALSE(m.heartbeat_due(t0 + 1100ms));
    EXPECT_EQ(m.on_response(answer(5), t0 + 1200ms), action::none) << "not the answer to the leave";
    ASSERT_TRUE(m.heartbeat_due(t0 + 1200ms));
    EXPECT_EQ(m.heartbeat(1, t0 + 1200ms).member_epoch, -1);
    EXPECT_EQ(m.on_failure(make_error_code(kwire::client::client_errc::request_timed_out), t0 + 2s), action::left);

    group_membership never(opts());
    never.leave(t0);
    EXPECT_EQ(never.current(), group_membership::state::left) << "nothing to send";
}

TEST(GroupMembership, CommitErrors) {
    EXPECT_EQ(classify_member_commit_error(0, false), member_commit_action::none);
    EXPECT_EQ(classify_member_commit_error(113, false), member_commit_action::retry) << "STALE_MEMBER_EPOCH";
    EXPECT_EQ(classify_member_commit_error(110, false), member_commit_action::fail) << "the heartbeat rejoins";
    EXPECT_EQ(classify_member_commit_error(25, false), member_commit_action::fail);
    EXPECT_EQ(classify_member_commit_error(16, false), member_commit_action::rediscover_coordinator);
    EXPECT_EQ(classify_member_commit_error(0, true), member_commit_action::rediscover_coordinator);
    EXPECT_EQ(classify_member_commit_error(82, false), member_commit_action::fatal);
}

}  // namespace

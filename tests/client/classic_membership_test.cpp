// Classic group membership without a broker: what JoinGroup, SyncGroup, Heartbeat and
// LeaveGroup say, and what each answer (and each error) makes the consumer do.
#include <gtest/gtest.h>

#include <vector>

#include "group/classic_membership.hpp"
#include "kwire/protocol/error.hpp"

namespace {

using kwire::client::detail::classic_membership;
using step = classic_membership::step;
using state = classic_membership::state;
using clock_type = classic_membership::clock;
using namespace std::chrono_literals;
namespace kp = kwire::protocol;

constexpr std::int16_t coordinator_load_in_progress = 14;
constexpr std::int16_t coordinator_not_available = 15;
constexpr std::int16_t not_coordinator = 16;
constexpr std::int16_t illegal_generation = 22;
constexpr std::int16_t unknown_member_id = 25;
constexpr std::int16_t rebalance_in_progress = 27;
constexpr std::int16_t member_id_required = 79;
constexpr std::int16_t fenced_instance_id = 82;
constexpr std::int16_t group_authorization_failed = 30;

const auto t0 = clock_type::time_point{} + 1000s;

classic_membership::options opts(std::optional<std::string> instance = std::nullopt) {
    classic_membership::options o;
    o.group_id = "g";
    o.instance_id = std::move(instance);
    o.session_timeout = 10s;
    o.rebalance_timeout = 60s;
    o.heartbeat_interval = 1s;
    o.retry_backoff = 50ms;
    return o;
}

kp::JoinGroupResponse joined_as(std::string member, std::string leader, std::int32_t generation = 3,
                                std::string protocol = "range") {
    kp::JoinGroupResponse r;
    r.generation_id = generation;
    r.member_id = std::move(member);
    r.leader = std::move(leader);
    r.protocol_name = std::move(protocol);
    return r;
}

kp::JoinGroupResponse join_error(std::int16_t code, std::string member = "") {
    kp::JoinGroupResponse r;
    r.error_code = code;
    r.member_id = std::move(member);
    return r;
}

/// A member that joined (as a follower under `protocol`) and synced at t0.
classic_membership stable(std::optional<std::string> instance = std::nullopt, std::string protocol = "range") {
    classic_membership m(opts(std::move(instance)));
    m.join_request();
    m.on_join(joined_as("m-1", "m-0", 3, std::move(protocol)), false);
    m.on_sync(0, false, t0);
    return m;
}

classic_membership::outcome rejoin(std::chrono::milliseconds delay = 0ms) {
    return {.next = step::rejoin, .delay = delay};
}
classic_membership::outcome lost() { return {.next = step::rejoin, .lose_partitions = true}; }

// --- joining ---------------------------------------------------------------------------------

TEST(ClassicMembership, FirstJoinHasNoMemberIdAndCarriesTheTimeouts) {
    classic_membership m(opts("instance-a"));
    const auto req = m.join_request();
    EXPECT_EQ(m.current(), state::joining);
    EXPECT_EQ(req.group_id, "g");
    EXPECT_EQ(req.member_id, "");
    EXPECT_EQ(req.session_timeout_ms, 10000);
    EXPECT_EQ(req.rebalance_timeout_ms, 60000);
    EXPECT_EQ(req.group_instance_id, "instance-a");
    EXPECT_EQ(req.protocol_type, "consumer");
    EXPECT_TRUE(req.protocols.empty());  // the consumer adds its assignors' subscriptions
    EXPECT_EQ(m.generation(), -1);
}

TEST(ClassicMembership, MemberIdRequiredJoinsAgainAtOnceWithTheGivenId) {
    classic_membership m(opts());
    m.join_request();
    EXPECT_EQ(m.on_join(join_error(member_id_required, "given-id"), false), rejoin());
    EXPECT_EQ(m.member_id(), "given-id");
    EXPECT_EQ(m.join_request().member_id, "given-id");
}

TEST(ClassicMembership, TheLeaderAssignsAndFollowersSyncEmpty) {
    classic_membership leader(opts());
    leader.join_request();
    EXPECT_EQ(leader.on_join(joined_as("m-0", "m-0", 7, "roundrobin"), false).next, step::sync);
    EXPECT_TRUE(leader.leader());
    EXPECT_EQ(leader.current(), state::syncing);
    EXPECT_EQ(leader.generation(), 7);
    EXPECT_EQ(leader.protocol_name(), "roundrobin");

    classic_membership follower(opts());
    follower.join_request();
    EXPECT_EQ(follower.on_join(joined_as("m-1", "m-0", 7), false).next, step::sync);
    EXPECT_FALSE(follower.leader());
    const auto req = follower.sync_request();
    EXPECT_EQ(req.generation_id, 7);
    EXPECT_EQ(req.member_id, "m-1");
    EXPECT_EQ(req.protocol_name, "range");
    EXPECT_EQ(req.protocol_type, "consumer");
    EXPECT_TRUE(req.assignments.empty());
}

TEST(ClassicMembership, JoinErrors) {
    classic_membership m(opts());
    m.join_request();
    // Still collecting members, coordinator loading: the same join after the backoff (which
    // doubles per consecutive failure: see ConsecutiveFailedJoinsBackOff).
    EXPECT_EQ(m.on_join(join_error(rebalance_in_progress), false), rejoin(50ms));
    EXPECT_EQ(m.on_join(join_error(coordinator_load_in_progress), false), rejoin(100ms));
    // The coordinator moved, or the request got no answer: find it again, then join.
    const auto rediscover = [](std::chrono::milliseconds delay) {
        return classic_membership::outcome{.next = step::rejoin, .delay = delay, .rediscover_coordinator = true};
    };
    EXPECT_EQ(m.on_join(join_error(not_coordinator), false), rediscover(200ms));
    EXPECT_EQ(m.on_join(join_error(0), true), rediscover(400ms));
    EXPECT_EQ(m.current(), state::joining);
    // Not authorized: stop.
    const auto o = m.on_join(join_error(group_authorization_failed), false);
    EXPECT_EQ(o.next, step::fatal);
    EXPECT_EQ(o.error, kwire::kafka_error(group_authorization_failed));
    EXPECT_EQ(m.current(), state::fatal);
}

TEST(ClassicMembership, ConsecutiveFailedJoinsBackOffExponentiallyUntilAnAssignment) {
    auto o = opts();
    o.retry_backoff_max = 300ms;
    classic_membership m(o);
    m.join_request();
    std::vector<std::chrono::milliseconds> waits;
    for (int i = 0; i < 5; ++i) waits.push_back(m.on_join(join_error(coordinator_load_in_progress), false).delay);
    EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{50ms, 100ms, 200ms, 300ms, 300ms}));
    // A join that succeeds is not enough (its SyncGroup may fail: that counts on) ...
    m.on_join(joined_as("m-1", "m-0"), false);
    EXPECT_EQ(m.on_sync(coordinator_not_available, false, t0).delay, 300ms);
    // ... an assignment is: the next failure waits retry.backoff.ms again.
    m.join_request();
    m.on_join(joined_as("m-1", "m-0"), false);
    EXPECT_EQ(m.on_sync(0, false, t0).next, step::assign);
    m.join_request();
    EXPECT_EQ(m.on_join(join_error(rebalance_in_progress), false), rejoin(50ms));
}

TEST(ClassicMembership, TheJoinBackoffIsJittered) {
    auto o = opts();
    o.jitter = [] { return 1.2; };
    classic_membership m(o);
    m.join_request();
    EXPECT_EQ(m.on_join(join_error(rebalance_in_progress), false), rejoin(60ms));
    EXPECT_EQ(m.on_join(join_error(rebalance_in_progress), false), rejoin(120ms));
}

TEST(ClassicMembership, UnknownMemberOnJoinForgetsTheIdAndLosesThePartitions) {
    auto m = stable();
    m.join_request();
    EXPECT_EQ(m.on_join(join_error(unknown_member_id), false), lost());
    EXPECT_EQ(m.member_id(), "");
    EXPECT_EQ(m.generation(), -1);
}

TEST(ClassicMembership, IllegalGenerationOnJoinKeepsTheId) {
    auto m = stable();
    m.join_request();
    EXPECT_EQ(m.on_join(join_error(illegal_generation), false), lost());
    EXPECT_EQ(m.member_id(), "m-1");
    EXPECT_EQ(m.generation(), -1);
}

// --- syncing ---------------------------------------------------------------------------------

TEST(ClassicMembership, SyncSuccessIsAnAssignmentAndStartsTheSession) {
    classic_membership m(opts());
    m.join_request();
    m.on_join(joined_as("m-1", "m-0"), false);
    EXPECT_EQ(m.on_sync(0, false, t0).next, step::assign);
    EXPECT_EQ(m.current(), state::stable);
    EXPECT_EQ(m.last_heartbeat_ok(), t0);
}

TEST(ClassicMembership, SyncErrors) {
    auto m = stable();
    EXPECT_EQ(m.on_sync(rebalance_in_progress, false, t0), rejoin());
    EXPECT_EQ(m.current(), state::joining);
    EXPECT_EQ(m.on_sync(coordinator_not_available, false, t0),
              (classic_membership::outcome{.next = step::rejoin, .delay = 50ms, .rediscover_coordinator = true}));
    EXPECT_EQ(m.on_sync(illegal_generation, false, t0), lost());
    EXPECT_EQ(m.generation(), -1);
    EXPECT_EQ(m.member_id(), "m-1");
    EXPECT_EQ(m.on_sync(unknown_member_id, false, t0), lost());
    EXPECT_EQ(m.member_id(), "");
    EXPECT_EQ(m.on_sync(fenced_instance_id, false, t0).next, step::fatal);
}

// --- heartbeats ------------------------------------------------------------------------------

TEST(ClassicMembership, HeartbeatCarriesTheMembershipAndKeepsTheSession) {
    auto m = stable("instance-a");
    const auto req = m.heartbeat_request();
    EXPECT_EQ(req.group_id, "g");
    EXPECT_EQ(req.generation_id, 3);
    EXPECT_EQ(req.member_id, "m-1");
    EXPECT_EQ(req.group_instance_id, "instance-a");
    EXPECT_EQ(m.on_heartbeat(0, false, t0 + 1s), (classic_membership::outcome{.next = step::heartbeat, .delay = 1s}));
    EXPECT_EQ(m.last_heartbeat_ok(), t0 + 1s);
}

TEST(ClassicMembership, RebalanceInProgressRejoinsKeepingTheMembership) {
    auto m = stable();
    EXPECT_EQ(m.on_heartbeat(rebalance_in_progress, false, t0), rejoin());
    EXPECT_EQ(m.member_id(), "m-1");
    EXPECT_EQ(m.generation(), 3);
    EXPECT_EQ(m.current(), state::joining);
}

TEST(ClassicMembership, IllegalGenerationAndUnknownMemberLoseThePartitions) {
    auto m = stable();
    EXPECT_EQ(m.on_heartbeat(illegal_generation, false, t0), lost());
    EXPECT_EQ(m.generation(), -1);
    EXPECT_EQ(m.member_id(), "m-1");  // the id is still ours; only the generation is gone
    auto n = stable();
    EXPECT_EQ(n.on_heartbeat(unknown_member_id, false, t0), lost());
    EXPECT_EQ(n.member_id(), "");
    EXPECT_EQ(n.join_request().member_id, "");
}

TEST(ClassicMembership, FencedInstanceIsFatal) {
    auto m = stable("instance-a");
    const auto o = m.on_heartbeat(fenced_instance_id, false, t0);
    EXPECT_EQ(o.next, step::fatal);
    EXPECT_EQ(o.error, kwire::kafka_error(fenced_instance_id));
    EXPECT_EQ(m.current(), state::fatal);
}

TEST(ClassicMembership, CoordinatorErrorsRediscoverAndKeepHeartbeating) {
    auto m = stable();
    const classic_membership::outcome again{.next = step::heartbeat, .delay = 1s, .rediscover_coordinator = true};
    EXPECT_EQ(m.on_heartbeat(not_coordinator, false, t0 + 1s), again);
    EXPECT_EQ(m.on_heartbeat(0, true, t0 + 2s), again);
    EXPECT_EQ(m.last_heartbeat_ok(), t0);  // none of them counts for the session
    EXPECT_EQ(m.on_heartbeat(coordinator_load_in_progress, false, t0 + 3s),
              (classic_membership::outcome{.next = step::heartbeat, .delay = 1s}));
}

TEST(ClassicMembership, NoSuccessfulHeartbeatForASessionMeansTheMemberIsLost) {
    auto m = stable();
    EXPECT_FALSE(m.check_session(t0 + 10s));  // exactly a session: not yet
    m.on_heartbeat(0, false, t0 + 5s);
    EXPECT_FALSE(m.check_session(t0 + 14s));
    const auto o = m.check_session(t0 + 15s + 1ms);
    ASSERT_TRUE(o);
    EXPECT_EQ(*o, lost());
    EXPECT_EQ(m.member_id(), "");
    EXPECT_EQ(m.generation(), -1);
}

// --- eager and cooperative -------------------------------------------------------------------

TEST(ClassicMembership, EagerProtocolsGiveEverythingUpBeforeJoining) {
    classic_membership fresh(opts());
    EXPECT_TRUE(fresh.revoke_all_before_join());  // nothing chose a protocol yet
    EXPECT_TRUE(stable(std::nullopt, "range").revoke_all_before_join());
    EXPECT_TRUE(stable(std::nullopt, "roundrobin").revoke_all_before_join());
}

TEST(ClassicMembership, CooperativeMembersKeepTheirPartitionsAndRejoinAfterRevoking) {
    auto m = stable(std::nullopt, "cooperative-sticky");
    EXPECT_TRUE(m.cooperative());
    EXPECT_FALSE(m.revoke_all_before_join());
    EXPECT_TRUE(classic_membership::rejoin_after_revoking(true));
    EXPECT_FALSE(classic_membership::rejoin_after_revoking(false));
    // A heartbeat saying a rebalance started: join it, owning what it owns.
    EXPECT_EQ(m.on_heartbeat(rebalance_in_progress, false, t0), rejoin());
    EXPECT_FALSE(m.revoke_all_before_join());
}

// --- commits and the poll interval -----------------------------------------------------------

TEST(ClassicMembership, ACommitThatEndsTheMembershipResetsIt) {
    auto m = stable();
    m.on_membership_lost(illegal_generation);
    EXPECT_EQ(m.generation(), -1);
    EXPECT_EQ(m.member_id(), "m-1");
    m.on_membership_lost(unknown_member_id);
    EXPECT_EQ(m.member_id(), "");
    EXPECT_EQ(m.current(), state::unjoined);
}

TEST(ClassicMembership, ResetMakesANewMember) {
    auto m = stable();
    m.reset();
    EXPECT_EQ(m.member_id(), "");
    EXPECT_EQ(m.generation(), -1);
}

// --- leaving ---------------------------------------------------------------------------------

TEST(ClassicMembership, DynamicMembersLeave) {
    auto m = stable();
    const auto req = m.leave_request();
    ASSERT_TRUE(req);
    EXPECT_EQ(req->group_id, "g");
    ASSERT_EQ(req->members.size(), 1u);
    EXPECT_EQ(req->members[0].member_id, "m-1");
    EXPECT_EQ(req->member_id, "m-1");
    EXPECT_EQ(m.current(), state::unjoined);
}

TEST(ClassicMembership, StaticMembersSendNoLeaveGroup) {
    auto m = stable("instance-a");
    EXPECT_TRUE(m.is_static());
    EXPECT_FALSE(m.leave_request());
    EXPECT_EQ(m.member_id(), "m-1");  // kept: the instance id holds its place
}

TEST(ClassicMembership, AMemberWithoutAnIdHasNothingToLeave) {
    classic_membership m(opts());
    EXPECT_FALSE(m.leave_request());
}

}  // namespace

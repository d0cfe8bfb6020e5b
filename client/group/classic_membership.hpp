// Membership in a consumer group of the classic protocol (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup; KIP-345 static membership), without I/O. The consumer drives it: it asks for the
// request to send, hands over the answer, and does what the outcome says -- send SyncGroup
// (after running the assignor if this member leads), apply the assignment, join again (now or
// after a delay), find the coordinator again, drop every partition, or stop.
//
// The rules, as the Java client follows them (the error table is classify_group_error's):
//   - a member joins with the id it has (empty the first time). MEMBER_ID_REQUIRED (v4+) hands
//     it an id, and it joins again at once with that id.
//   - a JoinGroup answer makes it a member of a generation under the protocol the group chose;
//     the leader runs that assignor and sends every member's assignment, followers send none.
//   - a SyncGroup answer brings the assignment; REBALANCE_IN_PROGRESS and the like mean
//     joining again.
//   - a join retried after an error (coordinator loading or moved, the group still collecting
//     members) waits retry.backoff.ms, doubled per consecutive failure up to
//     retry.backoff.max.ms (KIP-580); an assignment starts the count again.
//   - heartbeats follow heartbeat.interval.ms once the member is stable. REBALANCE_IN_PROGRESS:
//     join again keeping the id and the partitions (the eager member gives them up as it
//     joins). UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION: the membership is gone -- the id (for an
//     unknown member) and the generation are forgotten, every partition is lost (no commit:
//     another member may own it by now), and the member joins again. FENCED_INSTANCE_ID and
//     other fatal errors stop the consumer. Coordinator errors: find it again, keep going.
//   - without a successful heartbeat for session.timeout.ms the coordinator has surely expired
//     the member: as for UNKNOWN_MEMBER_ID.
//   - eager protocols (range, roundrobin) give up every partition before joining; the
//     cooperative one keeps them and, when an assignment takes some away, joins again once they
//     are revoked so that their new owner gets them.
//   - leaving: a LeaveGroup for a dynamic member; a static member (group.instance.id) sends none,
//     so that its place (and assignment) waits for it until its session times out.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include "group/group_errors.hpp"
#include "kwire/protocol/messages/heartbeat.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "kwire/protocol/messages/leave_group.hpp"
#include "kwire/protocol/messages/sync_group.hpp"

namespace kwire::client::detail {

class classic_membership {
public:
    using clock = std::chrono::steady_clock;

    struct options {
        std::string group_id;
        std::optional<std::string> instance_id;      ///< group.instance.id: a static member
        std::chrono::milliseconds session_timeout{45000};
        std::chrono::milliseconds rebalance_timeout{300000};  ///< max.poll.interval.ms
        std::chrono::milliseconds heartbeat_interval{3000};
        std::chrono::milliseconds retry_backoff{100};
        std::chrono::milliseconds retry_backoff_max{1000};  ///< consecutive failed joins wait longer, to this
        double (*jitter)() = nullptr;  ///< a factor for each wait (the consumer's: +-20%); none: exact
    };

    enum class state { unjoined, joining, syncing, stable, fatal };

    /// What the consumer does next.
    enum class step {
        none,       ///< no answer handled yet (an outcome's default; never returned)
        sync,       ///< send SyncGroup; leader() says whether the assignor runs first
        assign,     ///< SyncGroup succeeded: apply the assignment it carries
        rejoin,     ///< JoinGroup again after `delay`
        heartbeat,  ///< the next heartbeat after `delay`
        fatal,      ///< stop: `error` says why
    };
    struct outcome {
        step next = step::none;
        std::chrono::milliseconds delay{0};
        bool rediscover_coordinator = false;  ///< FindCoordinator before the next request
        bool lose_partitions = false;         ///< drop every partition without committing
        std::error_code error{};              ///< for step::fatal
        friend bool operator==(const outcome&, const outcome&) = default;
    };

    explicit classic_membership(options o);

    // --- joining -----------------------------------------------------------------------------
    /// Whether the member gives up every partition before joining (eager protocols, and a member
    /// that never joined: nothing chose a protocol yet).
    bool revoke_all_before_join() const noexcept { return !cooperative(); }
    /// The JoinGroup to send (the consumer adds one protocol per assignor, with its subscription).
    protocol::JoinGroupRequest join_request();
    /// `transport`: the request got no answer.
    outcome on_join(const protocol::JoinGroupResponse& resp, bool transport);

    // --- syncing -----------------------------------------------------------------------------
    /// The SyncGroup to send (the leader adds the assignments).
    protocol::SyncGroupRequest sync_request() const;
    outcome on_sync(std::int16_t error, bool transport, clock::time_point now);
    /// Whether, after an assignment took partitions away (cooperative: eager members own nothing
    /// by then), the member joins again: their new owners get them only in the next generation.
    static bool rejoin_after_revoking(bool revoked_any) noexcept { return revoked_any; }

    // --- heartbeats --------------------------------------------------------------------------
    /// Before sending a heartbeat: none was acknowledged for a session timeout, so the member has
    /// surely been expired. Resets it (as for UNKNOWN_MEMBER_ID): the outcome loses the
    /// partitions and rejoins. nullopt: send the heartbeat.
    std::optional<outcome> check_session(clock::time_point now);
    protocol::HeartbeatRequest heartbeat_request() const;
    outcome on_heartbeat(std::int16_t error, bool transport, clock::time_point now);
    /// When the last heartbeat (or the assignment) succeeded.
    clock::time_point last_heartbeat_ok() const noexcept { return last_ok_; }

    // --- other requests ----------------------------------------------------------------------
    /// An OffsetCommit failed with `error`, which classify_group_error says ends the membership
    /// (reset_and_rejoin): forgets what it must. The consumer loses its partitions and rejoins.
    void on_membership_lost(std::int16_t error);
    /// The member was expired another way (max.poll.interval.ms passed): a new member next time.
    void reset();

    // --- leaving -----------------------------------------------------------------------------
    /// The LeaveGroup to send, if any: none before the member has an id, and none for a static
    /// member. The member stops being stable either way.
    std::optional<protocol::LeaveGroupRequest> leave_request();

    state current() const noexcept { return state_; }
    const std::string& member_id() const noexcept { return member_id_; }
    std::int32_t generation() const noexcept { return generation_; }
    /// The assignor the group chose (empty before the first generation).
    const std::string& protocol_name() const noexcept { return protocol_; }
    bool leader() const noexcept { return leader_; }
    bool cooperative() const noexcept { return protocol_ == "cooperative-sticky"; }
    bool is_static() const noexcept { return opt_.instance_id.has_value(); }

private:
    outcome lose(std::int16_t error, std::chrono::milliseconds delay);
    outcome stop(std::error_code ec);
    /// The wait before joining again after the join (or its SyncGroup) failed once more.
    std::chrono::milliseconds join_failed();

    options opt_;
    state state_ = state::unjoined;
    std::string member_id_;
    std::int32_t generation_ = -1;
    std::string protocol_;
    bool leader_ = false;
    clock::time_point last_ok_{};
    int join_failures_ = 0;  // consecutive failed joins since the last assignment
};

}  // namespace kwire::client::detail

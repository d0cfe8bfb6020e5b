// Membership in a consumer group of the KIP-848 protocol (group.protocol=consumer), without I/O.
// The broker assigns partitions; the member heartbeats (ConsumerGroupHeartbeat), reconciles
// what it owns with the assignment the broker sends, and says what it owns once it is done.
// The consumer drives it: it asks when the next heartbeat is due and what it says, hands over
// the answers, and performs the reconciliations and losses it is told about.
//
// The rules, as the Java client follows them (ConsumerMembershipManager, heartbeat managers):
//   - joining: epoch 0 with every field -- subscription, rebalance timeout, an empty owned list,
//     instance id, rack, server assignor. From ConsumerGroupHeartbeat v1 (KIP-1082) the member
//     names itself (an id the consumer generates once); v0 takes the id the broker gives.
//   - afterwards fields are sent only when they changed since the broker last acknowledged them
//     (null meaning "unchanged"): the subscription when it changes, the owned partitions when a
//     reconciliation changed them (that is the acknowledgement the broker waits for before it
//     hands a revoked partition to another member). After a request without an answer, or a
//     coordinator change, everything is sent again.
//   - the heartbeat interval is the broker's (HeartbeatIntervalMs); an acknowledgement, a join
//     and a leave go out at once.
//   - an assignment in an answer is the new target: partitions owned and not in it are revoked
//     (their offsets committed first), partitions in it and not owned are added. One
//     reconciliation at a time; one started before the member was fenced is ignored when done.
//   - UNKNOWN_MEMBER_ID and FENCED_MEMBER_EPOCH: the membership is gone -- every partition is
//     lost (no commit: another member may own it by now) and the member joins again at epoch 0
//     under the same id.
//   - COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR: find the coordinator again; retriable errors:
//     again after the backoff (KIP-580: retry.backoff.ms doubling per consecutive failure up to
//     retry.backoff.max.ms). Anything else is fatal (poll reports it), as is a broker without
//     the API (unsupported_version).
//   - leaving: epoch -1, or -2 for a static member (its assignment is kept for it until its
//     session times out); the answer, whatever it is, ends the membership.
// The member epoch is also the "generation" offset commits carry.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/protocol/messages/consumer_group_heartbeat.hpp"
#include "kwire/protocol/types.hpp"

namespace kwire::client::detail {

struct uuid_less {
    bool operator()(const protocol::uuid& a, const protocol::uuid& b) const noexcept { return a.bytes < b.bytes; }
};

/// Partitions by topic id.
using id_assignment = std::map<protocol::uuid, std::set<std::int32_t>, uuid_less>;

class group_membership {
public:
    using clock = std::chrono::steady_clock;

    struct options {
        std::string group_id;
        std::string client_member_id;  ///< the id the member gives itself on v1+ (a random UUID)
        std::optional<std::string> instance_id;
        std::optional<std::string> rack_id;
        std::optional<std::string> server_assignor;
        std::int32_t rebalance_timeout_ms = 300000;
        std::chrono::milliseconds retry_backoff{100};
        std::chrono::milliseconds retry_backoff_max{1000};  ///< consecutive failures wait longer, to this
        double (*jitter)() = nullptr;  ///< a factor for each wait (the consumer's: +-20%); none: exact
    };

    enum class state { idle, joining, stable, leaving, left, fatal };

    /// What the consumer must do after an answer.
    enum class action {
        none,
        reconcile,               ///< start a reconciliation toward target()
        lose_all,                ///< drop every partition without committing, then keep heartbeating (rejoin)
        rediscover_coordinator,  ///< FindCoordinator again before the next heartbeat
        fatal,                   ///< stop: error() says why
        left,                    ///< the leave was answered (or could not be)
    };

    explicit group_membership(options o);

    /// Joins (or changes the subscription of a joined member).
    void subscribe(std::vector<std::string> topics, clock::time_point now);
    /// Leaves: the next heartbeat says so (epoch -1, or -2 for a static member).
    void leave(clock::time_point now);

    /// Whether a heartbeat should be sent at `now` (none is in flight).
    bool heartbeat_due(clock::time_point now) const noexcept;
    /// When one will be, if the member is active.
    std::optional<clock::time_point> next_heartbeat() const noexcept;

    /// The heartbeat to send now, at `version`; it is in flight until its answer or failure.
    protocol::ConsumerGroupHeartbeatRequest heartbeat(std::int16_t version, clock::time_point now);
    action on_response(const protocol::ConsumerGroupHeartbeatResponse& resp, clock::time_point now);
    /// The heartbeat got no answer (`ec`: transport error, timeout, or unsupported_version when
    /// the broker lacks the API).
    action on_failure(std::error_code ec, clock::time_point now);

    /// The assignment the broker wants this member to have.
    const id_assignment& target() const noexcept { return target_; }
    /// What the member owns (as the last finished reconciliation left it).
    const id_assignment& owned() const noexcept { return owned_; }
    /// A reconciliation toward target() is needed and none is running.
    bool reconcile_needed() const noexcept;
    /// Starts one: returns a token for reconciled().
    std::uint64_t begin_reconcile() noexcept;
    /// Whether the reconciliation `token` still decides what the member owns: not once the
    /// member was fenced or left meanwhile (a later one may be running already). A stale one
    /// must not add its partitions: they belong to an epoch the member no longer has.
    bool reconciling(std::uint64_t token) const noexcept { return reconciling_ && token == reconcile_token_; }
    /// The reconciliation `token` ended with the member owning `now_owned` (a subset of the
    /// target: partitions of topics not resolvable yet are left out). Ignored if the member was
    /// fenced or left meanwhile. The next heartbeat acknowledges it at once.
    void reconciled(std::uint64_t token, id_assignment now_owned, clock::time_point now);

    state current() const noexcept { return state_; }
    const std::string& member_id() const noexcept { return member_id_; }
    std::int32_t member_epoch() const noexcept { return epoch_; }
    std::error_code error() const noexcept { return error_; }
    bool in_flight() const noexcept { return in_flight_; }

private:
    /// What every heartbeat answer (response or failure) does first: the leave completes, or a
    /// pending leave goes out now; nullopt when neither applies.
    std::optional<action> heartbeat_answered(clock::time_point now);
    /// Heartbeat again after the backoff (retry.backoff.ms doubling per consecutive failure, up
    /// to retry.backoff.max.ms), with the full state.
    void retry_later(clock::time_point now);

    void fence(clock::time_point now);

    options opt_;
    state state_ = state::idle;
    std::string member_id_;
    std::int32_t epoch_ = 0;
    std::vector<std::string> subscription_;
    std::uint64_t subscription_gen_ = 0;        // bumps per subscribe()
    std::uint64_t subscription_acked_ = 0;      // the generation the broker acknowledged (0: none)
    bool send_all_ = true;               // the next heartbeat carries every field
    std::optional<id_assignment> owned_acked_;  // what the broker last acknowledged we own
    id_assignment owned_;
    id_assignment target_;
    bool target_new_ = false;            // target_ changed since the last reconciliation began
    bool reconciling_ = false;
    std::uint64_t reconcile_token_ = 0;
    bool in_flight_ = false;
    bool leave_sent_ = false;            // the heartbeat in flight is the leave
    // What the heartbeat in flight said, for when it is acknowledged.
    std::uint64_t sent_subscription_ = 0;       // 0: not sent
    std::optional<id_assignment> sent_owned_;
    std::chrono::milliseconds interval_{3000};
    int failures_ = 0;  // consecutive heartbeats without a successful answer
    clock::time_point next_{};
    std::error_code error_;
};

/// What a member of a KIP-848 group does about an OffsetCommit error: the classic table's
/// actions, except that STALE_MEMBER_EPOCH is retried (with the epoch the next heartbeat brings)
/// and UNKNOWN_MEMBER_ID / FENCED_MEMBER_EPOCH fail the commit only -- the heartbeat owns the
/// membership and rejoins.
enum class member_commit_action { none, retry, rediscover_coordinator, fail, fatal };
member_commit_action classify_member_commit_error(std::int16_t error, bool transport) noexcept;

}  // namespace kwire::client::detail

// Membership in a consumer group, behind one interface: classic (JoinGroup, SyncGroup, Heartbeat;
// classic_member.cpp around classic_membership) or KIP-848 (ConsumerGroupHeartbeat;
// consumer_member.cpp around group_membership). The consumer picks one by group.protocol when it
// is made (make_membership) and from then on never asks which: everything that differs between
// the two -- how a member joins, leaves and forgets itself, which generation and member id its
// commits carry, and what an OffsetCommit error means for it -- lives in the implementations.
//
// A membership changes what the consumer owns only through membership_host: it takes partitions
// (the consumer gives them slots, calls the rebalance listener, resolves their start offsets and
// fetches them), revokes them (their marked offsets committed first) or loses them (no commit).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/consumer.hpp"

namespace kwire::client::detail {

struct consumer_core;
class coordinator;

/// What the consumer does for its membership.
class membership_host {
public:
    virtual ~membership_host() = default;
    /// The partitions owned now.
    virtual std::vector<topic_partition> owned() const = 0;
    /// `added` become owned: slots, listener.assigned (also for none, if `notify_empty`), start
    /// offsets, fetching.
    virtual void take(const std::vector<topic_partition>& added, bool notify_empty) = 0;
    /// Commit soon what is marked (what a rebalance held back).
    virtual void commit_soon() = 0;
    /// Gives `tps` up -- committing what is marked first unless `lost` -- then `then`. A
    /// revocation ends only the ownerships it began with.
    virtual void revoke(const std::vector<topic_partition>& tps, bool lost, std::function<void()> then) = 0;
};

/// What an OffsetCommit speaks for.
struct commit_identity {
    std::int32_t generation = -1;  // classic: the generation; KIP-848: the member epoch
    std::string member_id;
    std::optional<std::string> instance_id;
    std::int16_t max_version = 8;  // the highest OffsetCommit version the membership may use
    // The membership it was taken under: a classic member's generation is settled only while it
    // is not joining, and each join begins a new one.
    std::uint64_t join_epoch = 0;
    bool joining = false;
};

/// What the committer does about an OffsetCommit answer with an error, once the membership has
/// reacted to it (rejoined, lost its partitions, ...).
enum class commit_reaction {
    retry,                 // again after the backoff, under the identity current by then
    rediscover_and_retry,  // the coordinator moved: find it, then again
    fail,                  // the commit fails with the error
    fail_and_report,       // fails, and (unless commits are manual) the next poll reports it
    fatal,                 // the member may commit nothing more: every poll reports it
};

class membership {
public:
    virtual ~membership() = default;

    /// subscribe(): join (or rejoin with) `topics`, soon.
    virtual void subscribe(std::vector<std::string> topics) = 0;
    /// poll() was called: a join put off until the application polls again goes now.
    virtual void on_poll() = 0;
    /// Leaves the group (best effort), then `then`.
    virtual void leave(std::function<void()> then) = 0;
    /// After leaving because the application stopped polling (max.poll.interval.ms): forgets the
    /// member's identity, loses every partition, and joins again at the next poll.
    virtual void expire() = 0;
    /// The consumer shuts down: timers.
    virtual void cancel() = 0;

    /// What a commit sent now speaks for.
    virtual commit_identity identity() const = 0;
    /// The join state in the C client's statistics words: "init" (not joined), "wait-join"
    /// (joining), "steady" (a member with its assignment).
    virtual std::string_view join_state() const = 0;
    /// An OffsetCommit sent under `sent` was answered with `error` (the first partition error,
    /// or none with `transport`: no answer). Never called for success.
    virtual commit_reaction on_commit_error(std::int16_t error, bool transport, const commit_identity& sent) = 0;
};

/// The membership of `core`'s group.protocol.
std::unique_ptr<membership> make_membership(consumer_core& core, coordinator& coord, membership_host& host);

}  // namespace kwire::client::detail

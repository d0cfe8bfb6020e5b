// A group coordinator for the scripted cluster, for what librdkafka 2.0.2's mock does not do:
// static membership (the mock reads group.instance.id and ignores it, so it never fences) and,
// with scripted_consumer_group (KIP-848), server-side assignment.
//
// Classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), deliberately small: a JoinGroup
// completes at once -- a new generation of every registered member, led by the joiner -- and
// members of older generations learn from their Heartbeat (REBALANCE_IN_PROGRESS) that they must
// rejoin. Enough for one active member at a time, which is what the fencing tests need.
//
// Static membership, as Kafka's coordinator does it (KIP-345): a JoinGroup with a known
// group.instance.id and no member id replaces the instance's member id with a new one; the old
// id is fenced from then on: its JoinGroup, SyncGroup, Heartbeat and OffsetCommit get
// FENCED_INSTANCE_ID. Static members do not send LeaveGroup.
//
// Consumer protocol (KIP-848, ConsumerGroupHeartbeat) when started with start_consumer_protocol:
// the coordinator assigns the cluster's topics round robin among the members subscribed to them
// (by member id order) and moves partitions as Kafka's coordinator does: a member is first told
// to drop what it must revoke (its epoch unchanged), and only once it reports owning less are
// those partitions given to their new member, never to two at once. Epoch 0 joins (v1: the
// member's own id; v0: an id made here), -1 leaves, -2 leaves a static member. Heartbeats of an
// unknown member get UNKNOWN_MEMBER_ID, of another epoch FENCED_MEMBER_EPOCH -- except, as in
// Kafka, the epoch before the last bump with owned partitions within the current assignment (the
// answer that carried the bump may have been lost). The assignment is answered when it changed
// and on every full heartbeat (epoch 0, or rebalance timeout, subscription and owned partitions
// all set: what a member sends after an error), so that an assignment whose answer was lost
// reaches the member on its next full heartbeat. OffsetCommit from a member needs v9+ and the
// member's epoch (older: STALE_MEMBER_EPOCH, newer: FENCED_MEMBER_EPOCH).
//
// Offsets: OffsetCommit from a member of the current generation (or a simple commit: no member id,
// generation -1) is stored; every commit attempt is recorded with its outcome. OffsetFetch reads
// the store.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kwire/protocol/messages/join_group.hpp"
#include "scripted_broker.hpp"

namespace kwire::test {

class scripted_group : public std::enable_shared_from_this<scripted_group> {
public:
    /// Answers the group APIs for every group on `cluster` (FindCoordinator names broker
    /// `coordinator`) and advertises them in ApiVersions. The cluster's scripts keep it alive.
    static std::shared_ptr<scripted_group> start(scripted_cluster& cluster, int coordinator = 1);
    /// The same, and ConsumerGroupHeartbeat v0-1 with this heartbeat interval.
    static std::shared_ptr<scripted_group> start_consumer_protocol(scripted_cluster& cluster, int heartbeat_interval_ms,
                                                                   int coordinator = 1);

    using tp = std::pair<std::string, std::int32_t>;
    /// One ConsumerGroupHeartbeat as received and answered.
    struct heartbeat_seen {
        std::string member_id;  ///< as sent (v0 joins send none)
        std::int32_t epoch = 0;
        std::int16_t version = 0;
        std::optional<std::vector<std::string>> subscribed;
        std::optional<std::set<tp>> owned;       ///< TopicPartitions, when sent
        std::int16_t error = 0;
        std::int32_t answered_epoch = 0;
        std::optional<std::set<tp>> assignment;  ///< in the answer, when sent
    };
    std::vector<heartbeat_seen> heartbeats() const;
    /// The next heartbeat of this member gets FENCED_MEMBER_EPOCH (its epoch here moves on).
    void fence_member(const std::string& group_id, const std::string& member_id);
    /// The member's epoch here moves on without telling it: its commits are STALE_MEMBER_EPOCH
    /// until its next heartbeat brings the new epoch.
    void advance_member_epoch(const std::string& group_id, const std::string& member_id);
    /// Answers every member's OffsetCommit with `error` from now on (0: accepts them again), as a
    /// coordinator that is loading or moving does.
    void refuse_commits(std::int16_t error);
    /// Classic: starts a rebalance, as a member joining or leaving does -- the generation moves on,
    /// so members of the old one get REBALANCE_IN_PROGRESS from their Heartbeat and
    /// ILLEGAL_GENERATION for their commits until they join the new one.
    void start_rebalance(const std::string& group_id);
    /// Classic: runs before each JoinGroup is answered, on its connection's thread. It may block:
    /// the requests behind the JoinGroup on that connection wait, as they do while Kafka holds a
    /// JoinGroup until its round completes.
    void before_join(std::function<void(const kp::JoinGroupRequest&)> hook);
    /// Partitions the coordinator considers the member to own, per member.
    std::map<std::string, std::set<tp>> owners(const std::string& group_id) const;

    /// The committed offset of a partition (-1: none).
    std::int64_t committed(const std::string& group_id, const std::string& topic, std::int32_t partition) const;

    struct commit_seen {
        std::int16_t version = 0;
        std::string member_id;
        std::int32_t generation = 0;
        std::map<std::pair<std::string, std::int32_t>, std::int64_t> offsets;
        std::int16_t error = 0;
    };
    std::vector<commit_seen> commits() const;
    /// Error codes the coordinator answered, in order (0s included), per API key.
    std::vector<std::int16_t> answers(std::int16_t api_key) const;

    /// The member id an instance id currently maps to ("" if none).
    std::string member_of_instance(const std::string& group_id, const std::string& instance_id) const;
    std::int32_t generation(const std::string& group_id) const;

private:
    struct member {
        std::optional<std::string> instance_id;
        std::vector<std::pair<std::string, std::vector<std::uint8_t>>> protocols;  // name, metadata
        std::vector<std::uint8_t> assignment;
    };
    struct group {
        std::int32_t generation = 0;
        std::string protocol;
        std::string leader;
        std::map<std::string, member> members;
        std::map<std::string, std::string> instances;  // instance id -> member id
        std::map<std::pair<std::string, std::int32_t>, std::int64_t> offsets;
        int next_member = 0;
    };

    /// FENCED_INSTANCE_ID when `instance` maps to another member id than `member_id`.
    static std::int16_t fenced(const group& g, const std::string& member_id, const std::optional<std::string>& instance);

    std::optional<std::vector<std::uint8_t>> join(const scripted_request& req);
    std::optional<std::vector<std::uint8_t>> sync(const scripted_request& req);
    std::optional<std::vector<std::uint8_t>> heartbeat(const scripted_request& req);
    std::optional<std::vector<std::uint8_t>> leave(const scripted_request& req);
    std::optional<std::vector<std::uint8_t>> offset_commit(const scripted_request& req);
    std::optional<std::vector<std::uint8_t>> offset_fetch(const scripted_request& req);
    std::optional<std::vector<std::uint8_t>> consumer_heartbeat(const scripted_request& req);

    struct cmember {
        std::int32_t epoch = 0;
        std::int32_t previous_epoch = -1;      // the epoch before the last bump (Kafka's previousMemberEpoch)
        std::vector<std::string> topics;
        std::set<tp> assigned;                 // what it owns or is still revoking
        std::optional<std::set<tp>> last_sent;  // the assignment last answered
    };
    struct cgroup {
        std::int32_t epoch = 0;
        std::map<std::string, cmember> members;
        int next_member = 0;
    };
    std::map<std::string, std::set<tp>> targets(const cgroup& g) const;
    void answered(std::int16_t api_key, std::int16_t error);

    mutable std::mutex mutex_;
    scripted_cluster* cluster_ = nullptr;
    int heartbeat_interval_ms_ = 3000;
    std::map<std::string, group> groups_;
    std::map<std::string, cgroup> cgroups_;
    std::vector<heartbeat_seen> heartbeats_;
    std::vector<commit_seen> commits_;
    std::map<std::int16_t, std::vector<std::int16_t>> answers_;
    std::int16_t refuse_commits_ = 0;
    std::function<void(const kp::JoinGroupRequest&)> before_join_;
};

}  // namespace kwire::test

// The clusters the consumer-group chaos scenarios run against, behind one interface: where the
// members connect (through the chaos proxy), how the test appends numbered records while they
// consume, how it observes the group's committed offsets (directly, never through the chaos),
// and what the partitions hold in the end.
//  - mock_group_cluster: librdkafka 2.0.2's mock (3 brokers), the classic protocol. Its group
//    coordinator does JoinGroup/SyncGroup/Heartbeat/LeaveGroup/OffsetCommit/OffsetFetch with
//    session timeouts; assignment is the members' (range, cooperative-sticky); it reads
//    group.instance.id and ignores it, so static members are only kwire's side of KIP-345. It
//    parks a JoinGroup (and a SyncGroup) until the rebalance completes, and a member whose
//    connection died meanwhile and who joins again on a new one makes it abort the whole test
//    process (rd_kafka_mock_cgrp.c:567, `!member->resp`; Kafka answers the parked request with
//    an error instead). So the chaos proxy spares JoinGroup and SyncGroup against the mock: it
//    never kills a connection while one of them is parked. The same abort has a second cause:
//    the mock names a new member after the address of its record ("%p"), which the heap hands
//    out again once a member is expired -- and a member blocked in SyncGroup for the whole
//    session timeout (a generation that never completes) is expired just as its SyncGroup fails.
//    A new member then gets the old member's name; when the old member rejoins under it, the
//    mock finds the new member's parked JoinGroup and aborts (seed 87295801379428 did, about one
//    run in five). Kafka's member ids are UUIDs, never reused, and it would answer the old
//    member UNKNOWN_MEMBER_ID. So the proxy names new members itself (name_new_members): the
//    mock takes the name a JoinGroup carries, and proxy names are never reused.
//  - scripted_group_cluster: the scripted cluster (tests/admin) with scripted_log serving Fetch
//    and scripted_consumer_group's KIP-848 coordinator (group.protocol=consumer). That coordinator
//    keeps no timers, so a member that dies is never expired by it: expire_silent_members() plays
//    the broker's session timeout, sending the leave heartbeat (epoch -1) on behalf of a member
//    that has not heartbeated for `session`, as Kafka's coordinator removes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace kwire::test {

class group_cluster {
public:
    virtual ~group_cluster() = default;
    /// "host:port" of each broker, to put the chaos proxy in front of.
    virtual std::vector<std::string> brokers() const = 0;
    /// Extra `kwire consume` properties the cluster needs (-X name=value pairs).
    virtual std::vector<std::string> member_properties() const = 0;
    /// Appends these values to the partition, in order (blocks until they are stored).
    virtual void append(std::int32_t partition, const std::vector<std::string>& values) = 0;
    /// The group's committed offset per partition (-1: none), read straight from the coordinator.
    /// Throws std::runtime_error when it cannot be read (the observer tries again).
    virtual std::map<std::int32_t, std::int64_t> committed() = 0;
    /// What each partition holds, offset by offset, once the run is over.
    virtual std::map<std::int32_t, std::vector<std::string>> contents() = 0;
    /// Called by the test every ~100 ms: a chance to play what the cluster lacks.
    virtual void tick() {}
    /// Members the cluster removed on its own (expire_silent_members).
    virtual int expired() const { return 0; }
    /// What the coordinator holds, for a failure's report (which member owns what).
    virtual std::string describe() const { return {}; }
    /// Requests the chaos proxy must not fault, nor kill a connection while one is unanswered.
    virtual std::vector<std::int16_t> spared_api_keys() const { return {}; }
    /// Whether the chaos proxy must name new members (chaos_settings::name_new_members).
    virtual bool needs_member_names() const { return false; }
};

/// `topic` with `partitions` partitions on librdkafka's mock; `group` is the group observed.
std::unique_ptr<group_cluster> make_mock_group_cluster(const std::string& topic, int partitions,
                                                       const std::string& group);
/// The same on the scripted cluster with a KIP-848 coordinator (heartbeat interval
/// `heartbeat_ms`) and a test-side session timeout of `session`.
std::unique_ptr<group_cluster> make_scripted_group_cluster(const std::string& topic, int partitions,
                                                           const std::string& group, int heartbeat_ms,
                                                           std::chrono::milliseconds session);

}  // namespace kwire::test

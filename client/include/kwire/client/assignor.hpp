// Partition assignors of the classic consumer-group protocol, as pure functions: the group
// leader runs one over the members' subscriptions and hands the result out in SyncGroup.
// They match the Java client's algorithms, so a kwire leader and Java members agree.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kwire::client {

struct topic_partition {
    std::string topic;
    std::int32_t partition = 0;
    friend auto operator<=>(const topic_partition&, const topic_partition&) = default;
};

struct group_member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  ///< static membership (KIP-345)
    std::vector<std::string> topics;               ///< subscription
};

using assignment = std::map<std::string, std::vector<topic_partition>>;  // member id -> partitions

/// "range": per topic, members subscribed to it in order, each taking a contiguous range; the
/// first (partitions % members) take one extra.
assignment assign_range(const std::vector<group_member>& members, const std::map<std::string, std::int32_t>& partitions);

/// "roundrobin": every subscribed partition, sorted by topic and partition, dealt to the members
/// in turn, skipping members not subscribed to its topic.
assignment assign_roundrobin(const std::vector<group_member>& members,
                             const std::map<std::string, std::int32_t>& partitions);

}  // namespace kwire::client

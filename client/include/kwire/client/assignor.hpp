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
    std::optional<std::string> group_instance_id{};  ///< static membership (KIP-345)
    std::vector<std::string> topics{};               ///< subscription
    /// Partitions the member says it owns (subscription v1+); only the sticky assignor reads them.
    std::vector<topic_partition> owned{};
    /// Generation those claims come from (subscription v2+, or the cooperative-sticky user data);
    /// -1 when unknown.
    std::int32_t generation = -1;
};

using assignment = std::map<std::string, std::vector<topic_partition>>;  // member id -> partitions

/// "range": per topic, members subscribed to it in order, each taking a contiguous range; the
/// first (partitions % members) take one extra.
assignment assign_range(const std::vector<group_member>& members, const std::map<std::string, std::int32_t>& partitions);

/// "roundrobin": every subscribed partition, sorted by topic and partition, dealt to the members
/// in turn, skipping members not subscribed to its topic.
assignment assign_roundrobin(const std::vector<group_member>& members,
                             const std::map<std::string, std::int32_t>& partitions);

/// "cooperative-sticky" (KIP-429), with the Java client's goals: balanced, sticky, and safe to
/// apply without stopping the world.
///
/// 1. Claims. Only claims made at the newest generation any member reports count (all claims
///    count when nobody knows its generation). A partition claimed by two members at that
///    generation has no owner. Claims on partitions that no longer exist, or on topics the
///    claimant no longer subscribes to, are dropped.
/// 2. Keep. Every member starts with the partitions it validly owns.
/// 3. Fill. The remaining partitions, those with the fewest eligible (subscribed) members first,
///    each go to the eligible member holding the fewest partitions (ties: the member eligible for
///    fewer partitions overall, then the member order of the other assignors).
/// 4. Balance. While some member X holds a partition that a member Y with at least two fewer
///    partitions could take, one such partition moves from X to Y (X the most loaded, Y the least
///    loaded taker; partitions X did not own go first, then X's highest). Every move strictly
///    lowers the sum of squared counts, so this ends. At the end members with the same
///    subscription differ by at most one partition, and no partition can move to a member two
///    or more below its holder.
/// 5. Cooperate. A partition that ends up with a member other than its valid owner, while another
///    member still claims it (at any generation; this includes both claimants of a contested
///    partition), is left out of this round: its claimants see it missing, revoke it and rejoin,
///    and the next round, where nobody claims it, hands it out.
/// Member lists are sorted; the result depends only on the input, not on the member order.
assignment assign_cooperative_sticky(const std::vector<group_member>& members,
                                     const std::map<std::string, std::int32_t>& partitions);

/// What a member gains and loses going from one assignment to the next.
struct assignment_diff {
    std::vector<topic_partition> added;    ///< in `after`, not in `before` (sorted, unique)
    std::vector<topic_partition> revoked;  ///< in `before`, not in `after` (sorted, unique)
};
assignment_diff diff_assignment(const std::vector<topic_partition>& before, const std::vector<topic_partition>& after);

}  // namespace kwire::client

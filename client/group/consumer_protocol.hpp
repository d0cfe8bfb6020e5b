// The consumer protocol: the bytes a consumer puts in JoinGroup's protocol metadata (its
// subscription) and the group leader puts in SyncGroup's assignments, when the group's protocol
// type is "consumer". Both messages are described in protocol/schema/consumer_protocol_*.kws;
// here they get the INT16 version prefix they travel behind, and conversions to the assignors'
// types.
//
// Versions: kwire writes the newest version (3) of both, like the Java client. A reader meeting
// a newer version than it knows decodes it as its newest and ignores whatever follows (later
// versions only append fields), so decode accepts any version >= 0 and, like Java's reader,
// ignores trailing bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/client/assignor.hpp"
#include "kwire/protocol/messages/consumer_protocol_assignment.hpp"
#include "kwire/protocol/messages/consumer_protocol_subscription.hpp"

namespace kwire::client::detail {

using consumer_subscription = protocol::ConsumerProtocolSubscription;
using consumer_assignment = protocol::ConsumerProtocolAssignment;

/// Appends the version prefix and the subscription at `version` (0..3) to `out`; unsupported_version
/// (and nothing appended) outside that range.
std::error_code encode_subscription(std::vector<std::uint8_t>& out, const consumer_subscription& s,
                                    std::int16_t version = consumer_subscription::max_version);
/// Decodes version prefix and subscription; `version`, if given, receives the prefix as sent.
std::error_code decode_subscription(protocol::bytes_view in, consumer_subscription& s,
                                    std::int16_t* version = nullptr);

std::error_code encode_assignment(std::vector<std::uint8_t>& out, const consumer_assignment& a,
                                  std::int16_t version = consumer_assignment::max_version);
std::error_code decode_assignment(protocol::bytes_view in, consumer_assignment& a,
                                  std::int16_t* version = nullptr);

/// A subscription to `topics` claiming `owned` (grouped by topic, sorted) at `generation`.
/// `user_data` is the assignor's: cooperative_sticky_user_data(generation) for cooperative-sticky.
consumer_subscription make_subscription(std::vector<std::string> topics, const std::vector<topic_partition>& owned,
                                        std::int32_t generation, std::optional<std::string> rack_id = std::nullopt,
                                        std::optional<protocol::bytes> user_data = std::nullopt);

/// The group member a leader sees in a subscription: its topics, its owned partitions, and its
/// generation: GenerationId when set (>= 0), else the one cooperative-sticky user data carries
/// (how members sending subscription v0/v1 report it), else -1.
group_member member_from_subscription(std::string member_id, std::optional<std::string> group_instance_id,
                                      const consumer_subscription& s);

/// An assignment of `partitions` (grouped by topic, sorted) with no user data.
consumer_assignment make_assignment(const std::vector<topic_partition>& partitions);
/// The partitions of an assignment, sorted, duplicates dropped.
std::vector<topic_partition> assigned_partitions(const consumer_assignment& a);

/// The cooperative-sticky assignor's user data: the member's generation as an INT32 (what the
/// Java client sends, so that leaders predating subscription v2 still learn it).
protocol::bytes cooperative_sticky_user_data(std::int32_t generation);
/// The generation in cooperative-sticky user data; nullopt if it is absent or shorter than 4 bytes.
std::optional<std::int32_t> cooperative_sticky_generation(const std::optional<protocol::bytes>& user_data);

}  // namespace kwire::client::detail

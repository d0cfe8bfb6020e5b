// The consumer protocol's subscription and assignment bytes (see consumer_protocol.hpp):
// encoding, decoding, and cooperative-sticky's generation in the user data.
#include "group/consumer_protocol.hpp"

#include <set>

#include "kwire/protocol/version_prefixed.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::client::detail {

namespace {

/// Partitions grouped by topic (topics and partitions sorted, duplicates dropped), in the
/// {Topic, Partitions} shape both messages use.
template <class TopicPartitions> std::vector<TopicPartitions> group_by_topic(const std::vector<topic_partition>& tps) {
    std::vector<TopicPartitions> out;
    for (const auto& tp : std::set<topic_partition>(tps.begin(), tps.end())) {
        if (out.empty() || out.back().topic != tp.topic) out.emplace_back().topic = tp.topic;
        out.back().partitions.push_back(tp.partition);
    }
    return out;
}

template <class TopicPartitions> std::vector<topic_partition> flatten(const std::vector<TopicPartitions>& grouped) {
    std::set<topic_partition> out;
    for (const auto& t : grouped)
        for (const auto p : t.partitions) out.insert({t.topic, p});
    return {out.begin(), out.end()};
}

}  // namespace

std::error_code encode_subscription(std::vector<std::uint8_t>& out, const consumer_subscription& s, std::int16_t version) {
    return protocol::encode_version_prefixed(out, s, version);
}
std::error_code decode_subscription(protocol::bytes_view in, consumer_subscription& s, std::int16_t* version) {
    return protocol::decode_version_prefixed(in, s, version);
}
std::error_code encode_assignment(std::vector<std::uint8_t>& out, const consumer_assignment& a, std::int16_t version) {
    return protocol::encode_version_prefixed(out, a, version);
}
std::error_code decode_assignment(protocol::bytes_view in, consumer_assignment& a, std::int16_t* version) {
    return protocol::decode_version_prefixed(in, a, version);
}

consumer_subscription make_subscription(std::vector<std::string> topics, const std::vector<topic_partition>& owned,
                                        std::int32_t generation, std::optional<std::string> rack_id,
                                        std::optional<protocol::bytes> user_data) {
    consumer_subscription s;
    s.topics = std::move(topics);
    s.user_data = std::move(user_data);
    s.owned_partitions = group_by_topic<consumer_subscription::TopicPartition>(owned);
    s.generation_id = generation;
    s.rack_id = std::move(rack_id);
    return s;
}

group_member member_from_subscription(std::string member_id, std::optional<std::string> group_instance_id,
                                      const consumer_subscription& s) {
    group_member m;
    m.member_id = std::move(member_id);
    m.group_instance_id = std::move(group_instance_id);
    m.topics = s.topics;
    m.owned = flatten(s.owned_partitions);
    m.generation = s.generation_id >= 0 ? s.generation_id : cooperative_sticky_generation(s.user_data).value_or(-1);
    return m;
}

consumer_assignment make_assignment(const std::vector<topic_partition>& partitions) {
    consumer_assignment a;
    a.assigned_partitions = group_by_topic<consumer_assignment::TopicPartition>(partitions);
    return a;
}

std::vector<topic_partition> assigned_partitions(const consumer_assignment& a) { return flatten(a.assigned_partitions); }

protocol::bytes cooperative_sticky_user_data(std::int32_t generation) {
    protocol::bytes out;
    protocol::writer(out).i32(generation);
    return out;
}

std::optional<std::int32_t> cooperative_sticky_generation(const std::optional<protocol::bytes>& user_data) {
    if (!user_data) return std::nullopt;
    protocol::reader r(*user_data);
    const auto g = r.i32();
    return r.ok() ? std::optional(g) : std::nullopt;
}

}  // namespace kwire::client::detail

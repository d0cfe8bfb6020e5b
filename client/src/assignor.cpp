#include "kwire/client/assignor.hpp"

#include <algorithm>
#include <set>

namespace kwire::client {

namespace {

/// Java orders members by group.instance.id when they have one (static members first, so that
/// their assignment survives restarts), then by member id.
std::vector<const group_member*> ordered(const std::vector<group_member>& members) {
    std::vector<const group_member*> out;
    for (const auto& m : members) out.push_back(&m);
    std::sort(out.begin(), out.end(), [](const group_member* a, const group_member* b) {
        if (a->group_instance_id && b->group_instance_id) return *a->group_instance_id < *b->group_instance_id;
        if (a->group_instance_id.has_value() != b->group_instance_id.has_value()) return a->group_instance_id.has_value();
        return a->member_id < b->member_id;
    });
    return out;
}

bool subscribes(const group_member& m, const std::string& topic) {
    return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
}

assignment empty_for(const std::vector<group_member>& members) {
    assignment out;
    for (const auto& m : members) out[m.member_id];
    return out;
}

}  // namespace

assignment assign_range(const std::vector<group_member>& members, const std::map<std::string, std::int32_t>& partitions) {
    auto out = empty_for(members);
    const auto order = ordered(members);
    for (const auto& [topic, count] : partitions) {
        std::vector<const group_member*> consumers;
        for (const auto* m : order)
            if (subscribes(*m, topic)) consumers.push_back(m);
        if (consumers.empty() || count <= 0) continue;
        const auto c = static_cast<std::int32_t>(consumers.size());
        const auto per = count / c;
        const auto extra = count % c;
        for (std::int32_t i = 0; i < c; ++i) {
            const auto start = per * i + std::min(i, extra);
            const auto length = per + (i < extra ? 1 : 0);
            auto& mine = out[consumers[static_cast<std::size_t>(i)]->member_id];
            for (std::int32_t p = start; p < start + length; ++p) mine.push_back({topic, p});
        }
    }
    return out;
}

assignment assign_roundrobin(const std::vector<group_member>& members,
                             const std::map<std::string, std::int32_t>& partitions) {
    auto out = empty_for(members);
    const auto order = ordered(members);
    if (order.empty()) return out;
    std::set<std::string> subscribed;
    for (const auto& m : members) subscribed.insert(m.topics.begin(), m.topics.end());
    std::size_t next = 0;
    for (const auto& [topic, count] : partitions) {  // std::map: topics in order
        if (!subscribed.count(topic)) continue;
        for (std::int32_t p = 0; p < count; ++p) {
            // Advance to the next member subscribed to this topic (one exists: `subscribed`).
            while (!subscribes(*order[next % order.size()], topic)) ++next;
            out[order[next % order.size()]->member_id].push_back({topic, p});
            ++next;
        }
    }
    return out;
}

}  // namespace kwire::client

// The rules cluster's consumer groups: membership by scripted_group (tests/admin), offsets as
// Kafka's group coordinator keeps them next to transactions (KIP-447): OffsetFetch and
// TxnOffsetCommit's membership check (see support_rules_broker.hpp).
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"
#include "support_rules_broker.hpp"

namespace kwire::test {

namespace {
constexpr std::int16_t illegal_generation = 22;
constexpr std::int16_t unknown_member_id = 25;
constexpr std::int16_t fenced_instance_id = 82;
constexpr std::int16_t unstable_offset_commit = 88;
constexpr std::int16_t first_version_with_member = 3;  // TxnOffsetCommit v3: generation, member, instance
}  // namespace

std::shared_ptr<scripted_group> rules_cluster::serve_groups() {
    auto groups = scripted_group::start(cluster_, 1);
    {
        std::lock_guard lock(mutex_);
        groups_ = groups;
    }
    // scripted_group answered FindCoordinator for every key type: the transaction coordinator
    // is this cluster's (move_txn_coordinator), and OffsetFetch must see transactional offsets.
    // v8+ (several groups per request) is not served.
    cluster_.on(kp::FindCoordinatorRequest::api_key, [this](const scripted_request& r) { return find_coordinator(r); });
    cluster_.on(kp::OffsetFetchRequest::api_key, [this](const scripted_request& r) { return offset_fetch(r); });
    cluster_.with_api(kp::OffsetFetchRequest::api_key, 1, 7);
    return groups;
}

std::int16_t rules_cluster::check_group_member(const std::string& group, const std::string& member,
                                               std::int32_t generation, const std::optional<std::string>& instance,
                                               std::int16_t version) const {
    // KIP-447: the producer commits for a consumer generation the group must still have. Older
    // requests, and offsets of a consumer outside any group (generation -1), are not checked.
    if (version < first_version_with_member || generation < 0) return txn_error::none;
    if (const auto m = group_members_.find(group); m != group_members_.end()) {
        if (member != m->second.first) return unknown_member_id;
        if (generation != m->second.second) return illegal_generation;
        return txn_error::none;
    }
    if (!groups_) return txn_error::none;
    // As Kafka's GroupMetadata.validateOffsetCommit: a static member replaced by a restart of its
    // instance is fenced; otherwise the generation must be the group's current one.
    if (instance && groups_->member_of_instance(group, *instance) != member) return fenced_instance_id;
    if (generation != groups_->generation(group)) return illegal_generation;
    return txn_error::none;
}

rules_cluster::response rules_cluster::offset_fetch(const scripted_request& req) {
    const auto r = req.decode<kp::OffsetFetchRequest>();
    kp::OffsetFetchResponse resp;
    if (req.node != 1) {
        resp.error_code = txn_error::not_coordinator;
        return scripted_cluster::respond(req, resp);
    }
    std::lock_guard lock(mutex_);
    const auto committed = committed_offsets_.find(r.group_id);
    for (const auto& t : r.topics.value_or(std::vector<kp::OffsetFetchRequest::OffsetFetchRequestTopic>{})) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto p : t.partition_indexes) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p;
            rp.metadata = "";
            rp.committed_offset = groups_ ? groups_->committed(r.group_id, t.name, p) : -1;
            if (committed != committed_offsets_.end())
                if (const auto c = committed->second.find({t.name, p}); c != committed->second.end())
                    rp.committed_offset = c->second;
            if (!r.require_stable) continue;
            // Offsets of an open transaction: the answer would change with its marker.
            for (const auto& [key, offsets] : pending_offsets_)
                if (key.first == r.group_id && offsets.count({t.name, p})) {
                    rp.committed_offset = -1;
                    rp.error_code = unstable_offset_commit;
                }
        }
    }
    return scripted_cluster::respond(req, resp);
}

}  // namespace kwire::test

#include "scripted_group.hpp"

#include <algorithm>

#include "kwire/protocol/messages/consumer_group_heartbeat.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "kwire/protocol/messages/heartbeat.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "kwire/protocol/messages/leave_group.hpp"
#include "kwire/protocol/messages/offset_commit.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"
#include "kwire/protocol/messages/sync_group.hpp"

namespace kwire::test {

namespace {
constexpr std::int16_t illegal_generation = 22;
constexpr std::int16_t unknown_member_id = 25;
constexpr std::int16_t rebalance_in_progress = 27;
constexpr std::int16_t fenced_instance_id = 82;
constexpr std::int16_t unsupported_version = 35;
constexpr std::int16_t invalid_request = 42;
constexpr std::int16_t fenced_member_epoch = 110;
constexpr std::int16_t stale_member_epoch = 113;
}  // namespace

std::shared_ptr<scripted_group> scripted_group::start(scripted_cluster& cluster, int coordinator) {
    auto self = std::make_shared<scripted_group>();
    cluster.on(kp::FindCoordinatorRequest::api_key, cluster.coordinator_is(coordinator));
    cluster.with_api(kp::JoinGroupRequest::api_key, kp::JoinGroupRequest::min_version, kp::JoinGroupRequest::max_version);
    cluster.with_api(kp::SyncGroupRequest::api_key, kp::SyncGroupRequest::min_version, kp::SyncGroupRequest::max_version);
    cluster.with_api(kp::HeartbeatRequest::api_key, kp::HeartbeatRequest::min_version, kp::HeartbeatRequest::max_version);
    cluster.with_api(kp::LeaveGroupRequest::api_key, kp::LeaveGroupRequest::min_version,
                     kp::LeaveGroupRequest::max_version);
    cluster.on(kp::JoinGroupRequest::api_key, [self](const scripted_request& r) { return self->join(r); });
    cluster.on(kp::SyncGroupRequest::api_key, [self](const scripted_request& r) { return self->sync(r); });
    cluster.on(kp::HeartbeatRequest::api_key, [self](const scripted_request& r) { return self->heartbeat(r); });
    cluster.on(kp::LeaveGroupRequest::api_key, [self](const scripted_request& r) { return self->leave(r); });
    cluster.on(kp::OffsetCommitRequest::api_key, [self](const scripted_request& r) { return self->offset_commit(r); });
    cluster.on(kp::OffsetFetchRequest::api_key, [self](const scripted_request& r) { return self->offset_fetch(r); });
    self->cluster_ = &cluster;
    return self;
}

std::shared_ptr<scripted_group> scripted_group::start_consumer_protocol(scripted_cluster& cluster,
                                                                        int heartbeat_interval_ms, int coordinator) {
    auto self = start(cluster, coordinator);
    self->heartbeat_interval_ms_ = heartbeat_interval_ms;
    cluster.with_api(kp::ConsumerGroupHeartbeatRequest::api_key, kp::ConsumerGroupHeartbeatRequest::min_version,
                     kp::ConsumerGroupHeartbeatRequest::max_version);
    cluster.on(kp::ConsumerGroupHeartbeatRequest::api_key,
               [self](const scripted_request& r) { return self->consumer_heartbeat(r); });
    return self;
}

std::map<std::string, std::set<scripted_group::tp>> scripted_group::targets(const cgroup& g) const {
    // Round robin per topic over the members subscribed to it, in member id order.
    std::map<std::string, std::set<tp>> out;
    for (const auto& [id, m] : g.members) out[id];
    for (const auto& [topic, count] : cluster_->topics_snapshot()) {
        std::vector<std::string> subscribers;
        for (const auto& [id, m] : g.members)
            if (std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end()) subscribers.push_back(id);
        if (subscribers.empty()) continue;
        for (int p = 0; p < count; ++p) out[subscribers[static_cast<std::size_t>(p) % subscribers.size()]].insert({topic, p});
    }
    return out;
}

std::optional<std::vector<std::uint8_t>> scripted_group::consumer_heartbeat(const scripted_request& req) {
    const auto r = req.decode<kp::ConsumerGroupHeartbeatRequest>();
    std::lock_guard lock(mutex_);
    auto& g = cgroups_[r.group_id];
    heartbeat_seen seen;
    seen.member_id = r.member_id;
    seen.epoch = r.member_epoch;
    seen.version = req.version;
    seen.subscribed = r.subscribed_topic_names;
    std::map<kp::uuid, std::string, bool (*)(const kp::uuid&, const kp::uuid&)> names(
        [](const kp::uuid& a, const kp::uuid& b) { return a.bytes < b.bytes; });
    for (const auto& [topic, count] : cluster_->topics_snapshot()) names[scripted_cluster::topic_id_of(topic)] = topic;
    std::optional<std::set<tp>> reported;
    if (r.topic_partitions) {
        reported.emplace();
        for (const auto& t : *r.topic_partitions)
            for (const auto p : t.partitions) reported->insert({names.count(t.topic_id) ? names[t.topic_id] : "?", p});
    }
    seen.owned = reported;

    kp::ConsumerGroupHeartbeatResponse resp;
    resp.heartbeat_interval_ms = heartbeat_interval_ms_;
    auto finish = [&](std::int16_t error) {
        resp.error_code = error;
        seen.error = error;
        seen.answered_epoch = resp.member_epoch;
        heartbeats_.push_back(seen);
        return scripted_cluster::respond(req, resp);
    };

    std::string id = r.member_id;
    if (r.member_epoch == -1 || r.member_epoch == -2) {
        if (g.members.erase(id)) ++g.epoch;
        resp.member_id = id;
        resp.member_epoch = r.member_epoch;
        return finish(0);
    }
    if (r.member_epoch == 0) {
        if (id.empty()) {
            if (req.version >= 1) return finish(invalid_request);
            id = "member-" + std::to_string(++g.next_member);
        }
        if (r.rebalance_timeout_ms == -1 || !r.topic_partitions || !r.topic_partitions->empty() ||
            !r.subscribed_topic_names)
            return finish(invalid_request);
        g.members[id] = cmember{};
        g.members[id].topics = *r.subscribed_topic_names;
        ++g.epoch;
    } else {
        const auto it = g.members.find(id);
        if (it == g.members.end()) return finish(unknown_member_id);
        if (it->second.epoch != r.member_epoch) {
            // Kafka's rule (GroupMetadataManager.throwIfMemberEpochIsInvalid): a newer epoch is
            // fenced; an older one too, unless it is the epoch before the last bump and the member
            // owns no partition outside its current assignment -- the answer that carried the
            // bump was lost, and the member may go on.
            const auto& m = it->second;
            const auto target = targets(g)[id];
            bool within = reported.has_value();
            if (reported)
                for (const auto& p : *reported) within = within && m.assigned.count(p) && target.count(p);
            if (r.member_epoch > m.epoch || r.member_epoch != m.previous_epoch || !within)
                return finish(fenced_member_epoch);
        }
        if (r.subscribed_topic_names && *r.subscribed_topic_names != it->second.topics) {
            it->second.topics = *r.subscribed_topic_names;
            ++g.epoch;
        }
    }
    auto& m = g.members[id];
    const auto target = targets(g)[id];
    std::set<tp> revoking;
    for (const auto& p : m.assigned)
        if (!target.count(p)) revoking.insert(p);
    // Released: the member reports no longer owning them.
    if (!revoking.empty() && reported) {
        bool released = true;
        for (const auto& p : revoking) released = released && !reported->count(p);
        if (released) {
            for (const auto& p : revoking) m.assigned.erase(p);
            revoking.clear();
        }
    }
    std::set<tp> desired;
    if (!revoking.empty()) {
        for (const auto& p : m.assigned)
            if (target.count(p)) desired.insert(p);  // keep these, give the others up
    } else {
        for (const auto& p : target) {
            bool taken = false;
            for (const auto& [other_id, other] : g.members)
                if (other_id != id && other.assigned.count(p)) taken = true;
            if (!taken) m.assigned.insert(p);  // a partition still being revoked elsewhere waits
        }
        if (m.epoch != g.epoch) {
            m.previous_epoch = m.epoch;
            m.epoch = g.epoch;
        }
        desired = m.assigned;
    }
    resp.member_id = id;
    resp.member_epoch = m.epoch;
    // As Kafka: the assignment goes out when it changed, and on every full request, so that one
    // whose answer never arrived reaches the member on the full heartbeat it sends after an error.
    const bool full_request = r.member_epoch == 0 || (r.rebalance_timeout_ms != -1 && r.subscribed_topic_names &&
                                                       r.topic_partitions);
    if (full_request || !m.last_sent || *m.last_sent != desired) {
        resp.assignment.emplace();
        std::map<std::string, std::vector<std::int32_t>> by_topic;
        for (const auto& [topic, p] : desired) by_topic[topic].push_back(p);
        for (const auto& [topic, parts] : by_topic)
            resp.assignment->topic_partitions.push_back({scripted_cluster::topic_id_of(topic), parts, {}});
        m.last_sent = desired;
        seen.assignment = desired;
    }
    return finish(0);
}

std::vector<scripted_group::heartbeat_seen> scripted_group::heartbeats() const {
    std::lock_guard lock(mutex_);
    return heartbeats_;
}

void scripted_group::fence_member(const std::string& group_id, const std::string& member_id) {
    std::lock_guard lock(mutex_);
    auto& g = cgroups_[group_id];
    if (auto it = g.members.find(member_id); it != g.members.end()) it->second.epoch += 1000;
}

void scripted_group::refuse_commits(std::int16_t error) {
    std::lock_guard lock(mutex_);
    refuse_commits_ = error;
}

void scripted_group::advance_member_epoch(const std::string& group_id, const std::string& member_id) {
    std::lock_guard lock(mutex_);
    auto& g = cgroups_[group_id];
    if (auto it = g.members.find(member_id); it != g.members.end()) {
        it->second.previous_epoch = it->second.epoch;  // a bump, as a rebalance makes one
        it->second.epoch = ++g.epoch;
        it->second.last_sent.reset();  // its next heartbeat tells it
    }
}

std::map<std::string, std::set<scripted_group::tp>> scripted_group::owners(const std::string& group_id) const {
    std::lock_guard lock(mutex_);
    std::map<std::string, std::set<tp>> out;
    const auto it = cgroups_.find(group_id);
    if (it != cgroups_.end())
        for (const auto& [id, m] : it->second.members) out[id] = m.assigned;
    return out;
}

std::int16_t scripted_group::fenced(const group& g, const std::string& member_id,
                                    const std::optional<std::string>& instance) {
    if (!instance) return 0;
    const auto it = g.instances.find(*instance);
    return it != g.instances.end() && it->second != member_id ? fenced_instance_id : 0;
}

void scripted_group::answered(std::int16_t api_key, std::int16_t error) { answers_[api_key].push_back(error); }

void scripted_group::start_rebalance(const std::string& group_id) {
    std::lock_guard lock(mutex_);
    ++groups_[group_id].generation;
}

void scripted_group::before_join(std::function<void(const kp::JoinGroupRequest&)> hook) {
    std::lock_guard lock(mutex_);
    before_join_ = std::move(hook);
}

std::optional<std::vector<std::uint8_t>> scripted_group::join(const scripted_request& req) {
    const auto r = req.decode<kp::JoinGroupRequest>();
    std::function<void(const kp::JoinGroupRequest&)> hook;
    {
        std::lock_guard lock(mutex_);
        hook = before_join_;
    }
    if (hook) hook(r);
    std::lock_guard lock(mutex_);
    auto& g = groups_[r.group_id];
    kp::JoinGroupResponse resp;
    resp.protocol_name = std::nullopt;
    auto fail = [&](std::int16_t error) {
        resp.error_code = error;
        answered(req.api_key, error);
        return scripted_cluster::respond(req, resp);
    };
    std::string id = r.member_id;
    if (id.empty()) {
        id = (r.group_instance_id ? *r.group_instance_id : std::string("member")) + "-" + std::to_string(++g.next_member);
        if (r.group_instance_id) {
            // A static member restarting: the instance's old member id is replaced (and fenced).
            if (const auto old = g.instances.find(*r.group_instance_id); old != g.instances.end())
                g.members.erase(old->second);
            g.instances[*r.group_instance_id] = id;
        }
    } else if (const auto e = fenced(g, id, r.group_instance_id)) {
        return fail(e);
    } else if (!g.members.count(id)) {
        return fail(unknown_member_id);
    }
    auto& m = g.members[id];
    m.instance_id = r.group_instance_id;
    m.protocols.clear();
    for (const auto& p : r.protocols) m.protocols.emplace_back(p.name, std::vector<std::uint8_t>(p.metadata.begin(), p.metadata.end()));
    // A new generation of every registered member, led by the joiner, on its first protocol.
    ++g.generation;
    g.leader = id;
    g.protocol = m.protocols.empty() ? std::string() : m.protocols.front().first;
    for (auto& [mid, other] : g.members) other.assignment.clear();
    resp.generation_id = g.generation;
    resp.protocol_type = "consumer";
    resp.protocol_name = g.protocol;
    resp.leader = g.leader;
    resp.member_id = id;
    for (const auto& [mid, other] : g.members)
        for (const auto& [name, metadata] : other.protocols)
            if (name == g.protocol)
                resp.members.push_back({mid, other.instance_id, kp::bytes(metadata.begin(), metadata.end()), {}});
    answered(req.api_key, 0);
    return scripted_cluster::respond(req, resp);
}

std::optional<std::vector<std::uint8_t>> scripted_group::sync(const scripted_request& req) {
    const auto r = req.decode<kp::SyncGroupRequest>();
    std::lock_guard lock(mutex_);
    auto& g = groups_[r.group_id];
    kp::SyncGroupResponse resp;
    resp.protocol_type = "consumer";
    resp.protocol_name = g.protocol;
    if (const auto e = fenced(g, r.member_id, r.group_instance_id)) resp.error_code = e;
    else if (!g.members.count(r.member_id)) resp.error_code = unknown_member_id;
    else if (r.generation_id != g.generation) resp.error_code = illegal_generation;
    if (resp.error_code == 0) {
        if (r.member_id == g.leader)
            for (const auto& a : r.assignments)
                if (auto it = g.members.find(a.member_id); it != g.members.end())
                    it->second.assignment.assign(a.assignment.begin(), a.assignment.end());
        const auto& a = g.members[r.member_id].assignment;
        resp.assignment = kp::bytes(a.begin(), a.end());
    }
    answered(req.api_key, resp.error_code);
    return scripted_cluster::respond(req, resp);
}

std::optional<std::vector<std::uint8_t>> scripted_group::heartbeat(const scripted_request& req) {
    const auto r = req.decode<kp::HeartbeatRequest>();
    std::lock_guard lock(mutex_);
    auto& g = groups_[r.group_id];
    kp::HeartbeatResponse resp;
    if (const auto e = fenced(g, r.member_id, r.group_instance_id)) resp.error_code = e;
    else if (!g.members.count(r.member_id)) resp.error_code = unknown_member_id;
    else if (r.generation_id != g.generation) resp.error_code = rebalance_in_progress;
    answered(req.api_key, resp.error_code);
    return scripted_cluster::respond(req, resp);
}

std::optional<std::vector<std::uint8_t>> scripted_group::leave(const scripted_request& req) {
    const auto r = req.decode<kp::LeaveGroupRequest>();
    std::lock_guard lock(mutex_);
    auto& g = groups_[r.group_id];
    kp::LeaveGroupResponse resp;
    auto members = r.members;
    if (members.empty()) members.push_back({r.member_id, std::nullopt, std::nullopt, {}});
    for (const auto& m : members) {
        auto& out = resp.members.emplace_back();
        out.member_id = m.member_id;
        out.group_instance_id = m.group_instance_id;
        if (const auto e = fenced(g, m.member_id, m.group_instance_id)) out.error_code = e;
        else if (!g.members.erase(m.member_id)) out.error_code = unknown_member_id;
    }
    answered(req.api_key, 0);
    return scripted_cluster::respond(req, resp);
}

std::optional<std::vector<std::uint8_t>> scripted_group::offset_commit(const scripted_request& req) {
    const auto r = req.decode<kp::OffsetCommitRequest>();
    std::lock_guard lock(mutex_);
    auto& g = groups_[r.group_id];
    std::int16_t error = 0;
    const bool simple = r.member_id.empty() && r.generation_id_or_member_epoch < 0;
    if (const auto cg = cgroups_.find(r.group_id); cg != cgroups_.end() && !simple) {
        const auto m = cg->second.members.find(r.member_id);
        if (m == cg->second.members.end()) error = unknown_member_id;
        else if (req.version < 9) error = unsupported_version;
        else if (r.generation_id_or_member_epoch > m->second.epoch) error = fenced_member_epoch;
        else if (r.generation_id_or_member_epoch < m->second.epoch) error = stale_member_epoch;
    } else if (!simple) {
        if (const auto e = fenced(g, r.member_id, r.group_instance_id)) error = e;
        else if (!g.members.count(r.member_id)) error = unknown_member_id;
        else if (r.generation_id_or_member_epoch != g.generation) error = illegal_generation;
    }
    if (!simple && !error) error = refuse_commits_;
    commit_seen seen{req.version, r.member_id, r.generation_id_or_member_epoch, {}, error};
    kp::OffsetCommitResponse resp;
    for (const auto& t : r.topics) {
        auto& tr = resp.topics.emplace_back();
        tr.name = t.name;
        for (const auto& p : t.partitions) {
            tr.partitions.push_back({p.partition_index, error, {}});
            seen.offsets[{t.name, p.partition_index}] = p.committed_offset;
            if (!error) g.offsets[{t.name, p.partition_index}] = p.committed_offset;
        }
    }
    commits_.push_back(std::move(seen));
    answered(req.api_key, error);
    return scripted_cluster::respond(req, resp);
}

std::optional<std::vector<std::uint8_t>> scripted_group::offset_fetch(const scripted_request& req) {
    const auto r = req.decode<kp::OffsetFetchRequest>();
    std::lock_guard lock(mutex_);
    const auto& g = groups_[r.group_id];
    kp::OffsetFetchResponse resp;
    if (r.topics)
        for (const auto& t : *r.topics) {
            auto& tr = resp.topics.emplace_back();
            tr.name = t.name;
            for (const auto p : t.partition_indexes) {
                const auto it = g.offsets.find({t.name, p});
                auto& pr = tr.partitions.emplace_back();
                pr.partition_index = p;
                pr.committed_offset = it == g.offsets.end() ? -1 : it->second;
                pr.metadata = "";
            }
        }
    answered(req.api_key, 0);
    return scripted_cluster::respond(req, resp);
}

std::int64_t scripted_group::committed(const std::string& group_id, const std::string& topic, std::int32_t partition) const {
    std::lock_guard lock(mutex_);
    const auto g = groups_.find(group_id);
    if (g == groups_.end()) return -1;
    const auto it = g->second.offsets.find({topic, partition});
    return it == g->second.offsets.end() ? -1 : it->second;
}

std::vector<scripted_group::commit_seen> scripted_group::commits() const {
    std::lock_guard lock(mutex_);
    return commits_;
}

std::vector<std::int16_t> scripted_group::answers(std::int16_t api_key) const {
    std::lock_guard lock(mutex_);
    const auto it = answers_.find(api_key);
    return it == answers_.end() ? std::vector<std::int16_t>{} : it->second;
}

std::string scripted_group::member_of_instance(const std::string& group_id, const std::string& instance_id) const {
    std::lock_guard lock(mutex_);
    const auto g = groups_.find(group_id);
    if (g == groups_.end()) return {};
    const auto it = g->second.instances.find(instance_id);
    return it == g->second.instances.end() ? std::string() : it->second;
}

std::int32_t scripted_group::generation(const std::string& group_id) const {
    std::lock_guard lock(mutex_);
    const auto g = groups_.find(group_id);
    return g == groups_.end() ? 0 : g->second.generation;
}

}  // namespace kwire::test

// The rules cluster's transactions: the coordinator's requests (support_txn_coordinator.hpp for
// the rules), the markers they write, and the groups' transactional offsets (see
// support_rules_broker.hpp).
#include "kwire/protocol/messages/add_offsets_to_txn.hpp"
#include "kwire/protocol/messages/add_partitions_to_txn.hpp"
#include "kwire/protocol/messages/end_txn.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "kwire/protocol/messages/init_producer_id.hpp"
#include "kwire/protocol/messages/txn_offset_commit.hpp"
#include "support_rules_broker.hpp"

namespace kwire::test {

namespace {

constexpr std::int16_t invalid_producer_epoch = 47;
constexpr std::int8_t transaction_key = 1;
constexpr std::int16_t first_produce_version_v2 = 12;

std::pair<std::string, std::int32_t> host_port(const std::string& address) {
    const auto colon = address.rfind(':');
    return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

}  // namespace

void rules_cluster::serve_transactions() {
    cluster_.on(kp::FindCoordinatorRequest::api_key, [this](const scripted_request& r) { return find_coordinator(r); });
    cluster_.on(kp::AddPartitionsToTxnRequest::api_key, [this](const scripted_request& r) { return add_partitions(r); });
    cluster_.on(kp::AddOffsetsToTxnRequest::api_key, [this](const scripted_request& r) { return add_offsets(r); });
    cluster_.on(kp::EndTxnRequest::api_key, [this](const scripted_request& r) { return end_txn(r); });
    cluster_.on(kp::TxnOffsetCommitRequest::api_key, [this](const scripted_request& r) { return txn_offset_commit(r); });
    // The client versions (AddPartitionsToTxn v4+ is between brokers); v2's versions come with
    // enable_transactions_v2. Produce keeps its versions: v12+ adds partitions implicitly only
    // once transaction.version 2 is finalized, as in Kafka.
    cluster_.with_api(kp::AddPartitionsToTxnRequest::api_key, 0, 3);
    cluster_.with_api(kp::AddOffsetsToTxnRequest::api_key, 0, 3);
    cluster_.with_api(kp::EndTxnRequest::api_key, 0, 4);
    cluster_.with_api(kp::TxnOffsetCommitRequest::api_key, 0, 3);
}

void rules_cluster::enable_transactions_v2() {
    {
        std::lock_guard lock(mutex_);
        transactions_v2_ = true;
    }
    cluster_.with_feature("transaction.version", 2);
    cluster_.with_api(kp::EndTxnRequest::api_key, 0, 5);
    cluster_.with_api(kp::TxnOffsetCommitRequest::api_key, 0, 5);
}

void rules_cluster::move_txn_coordinator(int node) {
    std::lock_guard lock(mutex_);
    txn_coordinator_ = node;
}

bool rules_cluster::time_out_transaction(const std::string& id) {
    std::lock_guard lock(mutex_);
    const auto a = txns_.time_out(id);
    if (a.markers) write_markers(*a.markers);
    return a.error == txn_error::none;
}

void rules_cluster::set_group_member(const std::string& group, const std::string& member, int generation) {
    std::lock_guard lock(mutex_);
    group_members_[group] = {member, generation};
}

std::map<std::pair<std::string, int>, std::int64_t> rules_cluster::committed_offsets(const std::string& group) const {
    std::lock_guard lock(mutex_);
    const auto it = committed_offsets_.find(group);
    return it == committed_offsets_.end() ? std::map<std::pair<std::string, int>, std::int64_t>{} : it->second;
}

std::optional<txn_entry> rules_cluster::transaction(const std::string& id) const {
    std::lock_guard lock(mutex_);
    const auto* e = txns_.find(id);
    return e ? std::optional<txn_entry>(*e) : std::nullopt;
}

rules_cluster::response rules_cluster::find_coordinator(const scripted_request& req) {
    const auto r = req.decode<kp::FindCoordinatorRequest>();
    int node = 1;
    if (r.key_type == transaction_key) {
        std::lock_guard lock(mutex_);
        node = txn_coordinator_;
    }
    const auto [host, port] = host_port(cluster_.addresses().at(static_cast<std::size_t>(node - 1)));
    kp::FindCoordinatorResponse resp;
    resp.node_id = node;
    resp.host = host;
    resp.port = port;
    for (const auto& k : r.coordinator_keys) {
        auto& c = resp.coordinators.emplace_back();
        c.key = k;
        c.node_id = node;
        c.host = host;
        c.port = port;
    }
    return scripted_cluster::respond(req, resp);
}

void rules_cluster::write_markers(const txn_markers& m) {
    for (const auto& [topic, partition] : m.partitions) {
        log_->end_transaction(topic, partition, m.producer_id, m.commit, m.epoch);
        states_[{topic, partition}].end_marker(m.producer_id, m.epoch);
    }
    for (const auto& group : m.groups) {
        auto it = pending_offsets_.find({group, m.producer_id});
        if (it == pending_offsets_.end()) continue;
        if (m.commit)
            for (const auto& [tp, offset] : it->second) committed_offsets_[group][tp] = offset;
        pending_offsets_.erase(it);
    }
}

std::int16_t rules_cluster::check_transactional(const std::string& topic, int partition, std::int64_t pid,
                                                std::int16_t epoch, std::int16_t produce_version) {
    const auto id = txns_.id_of(pid);
    if (id) {
        const auto* e = txns_.find(*id);
        if (e && epoch < e->epoch) return invalid_producer_epoch;  // a fenced producer's batch
    }
    return txns_.produce(pid, epoch, {topic, partition}, transactions_v2_ && produce_version >= first_produce_version_v2);
}

rules_cluster::response rules_cluster::init_transactional_id(const scripted_request& req, const std::string& id) {
    const auto r = req.decode<kp::InitProducerIdRequest>();
    kp::InitProducerIdResponse resp;
    std::lock_guard lock(mutex_);
    ++counters_.init_producer_ids;
    if (req.node != txn_coordinator_) {
        resp.error_code = txn_error::not_coordinator;
        return scripted_cluster::respond(req, resp);
    }
    const auto a = txns_.init_producer_id(id, r.producer_id, r.producer_epoch);
    if (a.markers) write_markers(*a.markers);
    resp.error_code = a.error;
    resp.producer_id = a.producer_id;
    resp.producer_epoch = a.epoch;
    return scripted_cluster::respond(req, resp);
}

rules_cluster::response rules_cluster::add_partitions(const scripted_request& req) {
    const auto fault = txn_hook ? txn_hook(req) : produce_fault::none;
    if (fault == produce_fault::close_before_apply) return std::nullopt;
    const auto r = req.decode<kp::AddPartitionsToTxnRequest>();
    std::vector<txn_partition> parts;
    for (const auto& t : r.v3_and_below_topics)
        for (auto p : t.partitions) parts.emplace_back(t.name, p);
    std::int16_t error = 0;
    {
        std::lock_guard lock(mutex_);
        error = req.node != txn_coordinator_
                    ? txn_error::not_coordinator
                    : txns_.add_partitions(r.v3_and_below_transactional_id, r.v3_and_below_producer_id,
                                           r.v3_and_below_producer_epoch, parts);
    }
    if (fault == produce_fault::close_after_apply) return std::nullopt;
    kp::AddPartitionsToTxnResponse resp;
    for (const auto& t : r.v3_and_below_topics) {
        auto& rt = resp.results_by_topic_v3_and_below.emplace_back();
        rt.name = t.name;
        for (auto p : t.partitions) rt.results_by_partition.push_back({p, error, {}});
    }
    return scripted_cluster::respond(req, resp);
}

rules_cluster::response rules_cluster::add_offsets(const scripted_request& req) {
    const auto fault = txn_hook ? txn_hook(req) : produce_fault::none;
    if (fault == produce_fault::close_before_apply) return std::nullopt;
    const auto r = req.decode<kp::AddOffsetsToTxnRequest>();
    kp::AddOffsetsToTxnResponse resp;
    {
        std::lock_guard lock(mutex_);
        resp.error_code = req.node != txn_coordinator_
                              ? txn_error::not_coordinator
                              : txns_.add_offsets(r.transactional_id, r.producer_id, r.producer_epoch, r.group_id);
    }
    if (fault == produce_fault::close_after_apply) return std::nullopt;
    return scripted_cluster::respond(req, resp);
}

rules_cluster::response rules_cluster::end_txn(const scripted_request& req) {
    const auto fault = txn_hook ? txn_hook(req) : produce_fault::none;
    if (fault == produce_fault::close_before_apply) return std::nullopt;
    const auto r = req.decode<kp::EndTxnRequest>();
    kp::EndTxnResponse resp;
    {
        std::lock_guard lock(mutex_);
        if (req.node != txn_coordinator_) {
            resp.error_code = txn_error::not_coordinator;
        } else {
            const auto a = txns_.end_txn(r.transactional_id, r.producer_id, r.producer_epoch, r.committed,
                                         transactions_v2_ && req.version >= 5);
            if (a.markers) write_markers(*a.markers);
            resp.error_code = a.error;
            resp.producer_id = a.producer_id;
            resp.producer_epoch = a.epoch;
        }
    }
    if (fault == produce_fault::close_after_apply) return std::nullopt;
    return scripted_cluster::respond(req, resp);
}

rules_cluster::response rules_cluster::txn_offset_commit(const scripted_request& req) {
    const auto fault = txn_hook ? txn_hook(req) : produce_fault::none;
    if (fault == produce_fault::close_before_apply) return std::nullopt;
    const auto r = req.decode<kp::TxnOffsetCommitRequest>();
    std::int16_t error = 0;
    {
        std::lock_guard lock(mutex_);
        if (req.node != 1) error = txn_error::not_coordinator;  // the group coordinator is broker 1
        else error = check_group_member(r.group_id, r.member_id, r.generation_id, r.group_instance_id, req.version);
        if (!error) {
            const auto id = txns_.id_of(r.producer_id);
            const auto* e = id ? txns_.find(*id) : nullptr;
            const bool v2 = transactions_v2_ && req.version >= 5;
            if (!e || *id != r.transactional_id) error = txn_error::invalid_producer_id_mapping;
            else if (e->epoch != r.producer_epoch) error = txn_error::producer_fenced;
            else if (v2) error = txns_.add_offsets(r.transactional_id, r.producer_id, r.producer_epoch, r.group_id);
            else if (!e->groups.count(r.group_id)) error = txn_error::invalid_txn_state;  // no AddOffsetsToTxn
        }
        if (!error)
            for (const auto& t : r.topics)
                for (const auto& p : t.partitions)
                    pending_offsets_[{r.group_id, r.producer_id}][{t.name, p.partition_index}] = p.committed_offset;
    }
    if (fault == produce_fault::close_after_apply) return std::nullopt;
    kp::TxnOffsetCommitResponse resp;
    for (const auto& t : r.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) rt.partitions.push_back({p.partition_index, error, {}});
    }
    return scripted_cluster::respond(req, resp);
}

}  // namespace kwire::test

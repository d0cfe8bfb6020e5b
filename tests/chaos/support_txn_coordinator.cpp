// Kafka's transaction coordinator rules (see the header for the specification).
#include "support_txn_coordinator.hpp"

namespace kwire::test {

void txn_coordinator_rules::bump(txn_entry& e) {
    e.previous_epoch = e.epoch;
    if (e.epoch >= exhausted_epoch) {
        // TransactionMetadata.isEpochExhausted: a new producer id starts at epoch 0.
        e.producer_id = next_producer_id_++;
        e.epoch = 0;
        e.previous_epoch = -1;
        return;
    }
    ++e.epoch;
}

txn_answer txn_coordinator_rules::init_producer_id(const std::string& id, std::int64_t pid, std::int16_t epoch) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
        txn_entry e;
        e.producer_id = next_producer_id_++;
        e.epoch = 0;
        it = entries_.emplace(id, e).first;
        return {txn_error::none, e.producer_id, e.epoch, {}};
    }
    auto& e = it->second;
    if (pid >= 0 && !(pid == e.producer_id && (epoch == e.epoch || (epoch >= 0 && epoch == e.previous_epoch))))
        return {txn_error::producer_fenced, -1, -1, {}};
    if (e.state == txn_state::ongoing) {
        // Fence the producer of the open transaction: bump, abort with the new epoch, and have
        // the caller come back once the abort is done.
        bump(e);
        txn_answer a{txn_error::concurrent_transactions, -1, -1, {}};
        a.markers = txn_markers{{e.partitions.begin(), e.partitions.end()}, e.groups, e.producer_id, e.epoch, false};
        e.partitions.clear();
        e.groups.clear();
        e.state = txn_state::complete_abort;
        return a;
    }
    bump(e);
    e.state = txn_state::empty;
    return {txn_error::none, e.producer_id, e.epoch, {}};
}

std::int16_t txn_coordinator_rules::check_add(const txn_entry* e, std::int64_t pid, std::int16_t epoch) const {
    if (!e || e->producer_id != pid) return txn_error::invalid_producer_id_mapping;
    if (e->epoch != epoch) return txn_error::producer_fenced;
    return txn_error::none;
}

std::int16_t txn_coordinator_rules::add_partitions(const std::string& id, std::int64_t pid, std::int16_t epoch,
                                                   const std::vector<txn_partition>& partitions) {
    auto it = entries_.find(id);
    if (auto err = check_add(it == entries_.end() ? nullptr : &it->second, pid, epoch)) return err;
    auto& e = it->second;
    e.partitions.insert(partitions.begin(), partitions.end());
    e.state = txn_state::ongoing;
    e.v2 = false;
    return txn_error::none;
}

std::int16_t txn_coordinator_rules::add_offsets(const std::string& id, std::int64_t pid, std::int16_t epoch,
                                                const std::string& group) {
    auto it = entries_.find(id);
    if (auto err = check_add(it == entries_.end() ? nullptr : &it->second, pid, epoch)) return err;
    it->second.groups.insert(group);
    it->second.state = txn_state::ongoing;
    return txn_error::none;
}

txn_answer txn_coordinator_rules::end_txn(const std::string& id, std::int64_t pid, std::int16_t epoch, bool commit,
                                          bool v2) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.producer_id != pid) return {txn_error::invalid_producer_id_mapping, -1, -1, {}};
    auto& e = it->second;
    const auto done = commit ? txn_state::complete_commit : txn_state::complete_abort;
    const auto other = commit ? txn_state::complete_abort : txn_state::complete_commit;
    if (!v2) {
        if (epoch != e.epoch) return {txn_error::producer_fenced, -1, -1, {}};
        if (e.state == done) return {txn_error::none, -1, -1, {}};
        if (e.state != txn_state::ongoing) return {txn_error::invalid_txn_state, -1, -1, {}};
        txn_answer a{txn_error::none, -1, -1, {}};
        a.markers = txn_markers{{e.partitions.begin(), e.partitions.end()}, e.groups, e.producer_id, e.epoch, commit};
        e.partitions.clear();
        e.groups.clear();
        e.state = done;
        e.v2 = false;
        return a;
    }
    // v2: the retry of the EndTxn that bumped the epoch last.
    if (e.v2 && epoch == e.previous_epoch && epoch >= 0 && e.state == done)
        return {txn_error::none, e.producer_id, e.epoch, {}};
    if (epoch != e.epoch) return {txn_error::producer_fenced, -1, -1, {}};
    if (e.state == other && commit) return {txn_error::invalid_txn_state, -1, -1, {}};
    if (e.state != txn_state::ongoing && commit) return {txn_error::invalid_txn_state, -1, -1, {}};
    txn_answer a{txn_error::none, -1, -1, {}};
    const std::vector<txn_partition> parts(e.partitions.begin(), e.partitions.end());
    const auto groups = e.groups;
    const auto old_pid = e.producer_id;
    bump(e);
    // The markers carry the new epoch (an exhausted epoch's markers still name the old id).
    if (!parts.empty() || !groups.empty())
        a.markers = txn_markers{parts, groups, old_pid, e.producer_id == old_pid ? e.epoch : std::int16_t{32767}, commit};
    e.partitions.clear();
    e.groups.clear();
    e.state = done;
    e.v2 = true;
    a.producer_id = e.producer_id;
    a.epoch = e.epoch;
    return a;
}

txn_answer txn_coordinator_rules::time_out(const std::string& id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state != txn_state::ongoing) return {txn_error::invalid_txn_state, -1, -1, {}};
    auto& e = it->second;
    bump(e);
    e.previous_epoch = -1;  // a fence: no earlier epoch is accepted as a retry
    txn_answer a{txn_error::none, e.producer_id, e.epoch, {}};
    a.markers = txn_markers{{e.partitions.begin(), e.partitions.end()}, e.groups, e.producer_id, e.epoch, false};
    e.partitions.clear();
    e.groups.clear();
    e.state = txn_state::complete_abort;
    return a;
}

std::int16_t txn_coordinator_rules::produce(std::int64_t pid, std::int16_t epoch, const txn_partition& p, bool v2) {
    for (auto& [id, e] : entries_) {
        if (e.producer_id != pid) continue;
        if (e.epoch != epoch) return txn_error::invalid_txn_state;  // a fenced producer's batch
        if (v2) {
            e.partitions.insert(p);
            e.state = txn_state::ongoing;
            e.v2 = true;
            return txn_error::none;
        }
        return e.state == txn_state::ongoing && e.partitions.count(p) ? txn_error::none : txn_error::invalid_txn_state;
    }
    return txn_error::invalid_txn_state;  // no transaction this producer id belongs to
}

const txn_entry* txn_coordinator_rules::find(const std::string& id) const {
    const auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
}

std::optional<std::string> txn_coordinator_rules::id_of(std::int64_t pid) const {
    for (const auto& [id, e] : entries_)
        if (e.producer_id == pid) return id;
    return std::nullopt;
}

}  // namespace kwire::test

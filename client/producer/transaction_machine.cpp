// The transactional producer's protocol decisions (see transaction_machine.hpp).
#include "producer/transaction_machine.hpp"

#include "kwire/client/transaction.hpp"
#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

namespace {

/// A coordinator's error as the caller sees it. Brokers before 2.7 (KIP-588) answered a fenced
/// producer's coordinator requests INVALID_PRODUCER_EPOCH, which from a partition leader is
/// abortable; from the coordinator it means fenced, and is reported as PRODUCER_FENCED.
std::error_code coordinator_error(std::int16_t error) {
    if (to_kafka_errc(error) == kafka_errc::invalid_producer_epoch) return make_error_code(kafka_errc::producer_fenced);
    return kafka_error(error);
}

bool needs_bump(std::int16_t error) {
    const auto e = to_kafka_errc(error);
    return e == kafka_errc::unknown_producer_id || e == kafka_errc::invalid_producer_id_mapping;
}

}  // namespace

// --- the application's calls ------------------------------------------------------------------

std::error_code transaction_machine::usable() const {
    if (state_ == state::fatal_error) return error_;
    if (state_ == state::uninitialized || state_ == state::initializing) return make_error_code(txn_errc::not_initialized);
    return {};
}

std::error_code transaction_machine::init() {
    if (state_ == state::fatal_error) return error_;
    if (op_ == operation::init) return {};  // a call that timed out, made again: it goes on
    if (op_ != operation::none) return make_error_code(txn_errc::operation_in_progress);
    if (state_ != state::uninitialized) {
        if (state_ != state::ready) return make_error_code(txn_errc::transaction_in_progress);
        result_ = {operation::init, {}};  // already initialized: nothing to do
        return {};
    }
    state_ = state::initializing;
    op_ = operation::init;
    return {};
}

std::error_code transaction_machine::begin() {
    if (auto ec = usable()) return ec;
    if (op_ != operation::none) return make_error_code(txn_errc::operation_in_progress);
    if (state_ != state::ready) return make_error_code(txn_errc::transaction_in_progress);
    state_ = state::in_transaction;
    ++transaction_number_;
    return {};
}

std::error_code transaction_machine::check_send() const {
    if (auto ec = usable()) return ec;
    if (state_ == state::abortable_error) return error_ ? error_ : make_error_code(txn_errc::must_abort);
    if (state_ != state::in_transaction) return make_error_code(txn_errc::no_transaction);
    return {};
}

void transaction_machine::add_partition(const partition& p) {
    if (state_ != state::in_transaction && state_ != state::committing) return;
    if (v2_) started_ = true;  // Produce adds the partition itself
    else if (!added_.count(p) && !adding_.count(p)) pending_.insert(p);
}

std::error_code transaction_machine::send(const partition& p) {
    if (auto ec = check_send()) return ec;
    add_partition(p);
    return {};
}

std::error_code transaction_machine::send_offsets(protocol::TxnOffsetCommitRequest offsets) {
    if (auto ec = usable()) return ec;
    if (op_ != operation::none) return make_error_code(txn_errc::operation_in_progress);
    if (state_ == state::abortable_error) return error_ ? error_ : make_error_code(txn_errc::must_abort);
    if (state_ != state::in_transaction) return make_error_code(txn_errc::no_transaction);
    if (offsets.group_id != offsets_.group_id) group_coordinator_known_ = false;
    offsets_ = std::move(offsets);
    offsets_added_ = v2_;  // v2: TxnOffsetCommit adds the group itself
    if (v2_) started_ = true;
    op_ = operation::send_offsets;
    return {};
}

std::error_code transaction_machine::commit() {
    if (op_ == operation::commit) return {};
    if (auto ec = usable()) return ec;
    if (op_ != operation::none) return make_error_code(txn_errc::operation_in_progress);
    if (state_ == state::abortable_error) {
        // The cause, when it says "abort"; otherwise the plain instruction.
        if (error_ && classify_transaction_error(error_) == txn_error_class::abortable) return error_;
        return make_error_code(txn_errc::must_abort);
    }
    if (state_ != state::in_transaction) return make_error_code(txn_errc::no_transaction);
    state_ = state::committing;
    op_ = operation::commit;
    return {};
}

std::error_code transaction_machine::abort() {
    if (op_ == operation::abort) return {};
    if (auto ec = usable()) return ec;
    if (op_ != operation::none) return make_error_code(txn_errc::operation_in_progress);
    if (state_ != state::in_transaction && state_ != state::abortable_error)
        return make_error_code(txn_errc::no_transaction);
    state_ = state::aborting;
    op_ = operation::abort;
    pending_.clear();  // partitions not added yet: their records are dropped, not added to abort them
    return {};
}

// --- the producer's reports -------------------------------------------------------------------

void transaction_machine::record_failed(std::error_code cause, bool needs_epoch_bump) {
    if (state_ == state::fatal_error) return;
    const auto c = classify_transaction_error(cause);
    if (c == txn_error_class::fatal || c == txn_error_class::fenced) return to_fatal(cause);
    // KIP-588: a partition that saw the epoch bumped (INVALID_PRODUCER_EPOCH) -- the abort's
    // EndTxn then tells whether the producer was fenced; if it was not, a bump follows it.
    bump_after_abort_ = bump_after_abort_ || needs_epoch_bump || cause == kafka_errc::invalid_producer_epoch;
    if (state_ == state::in_transaction || state_ == state::committing) to_abortable(cause);
}

void transaction_machine::to_abortable(std::error_code cause) {
    state_ = state::abortable_error;
    error_ = cause;
    // A commit waiting for its records, or offsets waiting to join, fail now with the cause (a
    // request of theirs still in flight is answered before the abort goes on).
    if (op_ == operation::commit || op_ == operation::send_offsets) finish(cause);
}

void transaction_machine::to_fatal(std::error_code cause) {
    state_ = state::fatal_error;
    error_ = cause;
    finish(cause);
}

void transaction_machine::finish(std::error_code ec) {
    if (op_ == operation::none) return;
    result_ = {op_, ec};
    op_ = operation::none;
}

void transaction_machine::enter_ready() {
    state_ = state::ready;
    error_ = {};
    started_ = false;
    pending_.clear();
    adding_.clear();
    added_.clear();
    offsets_ = {};
    offsets_added_ = false;
    bump_after_abort_ = false;
    bumping_ = false;
}

std::optional<std::pair<transaction_machine::operation, std::error_code>> transaction_machine::take_result() {
    auto r = std::move(result_);
    result_.reset();
    return r;
}

// --- what to send -----------------------------------------------------------------------------

transaction_machine::next_step transaction_machine::next(bool records_outstanding) {
    if (in_flight_ != step::idle || state_ == state::fatal_error) return {};
    auto want = step::idle;
    switch (state_) {
        case state::initializing: want = step::init_producer_id; break;
        case state::in_transaction:
        case state::committing:
            if (!pending_.empty()) {
                want = step::add_partitions;
            } else if (op_ == operation::send_offsets) {
                want = !offsets_added_              ? step::add_offsets
                       : group_coordinator_known_ ? step::txn_offset_commit
                                                  : step::find_group_coordinator;
            } else if (state_ == state::committing && adding_.empty() && !records_outstanding) {
                if (!started()) {
                    enter_ready();  // nothing joined: nothing to end
                    finish({});
                    return {};
                }
                want = step::end_txn;
            }
            break;
        case state::aborting:
            if (bumping_) {
                want = step::init_producer_id;
            } else if (adding_.empty() && !records_outstanding) {
                if (!started()) {
                    if (bump_after_abort_ && !v2_) {
                        bumping_ = true;
                        want = step::init_producer_id;
                        break;
                    }
                    enter_ready();
                    finish({});
                    return {};
                }
                want = step::end_txn;
            }
            break;
        default: break;
    }
    if (want == step::idle) return {};
    if (want != step::find_group_coordinator && want != step::txn_offset_commit && !coordinator_known_)
        want = step::find_coordinator;
    if (want == step::add_partitions) {
        adding_.insert(pending_.begin(), pending_.end());
        pending_.clear();
    }
    in_flight_ = want;
    const bool wait = backoff_;
    backoff_ = false;
    return {want, wait};
}

protocol::InitProducerIdRequest transaction_machine::init_producer_id_request() const {
    protocol::InitProducerIdRequest req;
    req.transactional_id = opt_.transactional_id;
    req.transaction_timeout_ms = static_cast<std::int32_t>(opt_.transaction_timeout.count());
    // KIP-360: with the current id and epoch the coordinator bumps the epoch of this producer
    // (after an abort it asked for, or to recover) instead of fencing a stranger.
    req.producer_id = producer_id_;
    req.producer_epoch = producer_epoch_;
    return req;
}

protocol::AddPartitionsToTxnRequest transaction_machine::add_partitions_request() const {
    protocol::AddPartitionsToTxnRequest req;
    req.v3_and_below_transactional_id = opt_.transactional_id;
    req.v3_and_below_producer_id = producer_id_;
    req.v3_and_below_producer_epoch = producer_epoch_;
    for (const auto& p : adding_) {
        if (req.v3_and_below_topics.empty() || req.v3_and_below_topics.back().name != p.topic)
            req.v3_and_below_topics.emplace_back().name = p.topic;
        req.v3_and_below_topics.back().partitions.push_back(p.index);
    }
    return req;
}

protocol::AddOffsetsToTxnRequest transaction_machine::add_offsets_request() const {
    protocol::AddOffsetsToTxnRequest req;
    req.group_id = offsets_.group_id;
    return stamped(std::move(req));
}

protocol::TxnOffsetCommitRequest transaction_machine::txn_offset_commit_request() const { return stamped(offsets_); }

protocol::EndTxnRequest transaction_machine::end_txn_request() const {
    protocol::EndTxnRequest req;
    req.committed = state_ == state::committing;
    return stamped(std::move(req));
}

// --- the answers ------------------------------------------------------------------------------

transaction_machine::answer transaction_machine::judge(std::int16_t error, bool group_request) {
    switch (to_kafka_errc(error)) {
        case kafka_errc::none: return answer::ok;
        case kafka_errc::coordinator_not_available:
        case kafka_errc::not_coordinator:
            return answer::rediscover;
        case kafka_errc::request_timed_out:
            return group_request ? answer::rediscover : answer::retry;
        case kafka_errc::coordinator_load_in_progress:
        case kafka_errc::concurrent_transactions:
        case kafka_errc::unknown_topic_or_partition:
        case kafka_errc::network_exception:
        case kafka_errc::operation_not_attempted:
            return answer::retry;
        case kafka_errc::topic_authorization_failed:
        case kafka_errc::group_authorization_failed:
        case kafka_errc::unknown_producer_id:
        case kafka_errc::invalid_producer_id_mapping:
        case kafka_errc::unknown_member_id:
        case kafka_errc::illegal_generation:
        case kafka_errc::fenced_instance_id:
        case kafka_errc::transaction_abortable:
            return answer::abortable;
        default:
            // Fenced, unauthorized transactional id, invalid state, and anything unexpected.
            return answer::fatal;
    }
}

bool transaction_machine::fail(answer a, std::error_code cause, bool group_coordinator) {
    switch (a) {
        case answer::ok: return false;
        case answer::rediscover:
            (group_coordinator ? group_coordinator_known_ : coordinator_known_) = false;
            backoff_ = true;
            return true;
        case answer::retry: backoff_ = true; return true;
        case answer::abortable:
            if (state_ == state::initializing || bumping_) to_fatal(cause);  // no transaction to abort
            else if (state_ != state::aborting) to_abortable(cause);
            return true;
        case answer::fatal: to_fatal(cause); return true;
    }
    return true;
}

void transaction_machine::on_coordinator(std::error_code ec) {
    in_flight_ = step::idle;
    if (!ec) {
        coordinator_known_ = true;
        return;
    }
    if (ec == kafka_errc::transactional_id_authorization_failed) return to_fatal(ec);
    backoff_ = true;
}

void transaction_machine::on_group_coordinator(std::error_code ec) {
    in_flight_ = step::idle;
    if (!ec) {
        group_coordinator_known_ = true;
        return;
    }
    if (ec == kafka_errc::group_authorization_failed) {
        if (state_ == state::in_transaction) to_abortable(ec);
        return finish(ec);
    }
    backoff_ = true;
}

void transaction_machine::on_init_producer_id(std::error_code transport, const protocol::InitProducerIdResponse& r) {
    in_flight_ = step::idle;
    if (transport) {
        coordinator_known_ = false;  // the connection died: the coordinator may have moved
        backoff_ = true;
        return;
    }
    if (fail(judge(r.error_code, false), coordinator_error(r.error_code), false)) return;
    producer_id_ = r.producer_id;
    producer_epoch_ = r.producer_epoch;
    enter_ready();
    finish({});
}

void transaction_machine::on_add_partitions(std::error_code transport, const protocol::AddPartitionsToTxnResponse& r,
                                            std::int16_t version) {
    in_flight_ = step::idle;
    auto back = [this] {
        pending_.insert(adding_.begin(), adding_.end());
        adding_.clear();
    };
    if (transport) {
        coordinator_known_ = false;
        backoff_ = true;
        return back();
    }
    if (version >= 4 && r.error_code != 0) {
        back();
        fail(judge(r.error_code, false), coordinator_error(r.error_code), false);
        return;
    }
    const auto& topics = version >= 4 ? (r.results_by_transaction.empty() ? decltype(r.results_by_topic_v3_and_below){}
                                                                          : r.results_by_transaction.front().topic_results)
                                      : r.results_by_topic_v3_and_below;
    // The worst answer decides; partitions answered without error are in the transaction.
    auto worst = answer::ok;
    std::int16_t worst_error = 0;
    bool bump = false;
    for (const auto& t : topics)
        for (const auto& p : t.results_by_partition) {
            const auto it = adding_.find(partition{t.name, p.partition_index});
            if (it == adding_.end()) continue;
            const auto a = judge(p.partition_error_code, false);
            if (a == answer::ok) {
                added_.insert(*it);
                adding_.erase(it);
                continue;
            }
            bump = bump || needs_bump(p.partition_error_code);
            if (a > worst) {  // OPERATION_NOT_ATTEMPTED (retry) yields to the error that caused it
                worst = a;
                worst_error = p.partition_error_code;
            }
        }
    // Partitions the answer did not mention were not added: they are asked for again.
    if (!adding_.empty() && worst == answer::ok) worst = answer::retry;
    back();
    bump_after_abort_ = bump_after_abort_ || bump;
    if (worst != answer::ok) fail(worst, coordinator_error(worst_error ? worst_error : wire_code(kafka_errc::unknown_server_error)), false);
}

void transaction_machine::on_add_offsets(std::error_code transport, const protocol::AddOffsetsToTxnResponse& r) {
    in_flight_ = step::idle;
    if (transport) {
        coordinator_known_ = false;
        backoff_ = true;
        return;
    }
    const auto a = judge(r.error_code, false);
    if (a == answer::abortable) {
        bump_after_abort_ = bump_after_abort_ || needs_bump(r.error_code);
        to_abortable(coordinator_error(r.error_code));
        return finish(coordinator_error(r.error_code));
    }
    if (fail(a, coordinator_error(r.error_code), false)) return;
    offsets_added_ = true;
}

void transaction_machine::on_txn_offset_commit(std::error_code transport, const protocol::TxnOffsetCommitResponse& r) {
    in_flight_ = step::idle;
    if (transport) {
        group_coordinator_known_ = false;
        backoff_ = true;
        return;
    }
    // Offsets answered without error are committed with the transaction; the rest are sent
    // again (retriable) or fail the call.
    auto worst = answer::ok;
    std::int16_t worst_error = 0;
    for (const auto& t : r.topics)
        for (const auto& p : t.partitions) {
            const auto a = judge(p.error_code, true);
            if (a == answer::ok) {
                for (auto& rt : offsets_.topics)
                    if (rt.name == t.name)
                        std::erase_if(rt.partitions, [&](const auto& rp) { return rp.partition_index == p.partition_index; });
                continue;
            }
            if (static_cast<int>(a) > static_cast<int>(worst)) {
                worst = a;
                worst_error = p.error_code;
            }
        }
    std::erase_if(offsets_.topics, [](const auto& t) { return t.partitions.empty(); });
    if (worst == answer::ok) {
        if (!offsets_.topics.empty()) {
            backoff_ = true;  // some were not answered: again
            return;
        }
        return finish({});
    }
    const auto cause = coordinator_error(worst_error);
    if (worst == answer::abortable) {
        // KIP-447: a consumer generation the group has moved past (a zombie), or no right to the
        // group: this transaction must not commit.
        to_abortable(cause);
        return finish(cause);
    }
    fail(worst, cause, true);
}

void transaction_machine::on_end_txn(std::error_code transport, const protocol::EndTxnResponse& r) {
    in_flight_ = step::idle;
    if (transport) {
        // The outcome is unknown: the same EndTxn goes again (the coordinator recognizes it).
        coordinator_known_ = false;
        backoff_ = true;
        return;
    }
    const auto a = judge(r.error_code, false);
    if (a == answer::abortable && state_ == state::aborting) {
        // KIP-360: the coordinator lost our producer id; a bump with the current id recovers.
        bumping_ = true;
        return;
    }
    if (fail(a, coordinator_error(r.error_code), false)) return;
    if (v2_ && r.producer_id >= 0) {
        // KIP-890: the next transaction runs under the epoch (or producer id) the coordinator gave.
        producer_id_ = r.producer_id;
        producer_epoch_ = r.producer_epoch;
    }
    if (state_ == state::aborting && bump_after_abort_ && !v2_) {
        bumping_ = true;
        return;
    }
    enter_ready();
    finish({});
}

}  // namespace kwire::client::detail

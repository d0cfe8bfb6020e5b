// The transactional producer (KIP-98, KIP-447, KIP-890): the application's transactional calls,
// the coordinator requests the machine (transaction_machine.hpp) asks for, and what the producer
// does at a transaction's edges. The machine decides; this file only sends and reports back.
//
// At the edges:
//  - a record is accepted only while a transaction is open (check_send); its partition joins the
//    transaction when the record is appended (v1: the sink holds the partition's batches until
//    AddPartitionsToTxn has answered; partition_state::txn_sendable says so without a lookup);
//  - a record that fails for good makes the transaction abortable (record_failed), with an
//    epoch bump after the abort (v1: KIP-360's InitProducerId with the current id and epoch);
//  - commit seals every open batch (an internal flush), the machine waits until no record is
//    outstanding, then sends EndTxn;
//  - abort fails every record not yet sent with txn_errc::aborted (those in flight run their
//    course), then EndTxn;
//  - the producer id and epoch are the machine's; when they change (init, every v2 EndTxn, a
//    bump) nothing is in flight, and every partition's sequence restarts at 0.
#include "core/backoff.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "producer/producer_impl.hpp"

namespace kwire::client::detail {

namespace {
using step = transaction_machine::step;
constexpr std::int8_t group_key = 0;
constexpr std::int8_t transaction_key = 1;
}  // namespace

std::error_code producer_impl::begin_transaction() {
    if (!txn_) return make_error_code(txn_errc::not_transactional);
    if (closed_) return make_error_code(client_errc::closed);
    return txn_->begin();
}

void producer_impl::transaction_call(txn_operation op, completion<flush_signature> done,
                                     std::optional<protocol::TxnOffsetCommitRequest> offsets) {
    if (!txn_) return done(make_error_code(txn_errc::not_transactional));
    if (closed_) return done(make_error_code(client_errc::closed));
    std::error_code ec;
    switch (op) {
        case txn_operation::init: ec = txn_->init(); break;
        case txn_operation::commit: ec = txn_->commit(); break;
        case txn_operation::abort:
            ec = txn_->abort();
            if (!ec) txn_drop_unsent();
            break;
        case txn_operation::send_offsets: ec = txn_->send_offsets(std::move(*offsets)); break;
        case txn_operation::none: break;
    }
    if (ec) return done(ec);
    // A call made again after its wait was cancelled waits for the same outcome.
    txn_waiters_.push_back(std::move(done));
    if (op == txn_operation::commit && !txn_flushing_) {
        // Seal what lingers, so that the commit waits only for the records to be answered.
        txn_flushing_ = true;
        flush(std::nullopt, completion<flush_signature>(ex_, flush_handler([self = shared_from_this()](
                                                                               boost::system::error_code) {
                  self->txn_flushing_ = false;
                  self->txn_pump();
              })));
    }
    txn_pump();
}

void producer_impl::txn_pump() {
    if (!txn_ || aborted_ || txn_pumping_) return;
    txn_pumping_ = true;
    struct reset {
        bool& flag;
        ~reset() { flag = false; }
    } on_exit{txn_pumping_};
    for (;;) {
        txn_adopt_producer_id();
        if (auto r = txn_->take_result()) {
            auto waiters = std::move(txn_waiters_);
            txn_waiters_.clear();
            for (auto& w : waiters) w(r->second);
            continue;
        }
        const auto n = txn_->next(!outstanding_.empty());
        if (n.what == step::idle) return;
        txn_step(n);
    }
}

void producer_impl::txn_adopt_producer_id() {
    if (txn_->producer_id() == producer_id_ && txn_->producer_epoch() == producer_epoch_) return;
    producer_id_ = txn_->producer_id();
    producer_epoch_ = txn_->producer_epoch();
    bump_needed_ = false;
    resequence_all();  // wakes every sink
    schedule_drain();
}

void producer_impl::txn_drop_unsent() {
    const auto ec = make_error_code(txn_errc::aborted);
    // A sealed batch had sequence numbers the broker will never see: a bump follows the abort.
    if (fail_unsent(ec, false)) txn_->record_failed(ec, true);
    check_flushes();
}

std::shared_ptr<broker_connection> producer_impl::txn_connection(bool group) {
    const auto node = group ? group_coordinator_ : txn_coordinator_;
    return node >= 0 ? cluster_->broker(node) : nullptr;
}

void producer_impl::txn_find_coordinator(std::int8_t key_type, std::string key) {
    auto report = [this, key_type](std::error_code ec) {
        if (key_type == transaction_key) txn_->on_coordinator(ec);
        else txn_->on_group_coordinator(ec);
    };
    auto conn = cluster_->any_broker();
    if (!conn) {
        report(make_error_code(client_errc::no_brokers));
        return net::post(ex_, [self = shared_from_this()] { self->txn_pump(); });
    }
    protocol::FindCoordinatorRequest req;
    req.key = std::move(key);
    req.key_type = key_type;
    auto self = shared_from_this();
    conn->request(
        std::move(req),
        [self, key_type, report](std::error_code ec, protocol::FindCoordinatorResponse resp, std::int16_t) {
            if (self->aborted_) return;
            if (!ec && resp.error_code != 0) ec = kafka_error(resp.error_code);
            if (!ec) {
                self->cluster_->add_broker({resp.node_id, resp.host, static_cast<std::uint16_t>(resp.port), std::nullopt});
                (key_type == transaction_key ? self->txn_coordinator_ : self->group_coordinator_) = resp.node_id;
            }
            report(ec);
            self->txn_pump();
        },
        {.min_version = 1, .max_version = 3});
}

void producer_impl::txn_step(transaction_machine::next_step n) {
    if (n.after_backoff) {
        // retry.backoff.ms growing to retry.backoff.max.ms, with jitter (core/backoff.hpp).
        const auto wait = backoff(cfg_.retry_backoff, cfg_.retry_backoff_max)(++txn_attempts_);
        txn_timer_ = std::make_shared<net::steady_timer>(ex_, wait);
        txn_timer_->async_wait([weak = weak_from_this(), what = n.what](std::error_code e) {
            auto self = weak.lock();
            if (e || !self || self->aborted_) return;
            self->txn_step({what, false});
            self->txn_pump();
        });
        return;
    }
    auto self = shared_from_this();
    auto answered = [self](std::error_code ec) {
        if (!ec) self->txn_attempts_ = 0;
    };
    // Without a connection to the coordinator, the step fails as a lost connection would: the
    // machine looks the coordinator up again.
    const auto lost = make_error_code(client_errc::connection_closed);
    switch (n.what) {
        case step::idle: return;
        case step::find_coordinator: return txn_find_coordinator(transaction_key, cfg_.transactional_id);
        case step::find_group_coordinator: return txn_find_coordinator(group_key, txn_->offsets_group());
        case step::init_producer_id: {
            auto conn = txn_connection(false);
            if (!conn) return txn_->on_init_producer_id(lost, {});
            conn->request(
                txn_->init_producer_id_request(),
                [self, answered, conn](std::error_code ec, protocol::InitProducerIdResponse resp, std::int16_t) {
                    if (self->aborted_) return;
                    answered(ec);
                    if (!ec && self->txn_->current() == transaction_machine::state::initializing) {
                        // KIP-890: transactions v2 when the cluster finalized transaction.version
                        // 2 and the coordinator speaks EndTxn v5 (Produce v12 comes with it).
                        const auto& v = conn->versions();
                        self->txn_->use_v2(v.feature("transaction.version") >= 2 &&
                                           v.pick(protocol::EndTxnRequest::api_key, 5, 5) == 5 &&
                                           v.pick(protocol::ProduceRequest::api_key, 12, 12) == 12);
                    }
                    self->txn_->on_init_producer_id(ec, resp);
                    self->txn_pump();
                },
                {.min_version = 0, .max_version = 5});
            return;
        }
        case step::add_partitions: {
            auto conn = txn_connection(false);
            if (!conn) return txn_->on_add_partitions(lost, {}, 0);
            conn->request(
                txn_->add_partitions_request(),
                [self, answered](std::error_code ec, protocol::AddPartitionsToTxnResponse resp, std::int16_t version) {
                    if (self->aborted_) return;
                    answered(ec);
                    self->txn_->on_add_partitions(ec, resp, version);
                    // Partitions now in the transaction may send what they hold.
                    const auto number = self->txn_->transaction_number();
                    for (auto& [name, t] : self->topics_)
                        for (auto& p : t->partitions)
                            if (p.txn_seen == number && p.txn_sendable != number && self->txn_->may_send({name, p.id})) {
                                p.txn_sendable = number;
                                if (!p.queue.sealed().empty() || p.open) self->mark_ready(p);
                            }
                    self->schedule_drain();
                    self->txn_pump();
                },
                {.min_version = 0, .max_version = 3});
            return;
        }
        case step::add_offsets: {
            auto conn = txn_connection(false);
            if (!conn) return txn_->on_add_offsets(lost, {});
            conn->request(
                txn_->add_offsets_request(),
                [self, answered](std::error_code ec, protocol::AddOffsetsToTxnResponse resp, std::int16_t) {
                    if (self->aborted_) return;
                    answered(ec);
                    self->txn_->on_add_offsets(ec, resp);
                    self->txn_pump();
                },
                {.min_version = 0, .max_version = 3});
            return;
        }
        case step::txn_offset_commit: {
            auto conn = txn_connection(true);
            if (!conn) return txn_->on_txn_offset_commit(lost, {});
            conn->request(
                txn_->txn_offset_commit_request(),
                [self, answered](std::error_code ec, protocol::TxnOffsetCommitResponse resp, std::int16_t) {
                    if (self->aborted_) return;
                    answered(ec);
                    self->txn_->on_txn_offset_commit(ec, resp);
                    self->txn_pump();
                },
                {.min_version = 0, .max_version = static_cast<std::int16_t>(txn_->v2() ? 5 : 3)});
            return;
        }
        case step::end_txn: {
            auto conn = txn_connection(false);
            if (!conn) return txn_->on_end_txn(lost, {});
            conn->request(
                txn_->end_txn_request(),
                [self, answered](std::error_code ec, protocol::EndTxnResponse resp, std::int16_t) {
                    if (self->aborted_) return;
                    answered(ec);
                    self->txn_->on_end_txn(ec, resp);
                    self->txn_pump();
                },
                {.min_version = static_cast<std::int16_t>(txn_->v2() ? 5 : 0),
                 .max_version = static_cast<std::int16_t>(txn_->v2() ? 5 : 4)});
            return;
        }
    }
}

// --- the public calls ---------------------------------------------------------------------------

void start_transaction_call(const std::shared_ptr<producer_impl>& impl, transaction_call_kind kind,
                            net::any_completion_handler<flush_signature> h) {
    completion<flush_signature> done(impl->executor(), std::move(h), stop_waiting);
    switch (kind) {
        case transaction_call_kind::init: return impl->transaction_call(transaction_machine::operation::init, done);
        case transaction_call_kind::begin: return done(impl->begin_transaction());
        case transaction_call_kind::commit: return impl->transaction_call(transaction_machine::operation::commit, done);
        case transaction_call_kind::abort: return impl->transaction_call(transaction_machine::operation::abort, done);
    }
}

void start_send_offsets(const std::shared_ptr<producer_impl>& impl, std::vector<partition_offset> offsets,
                        consumer_group_metadata group, net::any_completion_handler<flush_signature> h) {
    completion<flush_signature> done(impl->executor(), std::move(h), stop_waiting);
    protocol::TxnOffsetCommitRequest req;
    req.group_id = std::move(group.group_id);
    req.generation_id = group.generation_id;
    req.member_id = std::move(group.member_id);
    req.group_instance_id = std::move(group.group_instance_id);
    for (auto& o : offsets) {
        if (req.topics.empty() || req.topics.back().name != o.topic) req.topics.emplace_back().name = std::move(o.topic);
        auto& p = req.topics.back().partitions.emplace_back();
        p.partition_index = o.partition;
        p.committed_offset = o.offset;
        p.committed_metadata = std::string();
    }
    impl->transaction_call(transaction_machine::operation::send_offsets, done, std::move(req));
}

}  // namespace kwire::client::detail

// Sending: sealed batches to their leaders in Produce requests; responses, retries and the
// idempotent producer's sequence state (KIP-98, KIP-360).
//
// Ordering within a partition, step by step:
//  - batches are sealed, and given sequence numbers, in the order records were sent;
//  - with a compression executor, a batch whose records are still being compressed holds back
//    every batch of its partition sealed after it (partition_queue::can_send), however the
//    compression jobs finish;
//  - a partition's batches in flight all travel on one incarnation of its leader's connection
//    (send_request), which the broker processes in order, so up to five can be pipelined --
//    but only once the broker has acknowledged one of them under the current producer id and
//    epoch: until then it may hold no state for us and would take any sequence (partition_queue);
//  - when one comes back for a retry (a retriable error, a lost connection), the batches behind it
//    come back too (same connection failure, or OUT_OF_ORDER_SEQUENCE_NUMBER because their
//    predecessor was not written); they return to `sealed` in their original order, and the
//    partition sends nothing until every request in flight for it has answered -- only then is
//    the first of them resent, with the same sequence numbers, so the broker deduplicates
//    whatever had in fact been written;
//  - a real gap (the broker lost our producer state, or a batch was given up) cannot be closed
//    with the old sequence numbers: the producer bumps its epoch itself (bump_epoch), once
//    nothing is in flight, and renumbers every unsent batch from 0.
#include <boost/asio/post.hpp>

#include <algorithm>
#include <limits>

#include "core/backoff.hpp"
#include "kwire/codec/crc.hpp"
#include "kwire/protocol/messages/init_producer_id.hpp"
#include "producer/producer_impl.hpp"

namespace kwire::client::detail {

void producer_impl::drain() {
    if (draining_) return schedule_drain();  // reached again from a request that failed at once
    drain_scheduled_ = false;
    if (shut_down_) return;
    draining_ = true;
    struct reset {
        bool& flag;
        ~reset() { flag = false; }
    } reset_draining{draining_};
    const auto now = clock::now();

    // The idempotent producer sends nothing without a producer id, and nothing while an epoch
    // bump is due: the bump waits for the requests in flight to answer, then renumbers.
    // While a bump waits, a batch that the broker may already hold is sent again under its old
    // numbers (partition_queue::needs_resolving): the bump must not renumber it.
    bool may_send = true;
    if (cfg_.idempotent() && bump_needed_ && producer_id_ >= 0 && requests_in_flight_ == 0 && !init_in_flight_ &&
        !any_batch_needs_resolving())
        bump_epoch();
    if (cfg_.idempotent() && (producer_id_ < 0 || bump_needed_)) {
        may_send = false;
        if (!init_in_flight_ && producer_id_ < 0) init_producer_id();
    }
    const bool resolving = resolving_before_bump();

    std::map<std::int32_t, std::vector<std::pair<topic_state*, partition_state*>>> by_leader;
    for (auto& [name, tp] : topics_) {
        auto& t = *tp;
        if (t.partitions.empty()) continue;
        const auto* info = cluster_->topic(t.name);
        for (auto& p : t.partitions) {
            if (p.open && (now >= p.linger_until || flush_pending_for(p.open->records.front().generation))) seal(t, p);
            if (!(may_send || (resolving && p.queue.needs_resolving())) ||
                !p.queue.can_send(now, max_in_flight_per_partition()))
                continue;
            std::int32_t leader = -1;
            if (info && static_cast<std::size_t>(p.id) < info->partitions.size())
                leader = info->partitions[static_cast<std::size_t>(p.id)].leader;
            if (leader < 0) {
                request_metadata(t);
                continue;
            }
            by_leader[leader].emplace_back(&t, &p);
        }
    }
    for (auto& [leader, parts] : by_leader) {
        while (broker_in_flight_[leader] < cfg_.max_in_flight_per_connection) {
            const auto before = requests_in_flight_;
            send_request(leader, parts);
            if (requests_in_flight_ == before) break;
        }
    }
    arm_linger_timer();
    if (!outstanding_.empty()) arm_expiry_timer();
}

void producer_impl::send_request(std::int32_t leader, std::vector<std::pair<topic_state*, partition_state*>> parts) {
    auto conn = cluster_->broker(leader);
    if (!conn) {
        for (auto& [t, p] : parts) request_metadata(*t);
        return;
    }
    protocol::ProduceRequest req;
    req.acks = static_cast<std::int16_t>(cfg_.required_acks);
    req.timeout_ms = static_cast<std::int32_t>(cfg_.request_timeout.count());
    req.transactional_id.reset();
    std::size_t total = 0;
    const auto now = clock::now();
    std::vector<sent_batch> sent;
    const auto incarnation = conn->incarnation();
    const bool resolving = resolving_before_bump();
    for (auto& [t, p] : parts) {
        if (!p->queue.can_send(now, max_in_flight_per_partition())) continue;
        if (resolving && !p->queue.needs_resolving()) continue;  // only resolving resends before a bump
        // The pipelining invariant: a batch joins its partition's batches in flight only on the
        // same connection incarnation, so that the broker reads them in sequence order, or all of
        // them fail together. Batches still in flight elsewhere -- on the old leader after a
        // leadership move, or on this connection's previous life, whose failure is being
        // reported request by request right now (a drain can run between two of those reports)
        // -- must all be answered or failed first. Sent on the next incarnation, this batch would
        // reach the broker before the earlier ones are retried; a broker without state for our
        // producer (KIP-360) accepts any sequence and would store it first.
        if (!p->queue.in_flight().empty() && p->in_flight_on != incarnation) continue;
        auto& b = *p->queue.sealed().front();
        if (total > 0 && total + b.bytes.size() > cfg_.max_request_size) continue;
        total += b.bytes.size();
        if (req.topic_data.empty() || req.topic_data.back().name != t->name) {
            req.topic_data.emplace_back();
            req.topic_data.back().name = t->name;
        }
        auto& pd = req.topic_data.back().partition_data.emplace_back();
        pd.index = p->id;
        pd.records = protocol::bytes_view(b.bytes.data(), b.bytes.size());
        sent.push_back({t, p, p->queue.send_front()->order});
        p->in_flight_on = incarnation;
    }
    if (sent.empty()) return;
    ++requests_in_flight_;
    ++broker_in_flight_[leader];
    const bool acks_none = cfg_.required_acks == acks::none;
    auto self = shared_from_this();
    // Produce v3 is the first with RecordBatch v2; v13 names topics by id, which needs topic ids
    // from Metadata v10+: v12 is the newest that names them.
    conn->request(
        std::move(req),
        [self, leader, sent = std::move(sent)](std::error_code ec, protocol::ProduceResponse resp, std::int16_t version) {
            self->on_produce_response(leader, sent, ec, resp, version);
        },
        {.min_version = 3, .max_version = 12, .expect_response = !acks_none});
}

void producer_impl::on_produce_response(std::int32_t leader, std::vector<sent_batch> sent,
                                        std::error_code ec, const protocol::ProduceResponse& resp, std::int16_t) {
    --requests_in_flight_;
    --broker_in_flight_[leader];
    // The request is done with the bytes of batches that expired while it was out.
    if (!expired_in_flight_.empty())
        std::erase_if(expired_in_flight_, [&](const expired_in_flight& e) {
            return std::any_of(sent.begin(), sent.end(),
                               [&](const sent_batch& s) { return s.partition == e.partition && s.order == e.order; });
        });
    if (aborted_) return;
    const bool acks_none = cfg_.required_acks == acks::none;
    for (const auto& ep : resp.node_endpoints)
        cluster_->add_broker({ep.node_id, ep.host, static_cast<std::uint16_t>(ep.port), ep.rack});
    for (auto& [t, p, b] : sent) {  // b: the batch's seal order
        if (ec) {
            handle_partition_result(*t, *p, b, 0, -1, -1, ec);
            continue;
        }
        if (acks_none) {
            handle_partition_result(*t, *p, b, 0, -1, -1, {});
            continue;
        }
        const protocol::ProduceResponse::PartitionProduceResponse* found = nullptr;
        for (const auto& tr : resp.responses) {
            if (tr.name != t->name) continue;
            for (const auto& pr : tr.partition_responses)
                if (pr.index == p->id) found = &pr;
        }
        if (!found) {
            // The broker did not answer for this partition: a broken response; try again.
            handle_partition_result(*t, *p, b, 0, -1, -1, make_error_code(errc::invalid_record));
            continue;
        }
        if (found->current_leader.leader_id >= 0)  // KIP-951: the new leader, without a Metadata round trip
            cluster_->update_leader(t->name, p->id, found->current_leader.leader_id, found->current_leader.leader_epoch);
        handle_partition_result(*t, *p, b, found->error_code, found->base_offset, found->log_append_time_ms, {});
    }
    check_flushes();
    // A send made by the handlers above (an application awaiting each acknowledgement before its
    // next send) goes out now, before this connection reads again. Otherwise the drain waits for
    // the next turn, so responses read together share one pass over the partitions.
    if (drain_scheduled_) drain();
    else schedule_drain();
}

void producer_impl::handle_partition_result(topic_state& t, partition_state& p, std::uint64_t order, std::int16_t error,
                                            std::int64_t base_offset, std::int64_t log_append_time,
                                            std::error_code transport) {
    auto* b = p.queue.find_in_flight(order);
    if (!b) return;  // expired at its delivery deadline while in flight: already reported
    const auto outcome =
        classify_produce_result(error, static_cast<bool>(transport), cfg_.idempotent(), p.queue.first_outstanding(b));
    auto owned = p.queue.take(b);
    if (!owned) return;
    // Whether the broker may hold it: a lost answer leaves that open; a sequence verdict from the
    // leader closes it (it would have answered a batch it holds as a duplicate). Other errors
    // (NOT_LEADER_OR_FOLLOWER, timeouts) say nothing about an earlier attempt.
    if (transport) owned->maybe_written = true;
    else if (error == static_cast<std::int16_t>(kafka_errc::out_of_order_sequence_number) ||
             error == static_cast<std::int16_t>(kafka_errc::unknown_producer_id))
        owned->maybe_written = false;
    switch (outcome) {
        case batch_outcome::delivered:
            p.queue.acknowledged(*owned);
            complete_batch(*owned, {}, p.id, base_offset, log_append_time);
            break;
        case batch_outcome::failed:
            if (cfg_.idempotent()) bump_needed_ = true;  // its sequence numbers will never be written
            complete_batch(*owned, kafka_error(error), p.id, -1, -1);
            break;
        case batch_outcome::bump_epoch_and_retry:
            bump_needed_ = true;
            return retry(t, p, std::move(owned), false);
        case batch_outcome::retry:
            return retry(t, p, std::move(owned), false);
        case batch_outcome::retry_after_metadata:
            return retry(t, p, std::move(owned), true);
    }
    // Answered, so its request is long encoded: the buffer can carry the next compressed batch,
    // or (compressing inline) the next open batch's records. (Not so for a batch expired in
    // flight, whose request may still wait for a connection.)
    if (compresses_elsewhere()) give_buffer(spare_wire_, std::move(owned->bytes), spare_wire_kept);
    else give_buffer(spare_records_, std::move(owned->bytes), spare_records_kept);
}

void producer_impl::retry(topic_state& t, partition_state& p, batch_ptr owned, bool refresh_metadata) {
    const auto now = clock::now();
    if (now >= owned->deadline) {
        if (cfg_.idempotent()) bump_needed_ = true;
        complete_batch(*owned, make_error_code(client_errc::delivery_timed_out), p.id, -1, -1);
        return;
    }
    const auto wait = backoff(cfg_.retry_backoff, cfg_.retry_backoff_max)(owned->attempts);
    p.queue.requeue(std::move(owned), now + wait);
    if (refresh_metadata) {
        auto self = shared_from_this();
        cluster_->refresh({t.name}, [self](std::error_code) { self->schedule_drain(); });
    }
}

bool producer_impl::any_batch_needs_resolving() const noexcept {
    for (const auto& [name, t] : topics_)
        for (const auto& p : t->partitions)
            if (p.queue.needs_resolving()) return true;
    return false;
}

void producer_impl::bump_epoch() {
    // An idempotent producer bumps its epoch itself, as the Java and C clients do: same
    // producer id, epoch + 1, every partition from sequence 0 (a broker takes a higher epoch that
    // starts at 0). Keeping the id matters: the broker then rejects any batch of the old epoch
    // that reaches it late (INVALID_PRODUCER_EPOCH) -- say a request it read before a connection
    // died and works through after the retry was written -- where a new producer id would let
    // that old copy in behind the retry. InitProducerId without a transactional id always
    // answers with a new id, so it is asked only when the epoch is exhausted.
    bump_needed_ = false;
    if (producer_epoch_ == std::numeric_limits<std::int16_t>::max()) {
        producer_id_ = -1;  // the next drain asks for a fresh id
        producer_epoch_ = -1;
        return;
    }
    ++producer_epoch_;
    resequence_all();
}

void producer_impl::init_producer_id() {
    init_in_flight_ = true;
    auto conn = cluster_->any_broker();
    if (!conn) {
        init_in_flight_ = false;
        return;
    }
    protocol::InitProducerIdRequest req;
    req.transactional_id.reset();
    req.transaction_timeout_ms = 0x7fffffff;
    req.producer_id = -1;  // a fresh id: epochs are bumped locally (bump_epoch)
    req.producer_epoch = -1;
    auto self = shared_from_this();
    conn->request(std::move(req), [self](std::error_code ec, protocol::InitProducerIdResponse resp, std::int16_t) {
        self->init_in_flight_ = false;
        if (self->shut_down_) return;
        if (!ec && resp.error_code != 0) ec = kafka_error(resp.error_code);
        if (ec) {
            const bool retriable = ec.category() != kafka_category() || is_retriable(static_cast<std::int16_t>(ec.value())) ||
                                   ec == kafka_errc::coordinator_not_available || ec == kafka_errc::not_coordinator;
            if (!retriable) {
                // Without a producer id nothing can be sent: fail what waits, with the reason.
                for (auto& [name, t] : self->topics_)
                    for (auto& p : t->partitions) {
                        for (auto& b : p.queue.sealed()) self->complete_batch(*b, ec, p.id, -1, -1);
                        p.queue.sealed().clear();
                    }
                self->check_flushes();
                return;
            }
            auto timer = std::make_shared<net::steady_timer>(self->ex_, self->cfg_.retry_backoff);
            timer->async_wait([self, timer](std::error_code) { self->schedule_drain(); });
            return;
        }
        self->producer_id_ = resp.producer_id;
        self->producer_epoch_ = resp.producer_epoch;
        self->bump_needed_ = false;
        self->resequence_all();
        self->schedule_drain();
    }, {.min_version = 0, .max_version = 5});
}

void producer_impl::resequence_all() {
    // A new producer id or epoch starts every partition's sequence at 0. Nothing is in flight
    // (drain waited for that), so renumbering the sealed batches in order is all there is to do.
    for (auto& [name, t] : topics_)
        for (auto& p : t->partitions) p.queue.resequence(producer_id_, producer_epoch_);
}

}  // namespace kwire::client::detail

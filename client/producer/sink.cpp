// Sending, per broker: each partition belongs to its leader's sink (sink.hpp), re-routed when
// metadata changes; a drain works through the woken sinks only, each sending its ready
// partitions' sealed batches in one Produce request (round robin among them); responses, retries
// and the idempotent producer's sequence state (KIP-98, KIP-360).
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
    if (cluster_->leaders_version() != leaders_seen_) route_all();

    // The idempotent producer sends nothing without a producer id, and nothing while an epoch
    // bump is due: the bump waits for the requests in flight to answer, then renumbers.
    // While a bump waits, a batch that the broker may already hold is sent again under its old
    // numbers (partition_queue::needs_resolving): the bump must not renumber it.
    bool may_send = true;
    if (txn_) {
        // A transactional producer's id and epoch are the transaction machine's (transactions.cpp):
        // it bumps them itself, between transactions.
        may_send = producer_id_ >= 0;
    } else {
        if (cfg_.idempotent() && bump_needed_ && producer_id_ >= 0 && requests_in_flight_ == 0 && !init_in_flight_ &&
            !any_batch_needs_resolving())
            bump_epoch();
        if (cfg_.idempotent() && (producer_id_ < 0 || bump_needed_)) {
            may_send = false;
            if (!init_in_flight_ && producer_id_ < 0) init_producer_id();
        }
    }
    const bool resolving = !txn_ && resolving_before_bump();

    // Only the sinks woken since the last drain, each over its own ready partitions. A sink
    // woken while these run (a handler's send, a request that failed at once) waits for the next
    // drain, which is then scheduled.
    sinks_.take_woken(draining_sinks_);
    for (auto* s : draining_sinks_) drain_sink(*s, now, may_send, resolving);
    draining_sinks_.clear();
    if (sinks_.any_woken()) schedule_drain();
    arm_linger_timer();
    if (!outstanding_.empty()) arm_expiry_timer();
}

bool producer_impl::seal_due(partition_state& p, clock::time_point now) {
    if (p.open && (now >= p.linger_until || flush_pending_for(p.open->records.front().generation))) seal(*p.topic, p);
    return !p.queue.sealed().empty();
}

void producer_impl::drain_sink(producer_sink& s, clock::time_point now, bool may_send, bool resolving) {
    if (s.ready_count() == 0) return;  // woken by a response, with nothing left to send
    auto conn = s.holding() ? nullptr : cluster_->broker(s.node());
    if (!conn) {
        if (!s.holding())
            KWIRE_LOG_LIMITED(cluster_->log(), log_level::warn, log_context::producer, "leader " + std::to_string(s.node()),
                              "broker " + std::to_string(s.node()) +
                                  " leads partitions with records to send but is not among the known brokers");
        // No leader known (the holding sink), or a leader not among the known brokers: seal what
        // is due and ask for metadata; the answer re-routes the partitions and wakes their sinks.
        s.visit_ready([&](partition_state& p) {
            if (!seal_due(p, now)) return false;
            request_metadata(*p.topic);
            metadata_wanted_ = true;  // should that refresh fail, the expiry tick wakes us again
            return true;
        });
        return;
    }
    while (s.in_flight < cfg_.max_in_flight_per_connection && s.ready_count() > 0) {
        const auto before = requests_in_flight_;
        // Stop when nothing could go, or when the request failed at once (its batches are back
        // for a retry, which the drain that failure scheduled sends).
        if (!send_request(s, *conn, now, may_send, resolving) || requests_in_flight_ == before) break;
    }
    // The broker's requests are all out: what lingered long enough is sealed anyway, so that a
    // batch does not keep taking records past its linger. (A record's delivery timeout runs from
    // its batch's first record; a batch open longer than linger.ms would fail its later records
    // that much early.)
    if (s.in_flight >= cfg_.max_in_flight_per_connection && s.ready_count() > 0)
        s.visit_ready([&](partition_state& p) { return seal_due(p, now); });
}

bool producer_impl::send_request(producer_sink& s, broker_connection& conn, clock::time_point now, bool may_send,
                                 bool resolving) {
    protocol::ProduceRequest req;
    req.acks = static_cast<std::int16_t>(cfg_.required_acks);
    req.timeout_ms = static_cast<std::int32_t>(cfg_.request_timeout.count());
    if (txn_) req.transactional_id = cfg_.transactional_id;
    else req.transactional_id.reset();
    std::size_t total = 0;
    std::vector<sent_batch> sent;
    const auto incarnation = conn.incarnation();
    const int per_partition = max_in_flight_per_partition();
    s.visit_ready([&](partition_state& p) {
        if (!seal_due(p, now)) return false;  // nothing to send: it leaves the ready list
        if (!(may_send || (resolving && p.queue.needs_resolving())))
            return true;  // only resolving resends before a bump
        if (txn_ && p.txn_sendable != txn_->transaction_number()) return true;  // not in the transaction yet
        if (!p.queue.can_send(now, per_partition)) return true;
        // The pipelining invariant: a batch joins its partition's batches in flight only on the
        // same connection incarnation, so that the broker reads them in sequence order, or all of
        // them fail together. Batches still in flight elsewhere -- on the old leader after a
        // leadership move (the partition has moved to this sink, they are still out on the old
        // one's connection), or on this connection's previous life, whose failure is being
        // reported request by request right now (a drain can run between two of those reports)
        // -- must all be answered or failed first; their answers wake this partition again.
        // Sent on the next incarnation, this batch would reach the broker before the earlier ones
        // are retried; a broker without state for our producer (KIP-360) accepts any sequence and
        // would store it first.
        if (!p.queue.in_flight().empty() && p.in_flight_on != incarnation) return true;
        auto& b = *p.queue.sealed().front();
        if (total > 0 && total + b.bytes.size() > cfg_.max_request_size) return true;
        total += b.bytes.size();
        auto& t = *p.topic;
        auto topic = std::find_if(req.topic_data.rbegin(), req.topic_data.rend(),
                                  [&](const auto& td) { return td.name == t.name; });
        auto& td = topic != req.topic_data.rend() ? *topic : req.topic_data.emplace_back();
        if (td.name.empty()) td.name = t.name;
        auto& pd = td.partition_data.emplace_back();
        pd.index = p.id;
        pd.records = protocol::bytes_view(b.bytes.data(), b.bytes.size());
        if (meters_ && b.attempts == 0) meter_first_send(b, now);
        sent.push_back({&t, &p, p.queue.send_front()->order});
        p.in_flight_on = incarnation;
        // Nothing more sealed: it leaves the ready list (whatever gives it work marks it again).
        return !p.queue.sealed().empty();
    });
    if (sent.empty()) return false;
    ++requests_in_flight_;
    ++s.in_flight;
    const bool acks_none = cfg_.required_acks == acks::none;
    auto self = shared_from_this();
    // Produce v3 is the first with RecordBatch v2; v13 names topics by id, which needs topic ids
    // from Metadata v10+: v12 is the newest that names them.
    conn.request(
        std::move(req),
        [self, sk = &s, sent = std::move(sent)](std::error_code ec, protocol::ProduceResponse resp, std::int16_t version) {
            self->on_produce_response(*sk, sent, ec, resp, version);
        },
        {.min_version = 3, .max_version = 12, .expect_response = !acks_none});
    return true;
}

void producer_impl::route(partition_state& p, const topic_info* info) {
    std::int32_t leader = -1;
    if (info && static_cast<std::size_t>(p.id) < info->partitions.size())
        leader = info->partitions[static_cast<std::size_t>(p.id)].leader;
    sinks_.route(p, leader);
}

void producer_impl::route_all() {
    // Metadata changed (a refresh, a leader learned from a Produce answer): rare next to drains,
    // so one pass over the partitions here keeps every drain to its own sink's. A partition that
    // moves keeps its queue and its batches in flight (answered through the old sink's
    // requests); send_request holds its next batch until those are back.
    leaders_seen_ = cluster_->leaders_version();
    for (auto& [name, t] : topics_) {
        if (t->partitions.empty()) continue;
        const auto* info = cluster_->topic(t->name);
        for (auto& p : t->partitions) route(p, info);
    }
    // A sink whose broker was unknown (no connection) may have one now.
    sinks_.wake_all();
}

void producer_impl::on_produce_response(producer_sink& from, std::vector<sent_batch> sent,
                                        std::error_code ec, const protocol::ProduceResponse& resp, std::int16_t) {
    --requests_in_flight_;
    --from.in_flight;
    sinks_.wake(from);  // room for another request
    // The request is done with the bytes of batches that expired while it was out.
    if (!expired_in_flight_.empty())
        std::erase_if(expired_in_flight_, [&](const expired_in_flight& e) {
            return std::any_of(sent.begin(), sent.end(),
                               [&](const sent_batch& s) { return s.partition == e.partition && s.order == e.order; });
        });
    if (aborted_) return;
    const bool acks_none = cfg_.required_acks == acks::none;
    if (meters_ && !ec && !acks_none) meters_->throttle.record(static_cast<std::uint64_t>(std::max(0, resp.throttle_time_ms)) * 1000);
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
        if (found->error_code != 0) note_produce_error(*p, found->error_code, from.node());
        if (found->current_leader.leader_id >= 0)  // KIP-951: the new leader, without a Metadata round trip
            cluster_->update_leader(t->name, p->id, found->current_leader.leader_id, found->current_leader.leader_epoch);
        handle_partition_result(*t, *p, b, found->error_code, found->base_offset, found->log_append_time_ms, {});
    }
    // Each partition's next batch (or its retry) may go now, from the sink it belongs to now.
    for (auto& [t, p, b] : sent)
        if (!p->queue.sealed().empty()) mark_ready(*p);
    check_flushes();
    // A send made by the handlers above (an application awaiting each acknowledgement before its
    // next send) goes out now, before this connection reads again. Otherwise the drain waits for
    // the next turn, so responses read together share one drain.
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
    if (outcome != batch_outcome::delivered && outcome != batch_outcome::failed)
        log_retry(p, *owned, error, transport);
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
            if (p.meters) meter_delivered(p, *owned);
            complete_batch(*owned, {}, p, base_offset, log_append_time);
            break;
        case batch_outcome::failed:
            if (cfg_.idempotent()) bump_needed_ = true;  // its sequence numbers will never be written
            complete_batch(*owned, kafka_error(error), p, -1, -1);
            break;
        case batch_outcome::bump_epoch_and_retry:
            if (txn_) {
                // Inside a transaction the gap fails the batch (and the transaction); the epoch is
                // bumped after the abort (transactions.cpp).
                complete_batch(*owned, kafka_error(error), p, -1, -1);
                break;
            }
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
        complete_batch(*owned, make_error_code(client_errc::delivery_timed_out), p, -1, -1);
        return;
    }
    if (p.meters) p.meters->retries.add(owned->record_count());
    const auto wait = backoff(cfg_.retry_backoff, cfg_.retry_backoff_max)(owned->attempts);
    p.queue.requeue(std::move(owned), now + wait);
    wake_at(p, p.queue.backoff_until());
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
    KWIRE_LOG(cluster_->log(), log_level::info, log_context::producer,
              "epoch bump: producer id " + std::to_string(producer_id_) + " now at epoch " +
                  std::to_string(producer_epoch_) + " (sequence numbers were lost); every partition restarts at 0");
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
    if (txn_) req.transactional_id = cfg_.transactional_id;
    else req.transactional_id.reset();
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
                        for (auto& b : p.queue.sealed()) self->complete_batch(*b, ec, p, -1, -1);
                        p.queue.sealed().clear();
                    }
                self->check_flushes();
                return;
            }
            // retry.backoff.ms growing to retry.backoff.max.ms, with jitter (core/backoff.hpp).
            const auto wait = backoff(self->cfg_.retry_backoff, self->cfg_.retry_backoff_max)(++self->init_attempts_);
            auto timer = std::make_shared<net::steady_timer>(self->ex_, wait);
            timer->async_wait([self, timer](std::error_code) { self->schedule_drain(); });
            return;
        }
        self->init_attempts_ = 0;
        self->producer_id_ = resp.producer_id;
        self->producer_epoch_ = resp.producer_epoch;
        self->bump_needed_ = false;
        self->resequence_all();
        self->schedule_drain();
    }, {.min_version = 0, .max_version = 5});
}

void producer_impl::resequence_all() {
    if (meters_) meter_producer_id();
    // A new producer id or epoch starts every partition's sequence at 0. Nothing is in flight
    // (drain waited for that), so renumbering the sealed batches in order is all there is to do.
    for (auto& [name, t] : topics_)
        for (auto& p : t->partitions) p.queue.resequence(producer_id_, producer_epoch_);
    sinks_.wake_all();  // sending may resume everywhere
}

}  // namespace kwire::client::detail

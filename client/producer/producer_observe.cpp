// What the producer tells about itself: the causes behind its failures ("record not acknowledged
// within delivery.timeout.ms (last error: NOT_LEADER_OR_FOLLOWER from broker 2)"), kept without
// allocating -- a Kafka error is a code and a broker, a connection failure is the cluster's
// (observe/telemetry.hpp) -- and put into words only when asked for.
#include <algorithm>
#include <chrono>

#include <boost/json/object.hpp>

#include "kwire/client/transaction.hpp"
#include "kwire/protocol/error.hpp"
#include "producer/producer_impl.hpp"
#include "producer/producer_meters.hpp"

namespace kwire::client::detail {

namespace {

/// Errors that end retries without being the cause themselves.
bool hides_a_cause(std::error_code ec) noexcept {
    return ec == client_errc::delivery_timed_out || ec == client_errc::request_timed_out ||
           ec == client_errc::no_brokers || ec == client_errc::connection_closed;
}

std::string in_words(const kafka_cause& c) {
    std::string out(kafka_error_name(c.code));
    if (c.broker >= 0) out += " from broker " + std::to_string(c.broker);
    return out;
}

}  // namespace

void producer_impl::note_produce_error(partition_state& p, std::int16_t code, std::int32_t broker) {
    const kafka_cause c{code, broker, clock::now()};
    p.cause = c;
    cause_ = c;
}

// --- statistics (kwire/client/statistics.hpp: the producer's fields) ---------------------------

namespace {

/// The C client's statistics' idemp_state names for where the producer id stands.
const char* idempotence_state(std::int64_t producer_id, bool init_in_flight, bool bump_needed) noexcept {
    if (init_in_flight) return "WaitPID";
    if (producer_id < 0) return "Init";
    return bump_needed ? "DrainBump" : "Assigned";
}

/// The C client's statistics' txn_state names for the transaction machine's state.
const char* transaction_state(transaction_machine::state s) noexcept {
    using st = transaction_machine::state;
    switch (s) {
        case st::uninitialized: return "Init";
        case st::initializing: return "WaitPID";
        case st::ready: return "Ready";
        case st::in_transaction: return "InTransaction";
        case st::committing: return "CommittingTransaction";
        case st::aborting: return "AbortingTransaction";
        case st::abortable_error: return "AbortableError";
        case st::fatal_error: return "FatalError";
    }
    return "Init";
}

}  // namespace

void producer_impl::start_statistics() {
    cluster_->start_statistics("producer", [weak = weak_from_this()](statistics_document& doc) {
        if (auto self = weak.lock()) self->write_statistics(doc);
    });
}

void producer_impl::write_statistics(statistics_document& doc) const {
    auto& top = doc.top();
    top["msg_cnt"] = doc.total("records-queued").value_or(0);
    top["msg_size"] = doc.total("buffered-bytes").value_or(0);
    top["msg_size_max"] = cfg_.buffer_memory;  // (msg_max left out: kwire has no record count limit)
    top["txmsgs"] = doc.total("record-send-total").value_or(0);
    top["txmsg_bytes"] = doc.total("byte-total").value_or(0);
    for (const auto& [name, t] : topics_) {
        for (const auto& p : t->partitions) {
            // Records of the partition not yet answered: in its open, sealed and in-flight batches.
            std::int64_t queued = p.open ? static_cast<std::int64_t>(p.open->record_count()) : 0;
            for (const auto& b : p.queue.sealed()) queued += static_cast<std::int64_t>(b->record_count());
            std::int64_t in_flight = 0;
            for (const auto& b : p.queue.in_flight()) in_flight += static_cast<std::int64_t>(b->record_count());
            const auto sent = doc.total("record-send-total", std::nullopt, name, p.id).value_or(0);
            auto& out = doc.partition(name, p.id);
            out["txmsgs"] = sent;
            out["txbytes"] = doc.total("byte-total", std::nullopt, name, p.id).value_or(0);
            out["msgq_cnt"] = queued;
            out["msgs_inflight"] = in_flight;
            out["msgs"] = sent + queued + in_flight;  // produced: acknowledged or still pending
        }
    }
    if (!cfg_.idempotent()) return;
    auto& eos = doc.section("eos");
    eos["idemp_state"] = idempotence_state(producer_id_, init_in_flight_, bump_needed_);
    eos["producer_id"] = producer_id_;
    eos["producer_epoch"] = producer_epoch_;
    eos["epoch_cnt"] = doc.total("epoch-bump-total").value_or(0);
    if (txn_) eos["txn_state"] = transaction_state(txn_->current());
}

void producer_impl::log_retry(const partition_state& p, const produce_batch& b, std::int16_t error,
                              std::error_code transport) {
    auto* log = cluster_->log();
    if (!log || !log->enabled(log_level::info, log_context::producer)) return;
    const auto cause = transport ? transport.message() : in_words(p.cause.code == error ? p.cause : kafka_cause{error});
    const auto where = p.topic->name + "-" + std::to_string(p.id);
    log->write_limited(log_level::info, log_context::producer, "retry " + where + " " + cause,
                       "retrying " + std::to_string(b.record_count()) + " record" + (b.record_count() == 1 ? "" : "s") +
                           " of " + where + " (attempt " + std::to_string(b.attempts + 1) + "): " + cause);
}

std::string producer_impl::last_error(std::string_view topic, std::int32_t partition) const {
    const kafka_cause* kafka = &cause_;
    if (const auto t = topics_.find(topic); t != topics_.end() && partition >= 0 &&
                                            static_cast<std::size_t>(partition) < t->second->partitions.size())
        kafka = &t->second->partitions[static_cast<std::size_t>(partition)].cause;
    const auto connection = cluster_->last_error();
    // Whichever happened last: a partition whose leader answered with errors before its
    // connection went down says so, and the other way round.
    if (kafka->code != 0 && (!connection || connection->when <= kafka->at)) return in_words(*kafka);
    if (connection) return connection->description;
    return {};
}

void producer_impl::meter_first_send(const produce_batch& b, clock::time_point now) {
    const auto us = [](clock::duration d) {
        return static_cast<std::uint64_t>(std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
    };
    meters_->queue_time.record(us(now - b.opened));
    meters_->batch_size.record(b.bytes.size());
    meters_->records_per_batch.record(b.record_count());
    if (b.uncompressed > 0) meters_->compression_rate.record(b.bytes.size() * 1000 / b.uncompressed);
}

void producer_impl::meter_delivered(partition_state& p, const produce_batch& b) {
    auto& m = *p.meters;
    m.sent.add(b.record_count());
    m.bytes.add(b.bytes.size());
    // Each record from its batch's first record: the first record's time exactly, an upper bound
    // for the later ones (the clock is read once per batch, never per record).
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - b.opened).count();
    m.duration.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, us)), b.record_count());
}

void producer_impl::meter_producer_id() {
    if (producer_id_ >= 0 && meters_->producer_id.value() == producer_id_ && producer_epoch_ != meters_->producer_epoch.value())
        meters_->epoch_bumps.add(1);
    meters_->producer_id.set(producer_id_);
    meters_->producer_epoch.set(producer_epoch_);
}

std::string producer_impl::describe(std::error_code ec, std::string_view topic, std::int32_t partition) const {
    std::string out = ec.message();
    if (!hides_a_cause(ec)) return out;
    if (auto cause = last_error(topic, partition); !cause.empty()) out += " (last error: " + cause + ")";
    return out;
}

// --- metrics -----------------------------------------------------------------------------------

namespace {
metric_labels client_labels(const std::string& client_id) {
    metric_labels l;
    l.client_id = client_id;
    return l;
}
}  // namespace

std::string error_label(std::error_code ec) {
    if (ec.category() == kafka_category()) return std::string(kafka_error_name(static_cast<std::int16_t>(ec.value())));
    if (ec == client_errc::delivery_timed_out) return "DELIVERY_TIMEOUT";
    if (ec == client_errc::request_timed_out) return "REQUEST_TIMEOUT";
    if (ec == client_errc::connection_closed) return "CONNECTION_CLOSED";
    if (ec == client_errc::record_too_large) return "RECORD_TOO_LARGE";
    if (ec == client_errc::buffer_full) return "BUFFER_FULL";
    if (ec == client_errc::invalid_partition) return "INVALID_PARTITION";
    if (ec == client_errc::closed) return "CLOSED";
    if (ec == txn_errc::aborted) return "TRANSACTION_ABORTED";
    return "OTHER";
}

partition_send_meters::partition_send_meters(metrics_registry& r, const std::string& client_id, const std::string& topic,
                                   std::int32_t partition)
    : sent(r.counter("record-send-total", "records acknowledged",
                     {.client_id = client_id, .topic = topic, .partition = partition})),
      bytes(r.counter("byte-total", "bytes of acknowledged batches, as sent",
                      {.client_id = client_id, .topic = topic, .partition = partition})),
      retries(r.counter("record-retry-total", "records sent again after a retriable error",
                        {.client_id = client_id, .topic = topic, .partition = partition})),
      duration(r.histogram("messaging.client.operation.duration",
                           "from a record's batch opened (its first send) to the acknowledgement",
                           {.client_id = client_id, .topic = topic, .partition = partition})),
      registry(r),
      labels{.client_id = client_id, .topic = topic, .partition = partition} {}

void partition_send_meters::failed(std::error_code ec, std::uint64_t records) {
    auto l = labels;
    l.error = error_label(ec);
    registry.counter("record-error-total", "records that failed, by error", l).add(records);
}

producer_meters::producer_meters(metrics_registry& r, std::string id)
    : registry(r),
      client_id(std::move(id)),
      queued(r.gauge("records-queued", "records accepted and not yet completed", client_labels(client_id))),
      buffered(r.gauge("buffered-bytes", "bytes of buffer.memory in use", client_labels(client_id))),
      queue_time(r.histogram("record-queue-time", "from a batch's first record to its first send",
                             client_labels(client_id))),
      batch_size(r.histogram("batch-size", "bytes of a batch as sent", client_labels(client_id), metric_unit::bytes)),
      records_per_batch(r.histogram("records-per-batch", "records of a batch", client_labels(client_id),
                                    metric_unit::count)),
      compression_rate(r.histogram("compression-rate", "a compressed batch's size over its uncompressed size",
                                   client_labels(client_id), metric_unit::permille)),
      throttle(r.histogram("produce-throttle-time", "throttle time a Produce answer asked for",
                           client_labels(client_id))),
      epoch_bumps(r.counter("epoch-bump-total", "producer epoch changes under the same producer id",
                            client_labels(client_id))),
      producer_id(r.gauge("producer-id", "the idempotent or transactional producer id (-1: none)",
                          client_labels(client_id))),
      producer_epoch(r.gauge("producer-epoch", "the producer epoch (-1: none)", client_labels(client_id))) {
    producer_id.set(-1);
    producer_epoch.set(-1);
}

void producer_meters::failed(std::error_code ec, std::uint64_t records) {
    auto l = client_labels(client_id);
    l.error = error_label(ec);
    registry.counter("record-error-total", "records that failed, by error", l).add(records);
}

}  // namespace kwire::client::detail

namespace kwire {

std::string producer::last_error(std::string_view topic, std::int32_t partition) const {
    return impl_->last_error(topic, partition);
}

std::string producer::describe(boost::system::error_code ec, std::string_view topic, std::int32_t partition) const {
    return impl_->describe(ec, topic, partition);
}

}  // namespace kwire

// The producer's inside. Split by role, as franz-go splits kgo:
//   producer_impl.cpp  accumulating records into per-partition batches (linger, batch.size,
//                      partitioners, buffer.memory, compression offload, topic metadata);
//   delivery.cpp       a record's end: completing records and batches, delivery timeouts,
//                      flush, cancellation of a send, close and abort;
//   sink.cpp           the per-broker produce path: partitions routed to their leader's sink
//                      (sink.hpp), a woken sink drained into one Produce request, responses,
//                      retries and the idempotent sequence state;
//   transactions.cpp   the transactional calls and the coordinator requests the transaction
//                      machine (transaction_machine.hpp, sans-I/O) asks for.
// Everything runs on the producer's executor; nothing here locks.
//
// Nothing on the hot path walks every partition: a batch that becomes sendable wakes only its
// leader's sink, and a drain visits only the woken sinks' ready partitions; lingering batches and
// retry backoffs wake their partition from a min-heap of due times (`wakeups_`), delivery
// deadlines are checked from another (`deadlines_`, one live entry per partition: its earliest).
//
// Lifecycle of a batch: open (records appended into its RecordBatch bytes as they are sent)
// -> sealed (header finished, with its producer id / epoch / base sequence, when it is full,
// its linger passed, or a flush asked; with a compression executor, its records are compressed
// there first, and it waits in its place, not sendable, until the result is back) -> in flight (part of a Produce request) -> acknowledged
// (every record's handler gets its offset) or failed (every record's handler gets the error), or
// back to sealed for a retry. A partition's batches are kept in sequence order throughout.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/completion.hpp"
#include "net/cluster.hpp"
#include "producer/compression_offload.hpp"
#include "producer/partition_queue.hpp"
#include "producer/producer_meters.hpp"
#include "producer/sink.hpp"
#include "producer/transaction_machine.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/codec/batch_builder.hpp"
#include "kwire/protocol/messages/produce.hpp"

namespace kwire::client::detail {

using send_handler = net::any_completion_handler<delivery_signature>;
using flush_handler = net::any_completion_handler<flush_signature>;

/// One record's completion: its handler, its timestamp, and the flush generation it belongs to.
struct record_done {
    send_handler handler;
    std::int64_t timestamp;
    std::uint64_t generation;
};

struct produce_batch {
    std::vector<std::uint8_t> bytes;  // the RecordBatch, built in place
    std::vector<record_done> records;
    std::uint64_t order = 0;          // per-partition seal order: retries go back in this order
    std::int32_t base_sequence = -1;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    clock::time_point deadline;       // delivery.timeout.ms from the first record
    clock::time_point opened{};       // its first record's append (for metrics: queue time, duration)
    std::size_t uncompressed = 0;     // bytes before compression, when sealed with a codec (metrics)
    std::size_t memory = 0;           // bytes charged against buffer.memory
    int attempts = 0;                 // Produce requests that carried it
    bool maybe_written = false;       // an attempt died with its connection: the broker may hold it
    bool compressing = false;         // on the compression executor: `bytes` is empty until it is back

    std::size_t record_count() const noexcept { return records.size(); }
    bool ready() const noexcept { return !compressing; }
    /// Rewrites producer id, epoch and base sequence in the sealed bytes (and the CRC), if changed;
    /// while it is compressing, only the fields (the bytes get them when they come back).
    void set_producer_state(std::int64_t pid, std::int16_t epoch, std::int32_t seq);
};
using batch_ptr = std::unique_ptr<produce_batch>;

struct partition_state;
/// Which batch a compression result is for: answers are matched by seal order, as produce
/// responses are (the batch may be gone by then).
struct batch_key {
    partition_state* partition = nullptr;
    std::uint64_t order = 0;
};
using batch_compression = compression_offload<batch_key>;

struct topic_state;

/// The Kafka error a Produce answer carried last, and from which broker: the cause a later
/// timeout names ("NOT_LEADER_OR_FOLLOWER from broker 2"). Codes have fixed names, so keeping
/// one costs no allocation; the words are made only when asked for (producer_observe.cpp).
struct kafka_cause {
    std::int16_t code = 0;  // 0: none yet
    std::int32_t broker = -1;
    clock::time_point at{};
};

struct partition_state {
    std::int32_t id = 0;
    topic_state* topic = nullptr;
    sink_link link;                        // its place in its leader's sink (sink.hpp)
    clock::time_point expiry_key = clock::time_point::max();  // its live entry in deadlines_
    codec::batch_builder builder;
    batch_ptr open;                        // accumulating
    clock::time_point linger_until{};      // when the open batch must be sealed
    partition_queue<produce_batch> queue;  // sealed and in flight, with the sequence rules
    std::uint64_t in_flight_on = 0;        // the connection incarnation its in-flight batches went to
    // The send appended to the open batch last, while the builder can still take it back
    // (cancellation, see cancel_send): its cancellation id (0: not cancellable) and memory.
    std::uint64_t last_cancel_id = 0;
    std::size_t last_memory = 0;
    // Transactions: the transaction (transaction_machine::transaction_number) a record of this
    // partition joined last, and the one its batches may be sent in (v1: after AddPartitionsToTxn).
    std::uint64_t txn_seen = 0;
    std::uint64_t txn_sendable = 0;
    kafka_cause cause;                     // its last Produce error (producer_observe.cpp)
    std::unique_ptr<partition_send_meters> meters;  // null when metrics are off
};

/// A send that cannot be encoded yet (the topic's metadata is unknown, or buffer.memory is
/// full in `wait` mode): the record is copied, once.
struct owned_record {
    std::optional<std::vector<std::uint8_t>> key;
    std::optional<std::vector<std::uint8_t>> value;
    std::vector<std::pair<std::string, std::optional<std::vector<std::uint8_t>>>> headers;
    std::optional<std::int32_t> partition;
    std::int64_t timestamp = 0;
    clock::time_point deadline;
    send_handler handler;
    std::uint64_t generation = 0;
    std::size_t memory = 0;
    std::uint64_t cancel_id = 0;  // its send's cancellation id (0: not cancellable)
    bool cancelled = false;       // completed with operation_aborted: skipped wherever it waits
};

struct topic_state {
    std::string name;
    std::chrono::milliseconds linger{};    // 0 for autoflush topics: decided once, here
    std::deque<partition_state> partitions;   // empty until metadata is known; deque: never moves
    std::deque<owned_record> waiting;      // sends before metadata arrived
    sticky_partition sticky;
    bool metadata_requested = false;
    bool creating = false;                 // CreateTopics in flight (allow.auto.create.topics)
    bool creation_failed = false;          // CreateTopics failed for good: do not ask again
    clock::time_point next_metadata{};     // backoff for an unknown topic
    std::error_code last_error;            // why metadata is not there yet
    bool listed_waiting = false;           // on producer_impl::waiting_topics_
};

using producer_sink = sink<partition_state>;

/// A partition to look at again at a given time (a linger or a retry backoff ending; a delivery
/// deadline): min-heap entries, checked when due, stale ones skipped.
struct partition_due {
    clock::time_point at;
    partition_state* partition;
    friend bool operator>(const partition_due& a, const partition_due& b) noexcept { return a.at > b.at; }
};

class producer_impl : public std::enable_shared_from_this<producer_impl> {
public:
    producer_impl(net::any_io_executor ex, producer_config cfg);
    ~producer_impl();

    const producer_config& config() const noexcept { return cfg_; }
    const net::any_io_executor& executor() const noexcept { return ex_; }

    void send(const record& r, send_handler h, topic_state* topic);
    void flush(std::optional<std::chrono::milliseconds> timeout, flush_handler h);
    void close(flush_handler h);
    void flush(std::optional<std::chrono::milliseconds> timeout, completion<flush_signature> done);
    /// A cancellation of the send with this id: it completes with operation_aborted if its
    /// record can still be taken back (see producer::send), else nothing happens.
    void cancel_send(std::uint64_t id);
    /// Fails everything still pending with `ec` and closes the connections.
    void abort(std::error_code ec);
    void shut_down();
    topic_state* topic(std::string_view name, std::optional<bool> autoflush = std::nullopt);

    // --- transactions (transactions.cpp) ---
    using txn_operation = transaction_machine::operation;
    /// init_transactions, commit_transaction, abort_transaction, send_offsets_to_transaction
    /// (with `offsets`): starts (or resumes) the operation; `done` completes with its result.
    void transaction_call(txn_operation op, completion<flush_signature> done,
                          std::optional<protocol::TxnOffsetCommitRequest> offsets = std::nullopt);
    /// begin_transaction: answered at once.
    std::error_code begin_transaction();

    /// statistics.interval.ms: starts the statistics with the producer's own fields
    /// (producer_observe.cpp; nothing when statistics are off).
    void start_statistics();

    // --- errors that say why (producer_observe.cpp) ---
    /// The most recent underlying cause, in words ("NOT_LEADER_OR_FOLLOWER from broker 2",
    /// "connection to 127.0.0.1:1 refused"): of the partition if it is known (its last Produce
    /// error, or the client's last connection failure, whichever came later), else of the
    /// whole producer. Empty if nothing failed.
    std::string last_error(std::string_view topic, std::int32_t partition) const;
    /// `ec`'s message, followed by " (last error: ...)" for errors that end retries (a delivery
    /// or request timeout, no broker reachable, a connection lost) when there is a cause.
    std::string describe(std::error_code ec, std::string_view topic, std::int32_t partition) const;

private:
    // --- accumulating (producer_impl.cpp) ---
    void append(topic_state& t, std::int32_t partition, std::optional<protocol::bytes_view> key,
                std::optional<protocol::bytes_view> value, std::span<const codec::header_view> headers,
                std::int64_t timestamp, send_handler h, std::uint64_t generation,
                std::optional<clock::time_point> deadline, std::size_t memory, std::uint64_t cancel_id);
    std::optional<std::int32_t> choose_partition(topic_state& t, const std::optional<std::int32_t>& explicit_partition,
                                                 const std::optional<protocol::bytes_view>& key, std::error_code& ec);
    void seal(topic_state& t, partition_state& p);
    /// Whether sealed batches are compressed on cfg_.compression_executor.
    bool compresses_elsewhere() const noexcept { return compresses_elsewhere_; }
    void start_compression(partition_state& p, produce_batch& b);
    void on_compressed(batch_compression::job& j);
    using buffer_pool = std::vector<std::vector<std::uint8_t>>;
    static std::vector<std::uint8_t> take_buffer(buffer_pool& pool);
    static void give_buffer(buffer_pool& pool, std::vector<std::uint8_t>&& buffer, std::size_t keep);
    void request_metadata(topic_state& t);
    void on_metadata(topic_state& t, std::error_code ec);
    /// allow.auto.create.topics=true and the broker did not create the topic: CreateTopics.
    void create_topic(topic_state& t);
    void release_waiting(topic_state& t);
    /// Appends a record that waited (for metadata or buffer.memory), or parks it again.
    void append_parked(topic_state& t, owned_record o);
    /// A drain on the next turn of the executor: sends made meanwhile share its requests.
    void schedule_drain();
    /// A record with no linger is ready. Inside send(), an idle producer writes it before
    /// returning (no turn of the executor, and no request in flight it could share); otherwise
    /// it waits for the drain already due (a response's, or a scheduled one) and shares it.
    void drain_soon();
    void arm_linger_timer();
    void on_linger_timer();
    /// A partition's open batch is due at `at` (its linger), or its retry backoff ends then.
    void wake_at(partition_state& p, clock::time_point at);
    /// A batch with this delivery deadline joined the partition.
    void watch_deadline(partition_state& p, clock::time_point deadline);
    /// Records were parked in t.waiting: the expiry tick watches the topic.
    void list_waiting(topic_state& t);

    // --- a record's end (delivery.cpp) ---
    /// `n` records of flush generation `generation` are complete.
    void forget(std::uint64_t generation, std::size_t n) noexcept;
    void complete(record_done& r, std::error_code ec, delivery d);
    /// Runs a send handler (inline when it may be, see invoke), counted in in_callbacks_.
    void call_handler(send_handler h, std::error_code ec, delivery d);
    /// Completes a send that failed inside send() itself: posted, never invoked inline.
    void fail_now(record_done& r, std::error_code ec);
    void complete_batch(produce_batch& b, std::error_code ec, partition_state& p, std::int64_t base_offset,
                        std::int64_t log_append_time);
    /// Fails every record not yet sent with `ec` (parked, open, sealed) and, if `in_flight_too`,
    /// those in flight; returns whether a failed sealed batch had sequence numbers.
    bool fail_unsent(std::error_code ec, bool in_flight_too);
    void arm_expiry_timer();
    void expire(clock::time_point now);
    /// Fails a partition's batches past their deadline; its next deadline goes back on the heap.
    void expire_partition(partition_state& p, clock::time_point now);
    void expire_waiting(topic_state& t, clock::time_point now);
    void check_flushes();
    /// Whether a flush is waiting for records of this generation: they must not linger.
    bool flush_pending_for(std::uint64_t generation) const noexcept {
        for (const auto& w : flush_waiters_)
            if (w.generation >= generation) return true;
        return false;
    }

    // --- sending (sink.cpp) ---
    /// Re-routes partitions if leaders changed, runs the producer-wide gate (producer id, epoch
    /// bump), then drains the sinks woken since the last drain -- and only those.
    void drain();
    /// Sends what the sink's ready partitions have, as far as its in-flight limit allows.
    void drain_sink(producer_sink& s, clock::time_point now, bool may_send, bool resolving);
    /// One Produce request of the sink's ready partitions' front batches; false if none could go.
    bool send_request(producer_sink& s, broker_connection& conn, clock::time_point now, bool may_send, bool resolving);
    /// Seals the open batch if its linger passed or a flush waits for it; whether it has sealed batches.
    bool seal_due(partition_state& p, clock::time_point now);
    /// Puts a partition in its leader's sink (the holding sink when the leader is unknown).
    void route(partition_state& p, const topic_info* info);
    /// Metadata changed: every partition to its leader's sink, every sink with work woken.
    void route_all();
    /// The partition may have something to send: its sink is woken for the next drain.
    void mark_ready(partition_state& p) { sinks_.mark_ready(p); }
    /// What a Produce request carried: the partition and the seal order of its batch.
    struct sent_batch {
        topic_state* topic;
        partition_state* partition;
        std::uint64_t order;
    };
    /// Batches failed at their delivery deadline while their Produce request was still out. The
    /// request holds views into their bytes (and is not even encoded while it waits for a
    /// connection), so the bytes live on until that request completes.
    struct expired_in_flight {
        partition_state* partition;
        std::uint64_t order;
        batch_ptr batch;
    };
    std::vector<expired_in_flight> expired_in_flight_;
    /// A Produce answer's error for a partition: kept as its cause (and the producer's).
    void note_produce_error(partition_state& p, std::int16_t code, std::int32_t broker);
    /// The producer's fields of a statistics object (kwire/client/statistics.hpp).
    void write_statistics(statistics_document& doc) const;
    /// Logs a batch going back for a retry, with its cause (rate-limited per partition and cause).
    void log_retry(const partition_state& p, const produce_batch& b, std::int16_t error, std::error_code transport);
    /// Metrics of a batch going out for the first time (queue time, size, records, compression).
    void meter_first_send(const produce_batch& b, clock::time_point now);
    /// A partition's batch acknowledged: records, bytes, send-to-ack duration.
    void meter_delivered(partition_state& p, const produce_batch& b);
    /// The producer id or epoch changed: the gauges, and an epoch bump counted.
    void meter_producer_id();
    void meter_memory() noexcept {
        if (meters_) meters_->buffered.set(static_cast<std::int64_t>(memory_used_));
    }
    void on_produce_response(producer_sink& from, std::vector<sent_batch> sent,
                             std::error_code ec, const protocol::ProduceResponse& resp, std::int16_t version);
    void handle_partition_result(topic_state& t, partition_state& p, std::uint64_t order, std::int16_t error,
                                 std::int64_t base_offset, std::int64_t log_append_time, std::error_code transport);
    void retry(topic_state& t, partition_state& p, batch_ptr b, bool refresh_metadata);
    /// Idempotence allows up to 5 batches in flight per partition (the broker dedupes that many);
    /// without it, the connection's limit is the only one.
    int max_in_flight_per_partition() const noexcept {
        return cfg_.idempotent() ? 5 : cfg_.max_in_flight_per_connection;
    }
    void init_producer_id();
    /// KIP-360's epoch bump for a sequence gap, once nothing is in flight (see sink.cpp).
    void bump_epoch();
    bool any_batch_needs_resolving() const noexcept;
    /// A bump is due: only batches the broker may hold are sent (again, under their old numbers).
    bool resolving_before_bump() const noexcept { return cfg_.idempotent() && bump_needed_ && producer_id_ >= 0; }
    void resequence_all();

    net::any_io_executor ex_;
    producer_config cfg_;
    std::shared_ptr<cluster> cluster_;
    std::unique_ptr<producer_meters> meters_;  // null when metrics are off (producer_meters.hpp)
    std::map<std::string, std::unique_ptr<topic_state>, std::less<>> topics_;
    net::steady_timer linger_timer_;
    net::steady_timer expiry_timer_;
    clock::time_point linger_armed_for_ = clock::time_point::max();
    sink_router<partition_state> sinks_;
    std::vector<producer_sink*> draining_sinks_;  // the woken sinks a drain works through
    std::uint64_t leaders_seen_ = 0;              // cluster_->leaders_version() at the last routing
    std::vector<partition_due> wakeups_;          // min-heap: lingers and retry backoffs ending
    std::vector<partition_due> deadlines_;        // min-heap: each partition's earliest delivery deadline
    std::vector<topic_state*> waiting_topics_;    // topics with sends waiting for metadata
    bool metadata_wanted_ = false;  // a sink could not send for want of a leader or broker address
    bool expiry_armed_ = false;
    bool drain_scheduled_ = false;
    bool draining_ = false;     // drain() is on the stack: a nested call schedules instead
    int in_callbacks_ = 0;      // send handlers running inline: the producer is mid-update up the stack
    bool initiating_ = false;   // inside send(): completions must be posted, never invoked inline
    bool closed_ = false;     // close() was called: new sends fail, pending ones finish
    bool shut_down_ = false;  // close() completed (or abort()): no timers, no requests, no reconnects
    bool aborted_ = false;

    // compression_executor: made at the first seal (it needs weak_from_this). Buffers are reused:
    // records buffers go from a compressed batch back to the next open batch, wire buffers from
    // an answered batch to the next compression result.
    bool compresses_elsewhere_ = false;
    std::unique_ptr<batch_compression> compression_;
    buffer_pool spare_records_;
    buffer_pool spare_wire_;
    static constexpr std::size_t spare_records_kept = 8;
    static constexpr std::size_t spare_wire_kept = 32;

    // idempotence
    std::int64_t producer_id_ = -1;
    std::int16_t producer_epoch_ = -1;
    bool init_in_flight_ = false;
    int init_attempts_ = 0;          // InitProducerId failures in a row: the backoff grows with them
    bool bump_needed_ = false;       // a sequence gap: bump the epoch once nothing is in flight
    std::size_t requests_in_flight_ = 0;
    kafka_cause cause_;              // the last Produce error of any partition

    // buffer.memory
    std::uint64_t memory_used_ = 0;
    std::deque<std::pair<owned_record, std::string>> memory_waiters_;

    // flush: records carry the generation current when they were sent; a flush waits for every
    // generation up to its own to empty.
    std::uint64_t generation_ = 0;
    std::map<std::uint64_t, std::size_t> outstanding_;
    /// Records accepted and not yet completed (the sum over outstanding_), for records-queued: the
    /// producer is its only writer, so the gauge is stored (a plain store), never added to.
    std::int64_t records_pending_ = 0;
    struct flush_waiter {
        std::uint64_t generation;
        completion<flush_signature> done;
        std::shared_ptr<net::steady_timer> timer;
    };
    std::list<flush_waiter> flush_waiters_;
    std::uint64_t next_cancel_id_ = 0;  // cancellable sends get ids from 1

    // --- transactions (transactions.cpp): only with transactional.id ---
    /// Runs the machine: hands out a finished call's result, sends what it asks for.
    void txn_pump();
    void txn_step(transaction_machine::next_step n);
    /// The machine's producer id or epoch changed (init, a v2 EndTxn, a bump): sequences restart.
    void txn_adopt_producer_id();
    /// An abort: records not yet sent fail with txn_errc::aborted (those in flight run their course).
    void txn_drop_unsent();
    /// Finds a coordinator (key type 1: the transactional id; 0: the offsets' group).
    void txn_find_coordinator(std::int8_t key_type, std::string key);
    /// The connection to the transaction (or group) coordinator, or nullptr (the machine is told).
    std::shared_ptr<broker_connection> txn_connection(bool group);
    std::unique_ptr<transaction_machine> txn_;
    std::vector<completion<flush_signature>> txn_waiters_;
    std::shared_ptr<net::steady_timer> txn_timer_;
    int txn_attempts_ = 0;                 // failed attempts in a row: the backoff grows with them
    std::int32_t txn_coordinator_ = -1;
    std::int32_t group_coordinator_ = -1;
    bool txn_pumping_ = false;
    bool txn_flushing_ = false;            // a commit's internal flush is out
};

}  // namespace kwire::client::detail

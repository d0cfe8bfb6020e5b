// Kafka's idempotent-producer rules for one partition, without I/O: what a broker's leader does
// with a client's batch that carries a producer id, as Apache Kafka's storage layer decides it.
// Sources (apache/kafka, storage/src/main/java/org/apache/kafka/storage/internals/log/ unless
// noted): ProducerStateEntry, BatchMetadata, ProducerAppendInfo (checkProducerEpoch,
// checkSequence, inSequence), UnifiedLog.analyzeAndValidateProducerState (core's UnifiedLog.scala
// before its move to Java), DefaultRecordBatch.incrementSequence / decrementSequence.
//
// State, per producer id: the epoch of its last appended batch, and the metadata of its last 5
// batches of that epoch (first/last sequence, first/last offset, max timestamp), oldest first
// (ProducerStateEntry.NUM_BATCHES_TO_RETAIN; a 6th pushes the oldest out). A producer id the
// table has never seen has no entry: no epoch (-1) and no batches.
//
// check(pid, epoch, first_seq, last_seq), in Kafka's order:
//  1. duplicate (findDuplicateBatch, checked before anything else, only for client appends):
//     epoch == the entry's epoch and (first_seq, last_seq) equal to one of the retained batches.
//     Not appended; Kafka answers NONE with that batch's first offset, and its max timestamp as
//     the log append time (UnifiedLog: appendInfo.setLogAppendTime(duplicate.timestamp)).
//     Brokers before 1.0 answered DUPLICATE_SEQUENCE_NUMBER (46) instead: the caller's choice.
//  2. epoch < the entry's epoch: INVALID_PRODUCER_EPOCH (47) (checkProducerEpoch; since 2.7 a
//     client's produce gets InvalidProducerEpoch, not ProducerFenced).
//  3. epoch > the entry's epoch (a bump): first_seq must be 0, else OUT_OF_ORDER_SEQUENCE_NUMBER
//     (45) -- unless the entry has no epoch: an unknown producer may start anywhere.
//  4. epoch == the entry's epoch: first_seq must follow the last batch's last sequence
//     (last + 1, or 0 after INT32_MAX), else 45 -- again unless the entry has no epoch.
// The unknown-producer rule (KIP-360; "if there is no current producer epoch ... accept writes
// with any sequence number") is why a later batch of a partition that reaches the broker before
// the first is stored: the broker cannot tell it from a producer whose state was deleted.
//
// commit(...) records an appended batch: a different epoch first drops the retained batches
// (maybeUpdateProducerEpoch), then the batch joins the window.
//
// end_marker(...) applies a transaction marker: its epoch becomes the producer's (a new one
// drops the retained batches). Left out, as the client under test is not a follower:
// currentTxnFirstOffset and coordinator epochs (the coordinator's rules, KIP-890 verification,
// are support_txn_coordinator's), producer-id expiry, and the state's removal by retention or
// DeleteRecords.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>

namespace kwire::test {

namespace kafka_error {
inline constexpr std::int16_t none = 0;
inline constexpr std::int16_t out_of_order_sequence = 45;
inline constexpr std::int16_t duplicate_sequence = 46;
inline constexpr std::int16_t invalid_producer_epoch = 47;
}  // namespace kafka_error

/// What Kafka keeps of one appended batch (BatchMetadata).
struct retained_batch {
    std::int32_t first_seq = 0;
    std::int32_t last_seq = 0;
    std::int64_t first_offset = 0;
    std::int64_t last_offset = 0;
    std::int64_t max_timestamp = -1;
};

/// A producer id's state on one partition (ProducerStateEntry, data batches only).
struct producer_entry {
    std::int16_t epoch = -1;
    std::deque<retained_batch> batches;  ///< this epoch's last batches, oldest first, at most 5
};

/// The decision about one batch.
struct produce_verdict {
    std::int16_t error = kafka_error::none;
    /// The batch is a retained one again: do not append; answer with `original`.
    std::optional<retained_batch> duplicate_of;

    bool append() const { return error == kafka_error::none && !duplicate_of; }
};

class producer_state_table {
public:
    static constexpr std::size_t batches_retained = 5;

    /// The last sequence of a batch of `record_count` records from `first_seq`, wrapping past
    /// INT32_MAX to 0 (DefaultRecordBatch.incrementSequence(first_seq, record_count - 1)).
    static std::int32_t last_sequence(std::int32_t first_seq, std::int32_t record_count);
    /// Whether `next` may follow `last` (ProducerAppendInfo.inSequence).
    static bool in_sequence(std::int32_t last, std::int32_t next);

    /// The verdict for a client's batch; changes nothing.
    produce_verdict check(std::int64_t producer_id, std::int16_t epoch, std::int32_t first_seq,
                          std::int32_t last_seq) const;
    /// Records a batch appended at offsets [first_offset, last_offset].
    void commit(std::int64_t producer_id, std::int16_t epoch, const retained_batch& batch);
    /// A transaction marker of the producer at `epoch` (ProducerAppendInfo.appendEndTxnMarker):
    /// a new epoch (transactions v2 bump it with every marker) forgets the retained batches, so
    /// the producer's next batch starts at sequence 0.
    void end_marker(std::int64_t producer_id, std::int16_t epoch);

    /// The producer's entry, if the partition has seen it.
    const producer_entry* find(std::int64_t producer_id) const;

private:
    std::map<std::int64_t, producer_entry> entries_;
};

}  // namespace kwire::test

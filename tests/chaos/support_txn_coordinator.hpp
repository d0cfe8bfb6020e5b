// Kafka's transaction coordinator rules, without I/O: what a broker's TransactionCoordinator does
// with InitProducerId (with a transactional id), AddPartitionsToTxn, AddOffsetsToTxn and EndTxn,
// for transactions v1 (KIP-98) and v2 (KIP-890), as Apache Kafka decides them. Sources
// (apache/kafka, core/src/main/scala/kafka/coordinator/transaction/): TransactionCoordinator
// (handleInitProducerId, handleAddPartitionsToTransaction, endTransaction), TransactionMetadata
// (prepareIncrementProducerEpoch, isEpochExhausted, the state transitions). librdkafka's mock
// has a coordinator but speaks neither v2 nor KIP-360's bump; this one serves the rules cluster.
//
// Per transactional id: producer id, epoch, the epoch before the last bump (v2 retries), state
// (empty, ongoing, complete_commit, complete_abort; the coordinator here writes markers at once,
// so the prepare states never last past a request), the partitions and groups of the open
// transaction.
//
// InitProducerId(id, pid, epoch):
//  - unknown id: a new producer id, epoch 0;
//  - an ongoing transaction: it is aborted, fencing its producer (the epoch is bumped and abort
//    markers written with it), and the answer is CONCURRENT_TRANSACTIONS (51): the caller tries
//    again and then gets the next epoch (Kafka aborts asynchronously; a retry finds it done);
//  - a request naming a producer (KIP-360, pid >= 0): it must be this id's producer at the
//    current epoch (or, for v2, the epoch before the last bump), else PRODUCER_FENCED (90);
//  - otherwise the epoch is bumped; an exhausted epoch (>= 32766) gives a new producer id.
// AddPartitionsToTxn / AddOffsetsToTxn(id, pid, epoch, ...): unknown id or another producer id:
// INVALID_PRODUCER_ID_MAPPING (49); another epoch: PRODUCER_FENCED (90); otherwise the
// partitions (the group) join and the state is ongoing.
// EndTxn(id, pid, epoch, commit):
//  - unknown id or another producer id: INVALID_PRODUCER_ID_MAPPING;
//  - v1: another epoch: PRODUCER_FENCED. Ongoing: markers (at the current epoch) on every
//    partition, complete. Complete with the same outcome: NONE (a retry). Complete with the
//    other outcome, or empty: INVALID_TXN_STATE (48).
//  - v2: a retry -- the epoch before the last bump, and the transaction it ended completed with
//    the same outcome -- answers NONE with the current producer id and epoch. Any other epoch
//    but the current: PRODUCER_FENCED (so an EndTxn of an earlier transaction, delayed, never
//    ends a later one). Ongoing: the epoch is bumped, markers written with the new epoch,
//    complete; the answer carries the new producer id and epoch. An abort of an empty
//    transaction bumps the epoch too (the client cannot know whether Produce added anything).
//  - ongoing with the other outcome already prepared: not reachable here (markers are at once).
// A transaction that outlives transaction.timeout.ms (time_out): the coordinator fences its
// producer as InitProducerId does for an open transaction -- the epoch bumped, with no epoch
// "before" it to accept (TransactionMetadata.prepareFenceProducerEpoch sets lastProducerEpoch to
// -1), abort markers at the new epoch -- so that the producer's next batch is refused
// INVALID_PRODUCER_EPOCH by the partition, its EndTxn and InitProducerId PRODUCER_FENCED.
// Produce of a transactional batch: v1 (Produce < v12) needs its partition in the ongoing
// transaction at the batch's epoch (KIP-890 part 1's verification; INVALID_TXN_STATE
// otherwise); v2 adds the partition itself.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kwire::test {

namespace txn_error {
inline constexpr std::int16_t none = 0;
inline constexpr std::int16_t not_coordinator = 16;
inline constexpr std::int16_t invalid_txn_state = 48;
inline constexpr std::int16_t invalid_producer_id_mapping = 49;
inline constexpr std::int16_t concurrent_transactions = 51;
inline constexpr std::int16_t producer_fenced = 90;
}  // namespace txn_error

enum class txn_state { empty, ongoing, complete_commit, complete_abort };

using txn_partition = std::pair<std::string, int>;

struct txn_entry {
    std::int64_t producer_id = -1;
    std::int16_t epoch = -1;
    std::int16_t previous_epoch = -1;  ///< v2: the epoch before the last EndTxn's bump
    txn_state state = txn_state::empty;
    bool v2 = false;                   ///< the last EndTxn (or the open transaction) spoke v2
    std::set<txn_partition> partitions;
    std::set<std::string> groups;
};

/// Markers to write: on each partition, for the producer, with this epoch.
struct txn_markers {
    std::vector<txn_partition> partitions;
    std::set<std::string> groups;
    std::int64_t producer_id = -1;
    std::int16_t epoch = -1;
    bool commit = false;
};

struct txn_answer {
    std::int16_t error = txn_error::none;
    std::int64_t producer_id = -1;
    std::int16_t epoch = -1;
    std::optional<txn_markers> markers;  ///< written before the answer
};

class txn_coordinator_rules {
public:
    static constexpr std::int16_t exhausted_epoch = 32766;  // Short.MaxValue - 1

    txn_answer init_producer_id(const std::string& id, std::int64_t pid, std::int16_t epoch);
    std::int16_t add_partitions(const std::string& id, std::int64_t pid, std::int16_t epoch,
                                const std::vector<txn_partition>& partitions);
    std::int16_t add_offsets(const std::string& id, std::int64_t pid, std::int16_t epoch, const std::string& group);
    txn_answer end_txn(const std::string& id, std::int64_t pid, std::int16_t epoch, bool commit, bool v2);
    /// The open transaction of `id` timed out: NONE and the abort markers, or
    /// INVALID_TXN_STATE when no transaction is open.
    txn_answer time_out(const std::string& id);
    /// A transactional batch of `pid`/`epoch` for `p` (Produce `v2` or not): NONE if it may be
    /// appended (v2 adds `p` to the transaction first).
    std::int16_t produce(std::int64_t pid, std::int16_t epoch, const txn_partition& p, bool v2);

    const txn_entry* find(const std::string& id) const;
    /// The transactional id whose current producer is `pid`, if any.
    std::optional<std::string> id_of(std::int64_t pid) const;

private:
    /// Checks pid/epoch of an add; NONE or the error.
    std::int16_t check_add(const txn_entry* e, std::int64_t pid, std::int16_t epoch) const;
    void bump(txn_entry& e);

    std::map<std::string, txn_entry> entries_;
    std::int64_t next_producer_id_ = 5000;
};

}  // namespace kwire::test

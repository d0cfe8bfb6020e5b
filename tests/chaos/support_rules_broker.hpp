// An in-test Kafka cluster whose Produce and InitProducerId follow a real broker's rules for
// idempotent producers (support_producer_state.hpp), built on the scripted cluster
// (tests/admin/scripted_broker.hpp) and its log (scripted_log.hpp, which serves Fetch and
// ListOffsets from what Produce stored). librdkafka's mock stores idempotent batches without
// checking their sequences; this peer rejects, deduplicates and answers as Kafka does, so a
// client that reorders or duplicates records within a partition is caught.
//
// Produce, per partition of the request, each on its own (a rejected partition does not affect
// the others), in KafkaApis' and ReplicaManager's order:
//  - unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION (3) (v13, by topic id: UNKNOWN_TOPIC_ID);
//  - not exactly one RecordBatch v2 (ProduceRequest.validateRecords), a control batch, or a
//    producer id with a negative base sequence (LogValidator): INVALID_RECORD (87); a bad CRC:
//    CORRUPT_MESSAGE (2);
//  - this broker is not the partition's leader: NOT_LEADER_OR_FOLLOWER (6);
//  - a batch with a producer id goes through the partition's producer_state_table: appended,
//    or a duplicate answered with the original batch's offset (or DUPLICATE_SEQUENCE_NUMBER,
//    set_duplicate_answer_error), or OUT_OF_ORDER_SEQUENCE_NUMBER / INVALID_PRODUCER_EPOCH;
//    a batch without one is appended as it is.
// An appended partition answers its base offset, log append time -1 (CreateTime topics) and log
// start offset 0; a duplicate its original's first offset and, as Kafka does, that batch's max
// timestamp as the log append time; an error base offset, log append time and log start -1
// (LogAppendInfo.UNKNOWN_LOG_APPEND_INFO). acks=1 and acks=all behave alike (one replica);
// acks=0 gets no answer, and the connection is closed if any partition failed (KafkaApis).
// KIP-951's current-leader hint in NOT_LEADER_OR_FOLLOWER answers is not given: clients find
// the new leader through Metadata.
//
// The producer state of a partition belongs to the partition, not to a broker: after set_leader
// the new leader knows every producer the old one did, as a fully replicated follower does.
//
// InitProducerId without a transactional id answers a fresh producer id with epoch 0, whatever
// id and epoch the request carries (TransactionCoordinator.handleInitProducerId); an empty one
// gets INVALID_REQUEST, as from Kafka.
//
// Transactions (support_rules_txn.cpp) follow Kafka's coordinator (support_txn_coordinator.hpp):
// FindCoordinator with key type 1 names the transaction coordinator (broker 1 until
// move_txn_coordinator; the others answer NOT_COORDINATOR), which answers InitProducerId with a
// transactional id, AddPartitionsToTxn (v0-3), AddOffsetsToTxn, EndTxn and -- for the groups
// -- TxnOffsetCommit (offsets held per producer until the marker, then committed or dropped;
// committed_offsets shows them). Markers go into the log (scripted_log::end_transaction) and
// into the partitions' producer states. A transactional batch is checked by the coordinator
// first (v1: its partition must have been added). enable_transactions_v2() finalizes
// transaction.version 2 and offers EndTxn v5 and TxnOffsetCommit v5; Produce v12+ then adds
// partitions implicitly.
//
// Threads: each connection is served on its own thread; requests are applied one at a time
// under one lock, so every answer reflects the log as it was when that request was applied.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kwire/protocol/messages/produce.hpp"
#include "scripted_broker.hpp"
#include "scripted_group.hpp"
#include "scripted_log.hpp"
#include "support_producer_state.hpp"
#include "support_txn_coordinator.hpp"

namespace kwire::test {

/// One batch as the broker stored it.
struct rules_batch {
    std::int64_t base_offset = 0;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::vector<std::optional<std::string>> keys;    ///< record i sits at base_offset + i
    std::vector<std::optional<std::string>> values;  ///< (decompressed, whatever the codec)
};

struct rules_counters {
    std::int64_t appended_batches = 0, duplicates = 0, out_of_order = 0, invalid_epoch = 0, not_leader = 0,
                 produce_requests = 0, init_producer_ids = 0, invalid_records = 0;
};

enum class produce_fault {
    none,
    close_before_apply,  ///< close the connection; the request is not applied
    close_after_apply,   ///< apply the request, then close the connection without answering
};

class rules_cluster {
public:
    explicit rules_cluster(int brokers = 3);
    rules_cluster(const rules_cluster&) = delete;
    rules_cluster& operator=(const rules_cluster&) = delete;

    /// The brokers: bootstrap(), addresses(), requests(), on(...) for the other APIs.
    scripted_cluster& cluster() { return cluster_; }
    /// The stored data (Fetch, ListOffsets, raw batches).
    scripted_log& data() { return *log_; }

    /// Adds a topic; partition p's leader is broker p % brokers + 1 until set_leader moves it.
    void add_topic(const std::string& name, int partitions) { cluster_.add_topic(name, partitions); }
    /// Moves leadership: Metadata names `node`, and the old leader answers Produce, Fetch and
    /// ListOffsets for the partition with NOT_LEADER_OR_FOLLOWER.
    void set_leader(const std::string& topic, int partition, int node) { cluster_.set_leader(topic, partition, node); }

    /// Called on the broker's thread for every Produce before it is handled. It may block (on a
    /// latch the test releases; release it before the cluster is destroyed, which waits for
    /// every connection's thread). Set it before producing: it is read without a lock.
    std::function<produce_fault(const scripted_request&)> produce_hook;

    /// The partition's batches, oldest first, records decoded.
    std::vector<rules_batch> log(const std::string& topic, int partition) const;
    rules_counters counters() const;
    /// Answer a duplicate with DUPLICATE_SEQUENCE_NUMBER (46), as brokers before 1.0 did,
    /// instead of NONE and the original offset.
    void set_duplicate_answer_error(bool answer_46);

    // --- transactions ---
    /// Transactions v2 (KIP-890): ApiVersions finalizes transaction.version 2.
    void enable_transactions_v2();
    /// Moves the transaction coordinator to broker `node` (the old one answers NOT_COORDINATOR).
    void move_txn_coordinator(int node);
    /// The coordinator times out the open transaction of `id` (transaction.timeout.ms passed):
    /// its producer is fenced and the transaction aborted. False when none was open.
    bool time_out_transaction(const std::string& id);
    /// A consumer group member the group coordinator knows, for TxnOffsetCommit's generation
    /// check (KIP-447): other members or generations get UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION.
    void set_group_member(const std::string& group, const std::string& member, int generation);
    /// Serves consumer groups (see the header comment): membership by scripted_group's classic
    /// coordinator, offsets with KIP-447's rules. Call before clients connect.
    std::shared_ptr<scripted_group> serve_groups();
    /// The group's offsets committed by transactions (topic, partition -> offset).
    std::map<std::pair<std::string, int>, std::int64_t> committed_offsets(const std::string& group) const;
    /// The coordinator's state of a transactional id (nullopt: unknown).
    std::optional<txn_entry> transaction(const std::string& id) const;
    /// Called once with every AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit
    /// before it is handled; its fault applies as produce_hook's does (set it before the client
    /// starts).
    std::function<produce_fault(const scripted_request&)> txn_hook;

private:
    using response = std::optional<std::vector<std::uint8_t>>;
    response produce(const scripted_request& req);
    response init_producer_id(const scripted_request& req);
    /// Applies one partition's records (lock held): the partition's answer.
    void apply(const std::string& topic, int partition, const scripted_request& req, std::optional<kp::bytes_view> records,
               kp::ProduceResponse::PartitionProduceResponse& out);
    // transactions (support_rules_txn.cpp)
    void serve_transactions();
    response find_coordinator(const scripted_request& req);
    response init_transactional_id(const scripted_request& req, const std::string& id);
    response add_partitions(const scripted_request& req);
    response add_offsets(const scripted_request& req);
    response end_txn(const scripted_request& req);
    response txn_offset_commit(const scripted_request& req);
    // groups (support_rules_groups.cpp)
    response offset_fetch(const scripted_request& req);
    /// TxnOffsetCommit's membership check (KIP-447; lock held): NONE or the error.
    std::int16_t check_group_member(const std::string& group, const std::string& member, std::int32_t generation,
                                    const std::optional<std::string>& instance, std::int16_t version) const;
    /// Writes markers into the log and the producer states, and settles the groups' offsets (lock held).
    void write_markers(const txn_markers& m);
    /// A transactional batch's verdict (lock held): NONE or the error.
    std::int16_t check_transactional(const std::string& topic, int partition, std::int64_t pid, std::int16_t epoch,
                                     std::int16_t produce_version);

    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, producer_state_table> states_;
    rules_counters counters_;
    bool answer_46_ = false;
    std::int64_t next_producer_id_ = 1000;
    txn_coordinator_rules txns_;
    int txn_coordinator_ = 1;
    bool transactions_v2_ = false;
    std::map<std::string, std::pair<std::string, int>> group_members_;
    std::shared_ptr<scripted_group> groups_;  // serve_groups
    std::map<std::string, std::map<std::pair<std::string, int>, std::int64_t>> committed_offsets_;
    // (group, producer id) -> offsets waiting for the transaction's marker
    std::map<std::pair<std::string, std::int64_t>, std::map<std::pair<std::string, int>, std::int64_t>> pending_offsets_;
    std::shared_ptr<scripted_log> log_;
    // Last: destroyed first, so its threads are joined before anything they use goes away.
    scripted_cluster cluster_;
};

}  // namespace kwire::test

// The transactional producer's protocol decisions, without I/O (KIP-98, KIP-360, KIP-447,
// KIP-890, error classes per KIP-1050). The producer feeds it the application's calls and the
// coordinators' answers, asks it what to send next, and sends that; the machine never waits,
// reads a clock or touches a socket, so every path is a unit test (transaction_machine_test).
//
// States, as the Java client's TransactionManager names them:
//   uninitialized --init--> initializing --InitProducerId--> ready --begin--> in_transaction
//   in_transaction --commit--> committing --EndTxn(commit)--> ready
//   in_transaction | abortable_error --abort--> aborting --EndTxn(abort)[, bump]--> ready
//   in_transaction | committing --a record or call fails--> abortable_error
//   anything --fenced, unauthorized, a broken invariant--> fatal_error (for good)
//
// Transactions v1 (KIP-98): a partition joins the transaction by AddPartitionsToTxn before any
// of its records is sent (may_send says when); offsets join by AddOffsetsToTxn, then
// TxnOffsetCommit goes to the group's coordinator. After an abort caused by a lost producer id or
// a sequence gap, InitProducerId with the current id and epoch bumps the epoch (KIP-360).
// Transactions v2 (KIP-890, when the broker finalizes transaction.version >= 2): Produce adds a
// partition and TxnOffsetCommit adds a group implicitly, and every EndTxn answers with the next
// epoch (or a new producer id), which the next transaction uses -- so an EndTxn of an earlier
// transaction, retried late, carries an epoch the coordinator has already moved past.
//
// An EndTxn whose answer is lost (a dead connection, a timeout) is sent again, unchanged, until
// it is answered: the coordinator recognizes the retry, and the next transaction cannot begin
// before the outcome is known.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "kwire/protocol/messages/add_offsets_to_txn.hpp"
#include "kwire/protocol/messages/add_partitions_to_txn.hpp"
#include "kwire/protocol/messages/end_txn.hpp"
#include "kwire/protocol/messages/init_producer_id.hpp"
#include "kwire/protocol/messages/txn_offset_commit.hpp"

namespace kwire::client::detail {

class transaction_machine {
public:
    enum class state : std::uint8_t {
        uninitialized,
        initializing,
        ready,
        in_transaction,
        committing,
        aborting,
        abortable_error,
        fatal_error,
    };
    /// The application call waiting for the machine (at most one at a time).
    enum class operation : std::uint8_t { none, init, send_offsets, commit, abort };
    /// What the producer must do next.
    enum class step : std::uint8_t {
        idle,                    ///< nothing now (waiting for records, an answer, or a call)
        find_coordinator,        ///< FindCoordinator, key type 1 (the transactional id), then on_coordinator
        find_group_coordinator,  ///< FindCoordinator, key type 0 (the offsets' group), then on_group_coordinator
        init_producer_id,        ///< init_producer_id_request() to the transaction coordinator
        add_partitions,          ///< add_partitions_request() to the transaction coordinator (v1)
        add_offsets,             ///< add_offsets_request() to the transaction coordinator (v1)
        txn_offset_commit,       ///< txn_offset_commit_request() to the group coordinator
        end_txn,                 ///< end_txn_request() to the transaction coordinator
    };
    struct next_step {
        step what = step::idle;
        bool after_backoff = false;  ///< the last attempt failed retriably: wait retry.backoff first
    };
    struct partition {
        std::string topic;
        std::int32_t index = 0;
        friend auto operator<=>(const partition&, const partition&) = default;
    };
    struct options {
        std::string transactional_id;
        std::chrono::milliseconds transaction_timeout{60000};
    };

    explicit transaction_machine(options o) : opt_(std::move(o)) {}

    state current() const noexcept { return state_; }
    /// Counts begin() calls: the producer marks per partition which transaction it joined.
    std::uint64_t transaction_number() const noexcept { return transaction_number_; }
    std::int64_t producer_id() const noexcept { return producer_id_; }
    std::int16_t producer_epoch() const noexcept { return producer_epoch_; }
    const std::string& transactional_id() const noexcept { return opt_.transactional_id; }
    /// Transactions v2 (KIP-890): decided from the coordinator's ApiVersions (transaction.version
    /// finalized >= 2, EndTxn v5 and Produce v12 offered), before the first transaction.
    bool v2() const noexcept { return v2_; }
    void use_v2(bool on) noexcept { v2_ = on; }
    /// The error that put the machine in fatal_error (or abortable_error), if any.
    std::error_code error() const noexcept { return error_; }

    // --- the application's calls: an error at once, or {} and the operation runs -------------
    std::error_code init();
    std::error_code begin();
    /// Whether a record may be sent now (a transaction is open and has not failed).
    std::error_code check_send() const;
    /// A record for `p` is being appended (it was accepted by check_send, perhaps before its
    /// topic's metadata came): `p` joins the transaction (v1: AddPartitionsToTxn before its
    /// records go out). Also while the commit waits for that record.
    void add_partition(const partition& p);
    /// check_send, then add_partition.
    std::error_code send(const partition& p);
    /// Offsets to commit with the transaction: the request without the producer's fields
    /// (group id, generation, member id, instance id and the offsets, as the consumer gives them).
    std::error_code send_offsets(protocol::TxnOffsetCommitRequest offsets);
    std::error_code commit();
    std::error_code abort();

    // --- the producer's reports ---------------------------------------------------------------
    /// Whether records of `p` may go out now (v1: once AddPartitionsToTxn added it).
    bool may_send(const partition& p) const { return v2_ || added_.count(p) != 0; }
    /// A record of the open transaction failed for good (or a produce error fenced the producer).
    void record_failed(std::error_code cause, bool needs_epoch_bump);

    // --- what to send, and the answers --------------------------------------------------------
    /// The next thing to do; `records_outstanding`: records of this transaction not yet
    /// acknowledged or failed (a commit or an abort waits for them). A step other than idle is
    /// in flight until its answer (or its failure) is reported.
    next_step next(bool records_outstanding);
    protocol::InitProducerIdRequest init_producer_id_request() const;
    protocol::AddPartitionsToTxnRequest add_partitions_request() const;
    protocol::AddOffsetsToTxnRequest add_offsets_request() const;
    protocol::TxnOffsetCommitRequest txn_offset_commit_request() const;
    protocol::EndTxnRequest end_txn_request() const;
    /// The group whose coordinator find_group_coordinator looks for.
    const std::string& offsets_group() const noexcept { return offsets_.group_id; }

    void on_coordinator(std::error_code ec);
    void on_group_coordinator(std::error_code ec);
    /// `transport`: the request failed without an answer (connection lost, timed out).
    void on_init_producer_id(std::error_code transport, const protocol::InitProducerIdResponse& r);
    void on_add_partitions(std::error_code transport, const protocol::AddPartitionsToTxnResponse& r, std::int16_t version);
    void on_add_offsets(std::error_code transport, const protocol::AddOffsetsToTxnResponse& r);
    void on_txn_offset_commit(std::error_code transport, const protocol::TxnOffsetCommitResponse& r);
    void on_end_txn(std::error_code transport, const protocol::EndTxnResponse& r);

    /// The application call that has finished, with its result; once.
    std::optional<std::pair<operation, std::error_code>> take_result();
    operation pending() const noexcept { return op_; }

private:
    /// A coordinator request with this producer's transactional id, producer id and epoch.
    template <class Req> Req stamped(Req req) const {
        req.transactional_id = opt_.transactional_id;
        req.producer_id = producer_id_;
        req.producer_epoch = producer_epoch_;
        return req;
    }
    enum class answer : std::uint8_t { ok, retry, rediscover, abortable, fatal };
    static answer judge(std::int16_t error, bool group_request);
    /// Applies a failed answer; returns true if the caller must stop handling the response.
    bool fail(answer a, std::error_code cause, bool group_coordinator);
    void finish(std::error_code ec);
    void to_abortable(std::error_code cause);
    void to_fatal(std::error_code cause);
    void enter_ready();
    std::error_code usable() const;
    /// Whether the coordinator may hold something of this transaction, so that only an EndTxn
    /// ends it (v1: a partition or the offsets' group was added; v2: anything was sent).
    bool started() const noexcept { return v2_ ? started_ : !added_.empty() || !adding_.empty() || offsets_added_; }

    options opt_;
    state state_ = state::uninitialized;
    operation op_ = operation::none;
    std::optional<std::pair<operation, std::error_code>> result_;
    std::error_code error_;
    std::int64_t producer_id_ = -1;
    std::int16_t producer_epoch_ = -1;
    bool v2_ = false;
    std::uint64_t transaction_number_ = 0;

    bool coordinator_known_ = false;
    bool group_coordinator_known_ = false;
    step in_flight_ = step::idle;
    bool backoff_ = false;

    // this transaction
    bool started_ = false;           // v2: a record or offsets were sent (see started())
    std::set<partition> pending_;    // to add (v1)
    std::set<partition> adding_;     // in an AddPartitionsToTxn in flight
    std::set<partition> added_;      // in the transaction
    protocol::TxnOffsetCommitRequest offsets_;
    bool offsets_added_ = false;     // AddOffsetsToTxn answered (v1), or not needed (v2)
    bool bump_after_abort_ = false;  // KIP-360: the abort is followed by an epoch bump (v1)
    bool bumping_ = false;           // the InitProducerId in progress is that bump
};

}  // namespace kwire::client::detail

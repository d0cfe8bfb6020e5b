// The transactional producer's protocol decisions without I/O (client/producer/transaction_machine):
// the v1 and v2 flows, retries and coordinator moves, an EndTxn whose answer was lost, KIP-360
// bumps, KIP-447 offsets, and the error classes (KIP-1050) a caller tests.
#include <gtest/gtest.h>

#include "kwire/client/error.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/protocol/error.hpp"
#include "producer/transaction_machine.hpp"

namespace {

using kwire::kafka_errc;
using kwire::client::client_errc;
using kwire::client::txn_errc;
using kwire::client::txn_error_class;
using kwire::client::detail::transaction_machine;
using step = transaction_machine::step;
using op = transaction_machine::operation;
using st = transaction_machine::state;
namespace kp = kwire::protocol;

constexpr std::int16_t code(kafka_errc e) { return static_cast<std::int16_t>(e); }

transaction_machine make() { return transaction_machine({.transactional_id = "tx-1", .transaction_timeout = std::chrono::seconds(30)}); }

kp::InitProducerIdResponse pid(std::int64_t id, std::int16_t epoch, std::int16_t error = 0) {
    kp::InitProducerIdResponse r;
    r.error_code = error;
    r.producer_id = id;
    r.producer_epoch = epoch;
    return r;
}

kp::EndTxnResponse end_answer(std::int16_t error = 0, std::int64_t id = -1, std::int16_t epoch = -1) {
    kp::EndTxnResponse r;
    r.error_code = error;
    r.producer_id = id;
    r.producer_epoch = epoch;
    return r;
}

/// Answers AddPartitionsToTxn (v3) with `error_for(topic, partition)` for each partition asked.
template <class F> kp::AddPartitionsToTxnResponse add_answer(const kp::AddPartitionsToTxnRequest& req, F error_for) {
    kp::AddPartitionsToTxnResponse r;
    for (const auto& t : req.v3_and_below_topics) {
        auto& rt = r.results_by_topic_v3_and_below.emplace_back();
        rt.name = t.name;
        for (auto p : t.partitions) {
            auto& rp = rt.results_by_partition.emplace_back();
            rp.partition_index = p;
            rp.partition_error_code = error_for(t.name, p);
        }
    }
    return r;
}

/// Drives init to ready with producer id 7, epoch 0.
void initialize(transaction_machine& m) {
    ASSERT_FALSE(m.init());
    ASSERT_EQ(m.next(false).what, step::find_coordinator);
    m.on_coordinator({});
    ASSERT_EQ(m.next(false).what, step::init_producer_id);
    m.on_init_producer_id({}, pid(7, 0));
    auto r = m.take_result();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->first, op::init);
    ASSERT_FALSE(r->second);
    ASSERT_EQ(m.current(), st::ready);
}

/// Adds every pending partition successfully.
void add_all(transaction_machine& m, bool records = true) {
    ASSERT_EQ(m.next(records).what, step::add_partitions);
    const auto req = m.add_partitions_request();
    m.on_add_partitions({}, add_answer(req, [](const std::string&, std::int32_t) { return std::int16_t{0}; }), 3);
}

/// A machine with a transaction open whose partition t-0 has joined.
transaction_machine in_transaction() {
    auto m = make();
    initialize(m);
    EXPECT_FALSE(m.begin());
    m.send({"t", 0});
    add_all(m);
    return m;
}

std::error_code result_of(transaction_machine& m, op which) {
    auto r = m.take_result();
    EXPECT_TRUE(r) << "no result";
    if (!r) return make_error_code(std::errc::io_error);
    EXPECT_EQ(r->first, which);
    return r->second;
}

TEST(TransactionMachine, InitFindsTheCoordinatorThenGetsAProducerIdForTheTransactionalId) {
    auto m = make();
    ASSERT_FALSE(m.init());
    EXPECT_EQ(m.current(), st::initializing);
    EXPECT_EQ(m.next(false).what, step::find_coordinator);
    EXPECT_EQ(m.next(false).what, step::idle) << "one request at a time";
    m.on_coordinator({});
    EXPECT_EQ(m.next(false).what, step::init_producer_id);
    const auto req = m.init_producer_id_request();
    EXPECT_EQ(req.transactional_id, "tx-1");
    EXPECT_EQ(req.transaction_timeout_ms, 30000);
    EXPECT_EQ(req.producer_id, -1);
    EXPECT_EQ(req.producer_epoch, -1);
    m.on_init_producer_id({}, pid(7, 3));
    EXPECT_FALSE(result_of(m, op::init));
    EXPECT_EQ(m.producer_id(), 7);
    EXPECT_EQ(m.producer_epoch(), 3);
    EXPECT_EQ(m.current(), st::ready);
}

TEST(TransactionMachine, InitRetriesLoadingAndBusyCoordinatorsAndFindsAMovedOne) {
    auto m = make();
    ASSERT_FALSE(m.init());
    m.next(false);
    m.on_coordinator({});
    ASSERT_EQ(m.next(false).what, step::init_producer_id);
    m.on_init_producer_id({}, pid(-1, -1, code(kafka_errc::coordinator_load_in_progress)));
    auto n = m.next(false);
    EXPECT_EQ(n.what, step::init_producer_id);
    EXPECT_TRUE(n.after_backoff);
    m.on_init_producer_id({}, pid(-1, -1, code(kafka_errc::concurrent_transactions)));
    EXPECT_EQ(m.next(false).what, step::init_producer_id);
    m.on_init_producer_id({}, pid(-1, -1, code(kafka_errc::not_coordinator)));
    EXPECT_EQ(m.next(false).what, step::find_coordinator);
    m.on_coordinator({});
    ASSERT_EQ(m.next(false).what, step::init_producer_id);
    m.on_init_producer_id(make_error_code(client_errc::connection_closed), {});
    EXPECT_EQ(m.next(false).what, step::find_coordinator) << "a lost connection: the coordinator may have moved";
    m.on_coordinator({});
    m.next(false);
    m.on_init_producer_id({}, pid(7, 0));
    EXPECT_FALSE(result_of(m, op::init));
    EXPECT_FALSE(m.take_result()) << "a result is given once";
}

TEST(TransactionMachine, AFencedOrUnauthorizedInitIsFatalForEveryLaterCall) {
    auto m = make();
    ASSERT_FALSE(m.init());
    m.next(false);
    m.on_coordinator({});
    m.next(false);
    m.on_init_producer_id({}, pid(-1, -1, code(kafka_errc::transactional_id_authorization_failed)));
    const auto ec = result_of(m, op::init);
    EXPECT_EQ(ec, kafka_errc::transactional_id_authorization_failed);
    EXPECT_TRUE(ec == txn_error_class::fatal);
    EXPECT_FALSE(ec == txn_error_class::fenced);
    EXPECT_EQ(m.current(), st::fatal_error);
    EXPECT_EQ(m.begin(), kafka_errc::transactional_id_authorization_failed);
    EXPECT_EQ(m.init(), kafka_errc::transactional_id_authorization_failed);
    EXPECT_EQ(m.next(false).what, step::idle);
}

TEST(TransactionMachine, CallsOutOfOrderAreRefusedAndChangeNothing) {
    auto m = make();
    EXPECT_EQ(m.begin(), txn_errc::not_initialized);
    EXPECT_EQ(m.send({"t", 0}), txn_errc::not_initialized);
    EXPECT_EQ(m.commit(), txn_errc::not_initialized);
    initialize(m);
    EXPECT_EQ(m.send({"t", 0}), txn_errc::no_transaction);
    EXPECT_EQ(m.commit(), txn_errc::no_transaction);
    EXPECT_EQ(m.abort(), txn_errc::no_transaction);
    EXPECT_EQ(m.send_offsets({}), txn_errc::no_transaction);
    ASSERT_FALSE(m.begin());
    EXPECT_EQ(m.begin(), txn_errc::transaction_in_progress);
    EXPECT_EQ(m.init(), txn_errc::transaction_in_progress);
    EXPECT_EQ(m.current(), st::in_transaction);
    const auto misuse = make_error_code(txn_errc::no_transaction);
    EXPECT_FALSE(kwire::client::classify_transaction_error(misuse)) << "a misuse is in no class";
    EXPECT_FALSE(misuse == txn_error_class::abortable);
    EXPECT_FALSE(misuse == txn_error_class::fatal);
}

TEST(TransactionMachine, V1PartitionsJoinBeforeTheirRecordsGoAndTheCommitWaitsForTheRecords) {
    auto m = make();
    initialize(m);
    ASSERT_FALSE(m.begin());
    ASSERT_FALSE(m.send({"t", 0}));
    ASSERT_FALSE(m.send({"t", 1}));
    ASSERT_FALSE(m.send({"u", 0}));
    ASSERT_FALSE(m.send({"t", 0}));
    EXPECT_FALSE(m.may_send({"t", 0}));
    ASSERT_EQ(m.next(true).what, step::add_partitions);
    const auto req = m.add_partitions_request();
    EXPECT_EQ(req.v3_and_below_transactional_id, "tx-1");
    EXPECT_EQ(req.v3_and_below_producer_id, 7);
    ASSERT_EQ(req.v3_and_below_topics.size(), 2u);
    EXPECT_EQ(req.v3_and_below_topics[0].name, "t");
    EXPECT_EQ(req.v3_and_below_topics[0].partitions, (std::vector<std::int32_t>{0, 1}));
    EXPECT_EQ(req.v3_and_below_topics[1].name, "u");
    ASSERT_FALSE(m.send({"v", 2}));  // while the first add is in flight
    m.on_add_partitions({}, add_answer(req, [](const std::string&, std::int32_t) { return std::int16_t{0}; }), 3);
    EXPECT_TRUE(m.may_send({"t", 0}));
    EXPECT_TRUE(m.may_send({"u", 0}));
    EXPECT_FALSE(m.may_send({"v", 2}));
    ASSERT_FALSE(m.commit());
    ASSERT_EQ(m.next(true).what, step::add_partitions) << "a partition still to add goes first";
    m.on_add_partitions({}, add_answer(m.add_partitions_request(), [](const std::string&, std::int32_t) { return std::int16_t{0}; }), 3);
    EXPECT_EQ(m.next(true).what, step::idle) << "records not yet acknowledged";
    ASSERT_EQ(m.next(false).what, step::end_txn);
    const auto end = m.end_txn_request();
    EXPECT_TRUE(end.committed);
    EXPECT_EQ(end.producer_id, 7);
    EXPECT_EQ(end.producer_epoch, 0);
    m.on_end_txn({}, end_answer());
    EXPECT_FALSE(result_of(m, op::commit));
    EXPECT_EQ(m.current(), st::ready);
    ASSERT_FALSE(m.begin());
    EXPECT_FALSE(m.may_send({"t", 0})) << "each transaction adds its partitions anew";
}

TEST(TransactionMachine, RetriablePartitionsAreAskedAgainAndAddedOnesStay) {
    auto m = make();
    initialize(m);
    ASSERT_FALSE(m.begin());
    m.send({"t", 0});
    m.send({"t", 1});
    ASSERT_EQ(m.next(true).what, step::add_partitions);
    m.on_add_partitions({}, add_answer(m.add_partitions_request(), [](const std::string&, std::int32_t p) {
        return p == 1 ? code(kafka_errc::concurrent_transactions) : std::int16_t{0};
    }), 3);
    EXPECT_TRUE(m.may_send({"t", 0}));
    EXPECT_FALSE(m.may_send({"t", 1}));
    const auto n = m.next(true);
    ASSERT_EQ(n.what, step::add_partitions);
    EXPECT_TRUE(n.after_backoff);
    const auto again = m.add_partitions_request();
    ASSERT_EQ(again.v3_and_below_topics.size(), 1u);
    EXPECT_EQ(again.v3_and_below_topics[0].partitions, (std::vector<std::int32_t>{1}));
}

TEST(TransactionMachine, AnUnauthorizedTopicMakesTheTransactionAbortableAndAnEmptyAbortSendsNothing) {
    auto m = make();
    initialize(m);
    ASSERT_FALSE(m.begin());
    m.send({"secret", 0});
    m.send({"open", 0});
    ASSERT_EQ(m.next(true).what, step::add_partitions);
    m.on_add_partitions({}, add_answer(m.add_partitions_request(), [](const std::string& t, std::int32_t) {
        return t == "secret" ? code(kafka_errc::topic_authorization_failed) : code(kafka_errc::operation_not_attempted);
    }), 3);
    EXPECT_EQ(m.current(), st::abortable_error);
    const auto ec = m.commit();
    EXPECT_EQ(ec, kafka_errc::topic_authorization_failed) << "the commit names the cause";
    EXPECT_TRUE(ec == txn_error_class::abortable);
    EXPECT_EQ(m.send({"open", 1}), kafka_errc::topic_authorization_failed);
    ASSERT_FALSE(m.abort());
    EXPECT_EQ(m.next(false).what, step::idle);
    EXPECT_FALSE(result_of(m, op::abort)) << "nothing joined: no EndTxn";
    EXPECT_EQ(m.current(), st::ready);
}

TEST(TransactionMachine, AnEmptyTransactionCommitsWithoutARequest) {
    auto m = make();
    initialize(m);
    ASSERT_FALSE(m.begin());
    ASSERT_FALSE(m.commit());
    EXPECT_EQ(m.next(false).what, step::idle);
    EXPECT_FALSE(result_of(m, op::commit));
    EXPECT_EQ(m.current(), st::ready);
}

TEST(TransactionMachine, AFailedRecordFailsTheCommitAndTheAbortEndsTheTransaction) {
    auto m = in_transaction();
    ASSERT_FALSE(m.commit());
    EXPECT_EQ(m.next(true).what, step::idle);
    m.record_failed(make_error_code(client_errc::delivery_timed_out), false);
    const auto ec = result_of(m, op::commit);
    EXPECT_EQ(ec, client_errc::delivery_timed_out);
    EXPECT_TRUE(ec == txn_error_class::abortable);
    EXPECT_EQ(m.current(), st::abortable_error);
    EXPECT_EQ(m.commit(), client_errc::delivery_timed_out);
    ASSERT_FALSE(m.abort());
    EXPECT_EQ(m.next(true).what, step::idle) << "records still in flight settle first";
    ASSERT_EQ(m.next(false).what, step::end_txn);
    EXPECT_FALSE(m.end_txn_request().committed);
    m.on_end_txn({}, end_answer());
    EXPECT_FALSE(result_of(m, op::abort));
    EXPECT_EQ(m.current(), st::ready);
    EXPECT_EQ(m.producer_epoch(), 0) << "v1 without a sequence problem: no bump";
}

TEST(TransactionMachine, ASequenceGapIsAbortedThenTheEpochBumpedWithTheCurrentIdKip360) {
    auto m = in_transaction();
    m.record_failed(kwire::kafka_error(code(kafka_errc::out_of_order_sequence_number)), true);
    ASSERT_FALSE(m.abort());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    m.on_end_txn({}, end_answer());
    EXPECT_FALSE(m.take_result()) << "the abort is not done before the bump";
    ASSERT_EQ(m.next(false).what, step::init_producer_id);
    const auto req = m.init_producer_id_request();
    EXPECT_EQ(req.producer_id, 7);
    EXPECT_EQ(req.producer_epoch, 0);
    m.on_init_producer_id({}, pid(7, 1));
    EXPECT_FALSE(result_of(m, op::abort));
    EXPECT_EQ(m.producer_epoch(), 1);
    EXPECT_EQ(m.current(), st::ready);
}

TEST(TransactionMachine, AnAbortAnsweredUnknownProducerIdRecoversByABump) {
    auto m = in_transaction();
    ASSERT_FALSE(m.abort());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    m.on_end_txn({}, end_answer(code(kafka_errc::unknown_producer_id)));
    ASSERT_EQ(m.next(false).what, step::init_producer_id);
    m.on_init_producer_id({}, pid(7, 1));
    EXPECT_FALSE(result_of(m, op::abort));
}

TEST(TransactionMachine, AFencedProducerIsFatalAndSaysSo) {
    auto m = in_transaction();
    ASSERT_FALSE(m.commit());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    m.on_end_txn({}, end_answer(code(kafka_errc::producer_fenced)));
    const auto ec = result_of(m, op::commit);
    EXPECT_TRUE(ec == txn_error_class::fenced);
    EXPECT_TRUE(ec == txn_error_class::fatal);
    EXPECT_FALSE(ec == txn_error_class::abortable);
    EXPECT_EQ(m.current(), st::fatal_error);
    EXPECT_EQ(m.abort(), kafka_errc::producer_fenced);
    EXPECT_EQ(m.begin(), kafka_errc::producer_fenced);
}

TEST(TransactionMachine, ARecordRefusedInvalidProducerEpochIsAbortableAndTheAbortFindsTheFenceKip588) {
    // The coordinator timed the transaction out (or another producer took over): the partition
    // refuses the next batch INVALID_PRODUCER_EPOCH. Abortable; the abort's EndTxn says fenced.
    auto m = in_transaction();
    ASSERT_FALSE(m.commit());
    m.record_failed(kwire::kafka_error(code(kafka_errc::invalid_producer_epoch)), true);
    const auto ec = result_of(m, op::commit);
    EXPECT_EQ(ec, kafka_errc::invalid_producer_epoch);
    EXPECT_TRUE(ec == txn_error_class::abortable);
    EXPECT_FALSE(ec == txn_error_class::fatal);
    EXPECT_EQ(m.current(), st::abortable_error);
    ASSERT_FALSE(m.abort());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    m.on_end_txn({}, end_answer(code(kafka_errc::producer_fenced)));
    const auto aborted = result_of(m, op::abort);
    EXPECT_TRUE(aborted == txn_error_class::fenced) << aborted.message();
    EXPECT_EQ(m.current(), st::fatal_error);
    EXPECT_TRUE(m.begin() == txn_error_class::fatal);
}

TEST(TransactionMachine, WhenTheAbortIsAcceptedAfterInvalidProducerEpochTheEpochIsBumpedAndWorkGoesOn) {
    auto m = in_transaction();
    m.record_failed(kwire::kafka_error(code(kafka_errc::invalid_producer_epoch)), false);
    ASSERT_FALSE(m.abort());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    m.on_end_txn({}, end_answer());
    ASSERT_EQ(m.next(false).what, step::init_producer_id) << "KIP-360: the partitions saw another epoch";
    const auto req = m.init_producer_id_request();
    EXPECT_EQ(req.producer_id, 7);
    EXPECT_EQ(req.producer_epoch, 0);
    m.on_init_producer_id({}, pid(7, 1));
    EXPECT_FALSE(result_of(m, op::abort));
    EXPECT_EQ(m.producer_epoch(), 1);
    EXPECT_FALSE(m.begin());
}

TEST(TransactionMachine, ACoordinatorsInvalidProducerEpochIsReportedAsFenced) {
    // Brokers before 2.7 answered coordinator requests of a fenced producer INVALID_PRODUCER_EPOCH.
    auto m = in_transaction();
    ASSERT_FALSE(m.commit());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    m.on_end_txn({}, end_answer(code(kafka_errc::invalid_producer_epoch)));
    const auto ec = result_of(m, op::commit);
    EXPECT_EQ(ec, kafka_errc::producer_fenced);
    EXPECT_TRUE(ec == txn_error_class::fenced);
    EXPECT_EQ(m.current(), st::fatal_error);
}

TEST(TransactionMachine, AnEndTxnWhoseAnswerIsLostIsSentAgainUnchangedBeforeAnythingElse) {
    auto m = in_transaction();
    ASSERT_FALSE(m.commit());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    const auto first = m.end_txn_request();
    m.on_end_txn(make_error_code(client_errc::request_timed_out), {});
    EXPECT_EQ(m.begin(), txn_errc::operation_in_progress) << "the outcome is unknown: no new transaction";
    EXPECT_EQ(m.abort(), txn_errc::operation_in_progress) << "and no guess: the commit is resolved";
    EXPECT_FALSE(m.commit()) << "a commit made again waits for the same outcome";
    const auto n = m.next(false);
    EXPECT_EQ(n.what, step::find_coordinator);
    EXPECT_TRUE(n.after_backoff);
    m.on_coordinator({});
    ASSERT_EQ(m.next(false).what, step::end_txn);
    EXPECT_EQ(m.end_txn_request(), first);
    m.on_end_txn({}, end_answer(code(kafka_errc::concurrent_transactions)));
    ASSERT_EQ(m.next(false).what, step::end_txn);
    EXPECT_EQ(m.end_txn_request(), first);
    m.on_end_txn({}, end_answer());
    EXPECT_FALSE(result_of(m, op::commit));
}

TEST(TransactionMachine, V2AddsNothingAndEachEndTxnGivesTheNextEpoch) {
    auto m = make();
    m.use_v2(true);
    initialize(m);
    ASSERT_FALSE(m.begin());
    ASSERT_FALSE(m.send({"t", 0}));
    EXPECT_TRUE(m.may_send({"t", 0})) << "Produce adds the partition itself";
    ASSERT_FALSE(m.commit());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    const auto first = m.end_txn_request();
    EXPECT_EQ(first.producer_epoch, 0);
    m.on_end_txn(make_error_code(client_errc::connection_closed), {});
    m.next(false);
    m.on_coordinator({});
    ASSERT_EQ(m.next(false).what, step::end_txn);
    EXPECT_EQ(m.end_txn_request(), first) << "a retry keeps the epoch it was sent with";
    m.on_end_txn({}, end_answer(0, 7, 1));
    EXPECT_FALSE(result_of(m, op::commit));
    EXPECT_EQ(m.producer_epoch(), 1);

    ASSERT_FALSE(m.begin());
    m.send({"t", 0});
    ASSERT_FALSE(m.abort());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    EXPECT_EQ(m.end_txn_request().producer_epoch, 1);
    EXPECT_FALSE(m.end_txn_request().committed);
    m.on_end_txn({}, end_answer(0, 8, 0));  // epoch exhausted: a new producer id
    EXPECT_FALSE(result_of(m, op::abort));
    EXPECT_EQ(m.producer_id(), 8);
    EXPECT_EQ(m.producer_epoch(), 0);
}

kp::TxnOffsetCommitRequest offsets(std::int32_t generation, std::vector<std::int32_t> partitions) {
    kp::TxnOffsetCommitRequest r;
    r.group_id = "g";
    r.generation_id = generation;
    r.member_id = "member-1";
    auto& t = r.topics.emplace_back();
    t.name = "in";
    for (auto p : partitions) {
        auto& rp = t.partitions.emplace_back();
        rp.partition_index = p;
        rp.committed_offset = 100 + p;
    }
    return r;
}

kp::TxnOffsetCommitResponse offsets_answer(const kp::TxnOffsetCommitRequest& req, std::int16_t error_p0, std::int16_t error_rest) {
    kp::TxnOffsetCommitResponse r;
    for (const auto& t : req.topics) {
        auto& rt = r.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            rp.error_code = p.partition_index == 0 ? error_p0 : error_rest;
        }
    }
    return r;
}

TEST(TransactionMachine, V1OffsetsJoinByAddOffsetsThenCommitToTheGroupCoordinatorWithTheGeneration) {
    auto m = make();
    initialize(m);
    ASSERT_FALSE(m.begin());
    ASSERT_FALSE(m.send_offsets(offsets(5, {0, 1})));
    EXPECT_EQ(m.commit(), txn_errc::operation_in_progress);
    ASSERT_EQ(m.next(false).what, step::add_offsets);
    EXPECT_EQ(m.add_offsets_request().group_id, "g");
    m.on_add_offsets({}, {});
    ASSERT_EQ(m.next(false).what, step::find_group_coordinator);
    EXPECT_EQ(m.offsets_group(), "g");
    m.on_group_coordinator({});
    ASSERT_EQ(m.next(false).what, step::txn_offset_commit);
    const auto req = m.txn_offset_commit_request();
    EXPECT_EQ(req.transactional_id, "tx-1");
    EXPECT_EQ(req.producer_id, 7);
    EXPECT_EQ(req.generation_id, 5);
    EXPECT_EQ(req.member_id, "member-1");
    m.on_txn_offset_commit({}, offsets_answer(req, 0, code(kafka_errc::coordinator_load_in_progress)));
    ASSERT_EQ(m.next(false).what, step::txn_offset_commit);
    const auto again = m.txn_offset_commit_request();
    ASSERT_EQ(again.topics.size(), 1u);
    ASSERT_EQ(again.topics[0].partitions.size(), 1u) << "only the partition not yet committed";
    EXPECT_EQ(again.topics[0].partitions[0].partition_index, 1);
    m.on_txn_offset_commit({}, offsets_answer(again, 0, 0));
    EXPECT_FALSE(result_of(m, op::send_offsets));
    ASSERT_FALSE(m.commit());
    ASSERT_EQ(m.next(false).what, step::end_txn) << "the offsets' group joined: an EndTxn ends it";
}

TEST(TransactionMachine, AZombieConsumersOffsetsMakeTheTransactionAbortableKip447) {
    auto m = make();
    initialize(m);
    ASSERT_FALSE(m.begin());
    ASSERT_FALSE(m.send_offsets(offsets(4, {0})));
    m.next(false);
    m.on_add_offsets({}, {});
    m.next(false);
    m.on_group_coordinator({});
    m.next(false);
    m.on_txn_offset_commit({}, offsets_answer(m.txn_offset_commit_request(), code(kafka_errc::illegal_generation), 0));
    const auto ec = result_of(m, op::send_offsets);
    EXPECT_EQ(ec, kafka_errc::illegal_generation);
    EXPECT_TRUE(ec == txn_error_class::abortable);
    EXPECT_EQ(m.commit(), kafka_errc::illegal_generation);
    ASSERT_FALSE(m.abort());
    ASSERT_EQ(m.next(false).what, step::end_txn);
    EXPECT_FALSE(m.end_txn_request().committed);
}

TEST(TransactionMachine, V2OffsetsGoStraightToTheGroupCoordinator) {
    auto m = make();
    m.use_v2(true);
    initialize(m);
    ASSERT_FALSE(m.begin());
    ASSERT_FALSE(m.send_offsets(offsets(5, {0})));
    ASSERT_EQ(m.next(false).what, step::find_group_coordinator);
    m.on_group_coordinator({});
    ASSERT_EQ(m.next(false).what, step::txn_offset_commit);
    m.on_txn_offset_commit({}, offsets_answer(m.txn_offset_commit_request(), code(kafka_errc::not_coordinator), 0));
    ASSERT_EQ(m.next(false).what, step::find_group_coordinator) << "NOT_COORDINATOR of the group's coordinator";
    m.on_group_coordinator({});
    ASSERT_EQ(m.next(false).what, step::txn_offset_commit);
    m.on_txn_offset_commit({}, offsets_answer(m.txn_offset_commit_request(), 0, 0));
    EXPECT_FALSE(result_of(m, op::send_offsets));
}

TEST(TransactionMachine, ErrorClassesFollowKip1050) {
    using kwire::client::classify_transaction_error;
    auto k = [](kafka_errc e) { return make_error_code(e); };
    EXPECT_EQ(classify_transaction_error(k(kafka_errc::coordinator_load_in_progress)), txn_error_class::retriable);
    EXPECT_EQ(classify_transaction_error(k(kafka_errc::concurrent_transactions)), txn_error_class::retriable);
    EXPECT_EQ(classify_transaction_error(make_error_code(client_errc::request_timed_out)), txn_error_class::retriable);
    EXPECT_EQ(classify_transaction_error(k(kafka_errc::transaction_abortable)), txn_error_class::abortable);
    EXPECT_EQ(classify_transaction_error(k(kafka_errc::unknown_producer_id)), txn_error_class::abortable);
    EXPECT_EQ(classify_transaction_error(make_error_code(client_errc::delivery_timed_out)), txn_error_class::abortable);
    EXPECT_EQ(classify_transaction_error(k(kafka_errc::producer_fenced)), txn_error_class::fenced);
    EXPECT_EQ(classify_transaction_error(k(kafka_errc::invalid_producer_epoch)), txn_error_class::abortable);
    EXPECT_EQ(classify_transaction_error(make_error_code(client_errc::producer_fenced)), txn_error_class::fenced);
    EXPECT_EQ(classify_transaction_error(k(kafka_errc::invalid_txn_state)), txn_error_class::fatal);
    EXPECT_EQ(classify_transaction_error(make_error_code(txn_errc::must_abort)), txn_error_class::abortable);
    EXPECT_FALSE(classify_transaction_error({}));
    EXPECT_TRUE(k(kafka_errc::concurrent_transactions) == txn_error_class::retriable);
    EXPECT_FALSE(k(kafka_errc::concurrent_transactions) == txn_error_class::abortable);
    EXPECT_FALSE(k(kafka_errc::invalid_txn_state) == txn_error_class::fenced);
}

}  // namespace

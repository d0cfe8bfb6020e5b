// Kafka's transaction coordinator rules on their own (support_txn_coordinator), and the rules
// cluster speaking them over the wire: v1 and v2 flows, fencing, KIP-360 bumps, epoch
// exhaustion, and the delayed EndTxn of an earlier transaction that v2 must reject.
#include <gtest/gtest.h>

#include "blocking_connection.hpp"
#include "kwire/codec/batch_builder.hpp"
#include "kwire/protocol/messages/add_partitions_to_txn.hpp"
#include "kwire/protocol/messages/end_txn.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "kwire/protocol/messages/init_producer_id.hpp"
#include "kwire/protocol/messages/produce.hpp"
#include "support_rules_broker.hpp"
#include "support_txn_coordinator.hpp"

namespace {

using kwire::test::txn_coordinator_rules;
using kwire::test::txn_state;
namespace err = kwire::test::txn_error;

TEST(TxnCoordinatorRules, V1CommitWritesMarkersAtTheCurrentEpochAndARetryIsAnsweredNone) {
    txn_coordinator_rules c;
    const auto init = c.init_producer_id("tx", -1, -1);
    ASSERT_EQ(init.error, err::none);
    EXPECT_EQ(init.epoch, 0);
    EXPECT_EQ(c.add_partitions("tx", init.producer_id, 0, {{"t", 0}, {"t", 1}}), err::none);
    EXPECT_EQ(c.produce(init.producer_id, 0, {"t", 0}, false), err::none);
    EXPECT_EQ(c.produce(init.producer_id, 0, {"t", 2}, false), err::invalid_txn_state) << "never added";
    const auto end = c.end_txn("tx", init.producer_id, 0, true, false);
    ASSERT_EQ(end.error, err::none);
    ASSERT_TRUE(end.markers);
    EXPECT_EQ(end.markers->partitions.size(), 2u);
    EXPECT_EQ(end.markers->epoch, 0);
    EXPECT_TRUE(end.markers->commit);
    const auto retry = c.end_txn("tx", init.producer_id, 0, true, false);
    EXPECT_EQ(retry.error, err::none);
    EXPECT_FALSE(retry.markers) << "nothing written twice";
    EXPECT_EQ(c.end_txn("tx", init.producer_id, 0, false, false).error, err::invalid_txn_state);
    EXPECT_EQ(c.find("tx")->state, txn_state::complete_commit);
}

TEST(TxnCoordinatorRules, ASecondProducerFencesTheFirstAndAbortsItsTransaction) {
    txn_coordinator_rules c;
    const auto first = c.init_producer_id("tx", -1, -1);
    ASSERT_EQ(c.add_partitions("tx", first.producer_id, 0, {{"t", 0}}), err::none);
    const auto fencing = c.init_producer_id("tx", -1, -1);
    EXPECT_EQ(fencing.error, err::concurrent_transactions);
    ASSERT_TRUE(fencing.markers);
    EXPECT_FALSE(fencing.markers->commit);
    EXPECT_EQ(fencing.markers->epoch, 1) << "aborted at the fencing epoch";
    const auto second = c.init_producer_id("tx", -1, -1);
    ASSERT_EQ(second.error, err::none);
    EXPECT_EQ(second.producer_id, first.producer_id);
    EXPECT_EQ(second.epoch, 2);
    EXPECT_EQ(c.add_partitions("tx", first.producer_id, 0, {{"t", 0}}), err::producer_fenced);
    EXPECT_EQ(c.end_txn("tx", first.producer_id, 0, true, false).error, err::producer_fenced);
    EXPECT_EQ(c.init_producer_id("tx", first.producer_id, 0).error, err::producer_fenced) << "KIP-360 with a stale epoch";
}

TEST(TxnCoordinatorRules, Kip360BumpWithTheCurrentIdAndEpoch) {
    txn_coordinator_rules c;
    const auto init = c.init_producer_id("tx", -1, -1);
    const auto bumped = c.init_producer_id("tx", init.producer_id, init.epoch);
    ASSERT_EQ(bumped.error, err::none);
    EXPECT_EQ(bumped.producer_id, init.producer_id);
    EXPECT_EQ(bumped.epoch, 1);
    EXPECT_EQ(c.init_producer_id("tx", init.producer_id + 1, 1).error, err::producer_fenced) << "another producer id";
}

TEST(TxnCoordinatorRules, ATimedOutTransactionIsAbortedAtAFencingEpochAndItsProducerIsFencedForGood) {
    txn_coordinator_rules c;
    const auto init = c.init_producer_id("tx", -1, -1);
    const auto pid = init.producer_id;
    EXPECT_EQ(c.time_out("tx").error, err::invalid_txn_state) << "no transaction open";
    ASSERT_EQ(c.add_partitions("tx", pid, 0, {{"t", 0}}), err::none);
    const auto timed_out = c.time_out("tx");
    ASSERT_EQ(timed_out.error, err::none);
    ASSERT_TRUE(timed_out.markers);
    EXPECT_FALSE(timed_out.markers->commit);
    EXPECT_EQ(timed_out.markers->epoch, 1) << "the abort markers carry the fencing epoch";
    EXPECT_EQ(c.end_txn("tx", pid, 0, false, false).error, err::producer_fenced);
    EXPECT_EQ(c.init_producer_id("tx", pid, 0).error, err::producer_fenced) << "no earlier epoch after a fence";
    const auto fresh = c.init_producer_id("tx", -1, -1);
    EXPECT_EQ(fresh.error, err::none) << "a new instance takes over";
    EXPECT_EQ(fresh.epoch, 2);
}

TEST(TxnCoordinatorRules, V2BumpsTheEpochWithEveryEndTxnAndRejectsALateEndTxnOfAnEarlierTransaction) {
    txn_coordinator_rules c;
    const auto init = c.init_producer_id("tx", -1, -1);
    const auto pid = init.producer_id;
    EXPECT_EQ(c.produce(pid, 0, {"t", 0}, true), err::none) << "Produce v12 adds the partition";
    const auto first = c.end_txn("tx", pid, 0, true, true);
    ASSERT_EQ(first.error, err::none);
    EXPECT_EQ(first.epoch, 1);
    ASSERT_TRUE(first.markers);
    EXPECT_EQ(first.markers->epoch, 1) << "v2 markers carry the new epoch";
    const auto retried = c.end_txn("tx", pid, 0, true, true);
    EXPECT_EQ(retried.error, err::none) << "the retry of the EndTxn that bumped";
    EXPECT_EQ(retried.epoch, 1);
    EXPECT_FALSE(retried.markers);

    // The next transaction runs at epoch 1; an abort of the first one, arriving late, must not end it.
    EXPECT_EQ(c.produce(pid, 1, {"t", 0}, true), err::none);
    EXPECT_EQ(c.end_txn("tx", pid, 0, false, true).error, err::producer_fenced);
    EXPECT_EQ(c.end_txn("tx", pid, 0, true, true).error, err::producer_fenced) << "not a retry: a transaction is open";
    EXPECT_EQ(c.find("tx")->state, txn_state::ongoing);
    const auto second = c.end_txn("tx", pid, 1, false, true);
    ASSERT_EQ(second.error, err::none);
    EXPECT_EQ(second.epoch, 2);
    EXPECT_EQ(c.produce(pid, 1, {"t", 0}, true), err::invalid_txn_state) << "the old epoch's batch";
}

TEST(TxnCoordinatorRules, V2AbortOfAnEmptyTransactionBumpsButACommitOfNothingIsInvalid) {
    txn_coordinator_rules c;
    const auto init = c.init_producer_id("tx", -1, -1);
    EXPECT_EQ(c.end_txn("tx", init.producer_id, 0, true, true).error, err::invalid_txn_state);
    const auto abort = c.end_txn("tx", init.producer_id, 0, false, true);
    EXPECT_EQ(abort.error, err::none);
    EXPECT_EQ(abort.epoch, 1);
    EXPECT_FALSE(abort.markers);
}

TEST(TxnCoordinatorRules, AnExhaustedEpochGivesANewProducerId) {
    txn_coordinator_rules c;
    auto a = c.init_producer_id("tx", -1, -1);
    const auto first_pid = a.producer_id;
    for (int i = 0; i < txn_coordinator_rules::exhausted_epoch; ++i) a = c.init_producer_id("tx", a.producer_id, a.epoch);
    EXPECT_EQ(a.producer_id, first_pid);
    EXPECT_EQ(a.epoch, txn_coordinator_rules::exhausted_epoch);
    a = c.init_producer_id("tx", a.producer_id, a.epoch);
    EXPECT_NE(a.producer_id, first_pid);
    EXPECT_EQ(a.epoch, 0);
}

// --- over the wire ------------------------------------------------------------------------------

namespace kp = kwire::protocol;

std::vector<std::uint8_t> transactional_batch(std::int64_t pid, std::int16_t epoch, std::int32_t seq, const std::string& v) {
    std::vector<std::uint8_t> out;
    kwire::codec::batch_builder b;
    kwire::codec::batch_options o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    o.transactional = true;
    b.begin(out, o);
    const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
    if (b.append(1700000000000, std::nullopt, std::optional<kp::bytes_view>(kp::bytes_view(p, v.size()))) || b.finish())
        throw std::runtime_error("batch");
    return out;
}

std::int16_t produce(kwire::peers::blocking_connection& conn, std::int16_t version, const std::string& txn_id,
                     const std::vector<std::uint8_t>& batch) {
    kp::ProduceRequest req;
    req.transactional_id = txn_id;
    req.acks = -1;
    req.timeout_ms = 5000;
    auto& t = req.topic_data.emplace_back();
    t.name = "t";
    auto& p = t.partition_data.emplace_back();
    p.index = 0;
    p.records = kp::bytes_view(batch);
    return conn.call(req, version).responses.at(0).partition_responses.at(0).error_code;
}

TEST(RulesClusterTransactions, V2OverTheWireDelayedEndTxnIsRejectedAndMarkersCarryTheNewEpoch) {
    kwire::test::rules_cluster rc(1);
    rc.add_topic("t", 1);
    rc.enable_transactions_v2();
    kwire::peers::blocking_connection conn(rc.cluster().addresses().front(), std::chrono::seconds(5));
    kp::FindCoordinatorRequest find;
    find.key = "tx";
    find.key_type = 1;
    ASSERT_EQ(conn.call(find, 3).node_id, 1);
    kp::InitProducerIdRequest init;
    init.transactional_id = "tx";
    init.transaction_timeout_ms = 60000;
    const auto id = conn.call(init, 4);
    ASSERT_EQ(id.error_code, 0);

    EXPECT_EQ(produce(conn, 11, "tx", transactional_batch(id.producer_id, 0, 0, "v11")), err::invalid_txn_state)
        << "Produce v11 does not add the partition";
    ASSERT_EQ(produce(conn, 12, "tx", transactional_batch(id.producer_id, 0, 0, "a")), 0);
    EXPECT_EQ(rc.data().last_stable_offset("t", 0), 0) << "an open transaction holds the LSO";
    kp::EndTxnRequest end;
    end.transactional_id = "tx";
    end.producer_id = id.producer_id;
    end.producer_epoch = 0;
    end.committed = true;
    const auto ended = conn.call(end, 5);
    ASSERT_EQ(ended.error_code, 0);
    EXPECT_EQ(ended.producer_epoch, 1);
    EXPECT_EQ(rc.data().last_stable_offset("t", 0), 2) << "the batch and its marker";
    const auto log = rc.log("t", 0);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1].producer_epoch, 1) << "the marker carries the bumped epoch";

    ASSERT_EQ(produce(conn, 12, "tx", transactional_batch(id.producer_id, 1, 0, "b")), 0)
        << "the new epoch starts at sequence 0";
    auto late = end;
    late.committed = false;
    EXPECT_EQ(conn.call(late, 5).error_code, err::producer_fenced) << "the first transaction's abort, delayed";
    EXPECT_EQ(rc.transaction("tx")->state, txn_state::ongoing);
}

TEST(RulesClusterTransactions, V1NeedsAddPartitionsAndANonCoordinatorSaysSo) {
    kwire::test::rules_cluster rc(2);
    rc.add_topic("t", 1);  // partition 0 on broker 1
    kwire::peers::blocking_connection one(rc.cluster().addresses()[0], std::chrono::seconds(5));
    kwire::peers::blocking_connection two(rc.cluster().addresses()[1], std::chrono::seconds(5));
    kp::InitProducerIdRequest init;
    init.transactional_id = "tx";
    init.transaction_timeout_ms = 60000;
    EXPECT_EQ(two.call(init, 4).error_code, err::not_coordinator);
    const auto id = one.call(init, 4);
    ASSERT_EQ(id.error_code, 0);
    EXPECT_EQ(produce(one, 12, "tx", transactional_batch(id.producer_id, 0, 0, "a")), err::invalid_txn_state)
        << "v1: the partition was not added";
    kp::AddPartitionsToTxnRequest add;
    add.v3_and_below_transactional_id = "tx";
    add.v3_and_below_producer_id = id.producer_id;
    add.v3_and_below_producer_epoch = 0;
    add.v3_and_below_topics.push_back({"t", {0}, {}});
    ASSERT_EQ(one.call(add, 3).results_by_topic_v3_and_below.at(0).results_by_partition.at(0).partition_error_code, 0);
    ASSERT_EQ(produce(one, 9, "tx", transactional_batch(id.producer_id, 0, 0, "a")), 0);
    kp::EndTxnRequest end;
    end.transactional_id = "tx";
    end.producer_id = id.producer_id;
    end.producer_epoch = 0;
    end.committed = false;
    ASSERT_EQ(one.call(end, 3).error_code, 0);
    const auto log = rc.log("t", 0);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[1].producer_epoch, 0) << "v1 markers keep the epoch";
    ASSERT_EQ(produce(one, 9, "tx", transactional_batch(id.producer_id, 0, 1, "b")), err::invalid_txn_state)
        << "the transaction ended: the partition must be added again";
}

}  // namespace

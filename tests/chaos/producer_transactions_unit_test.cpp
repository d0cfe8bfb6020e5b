// kwire's transactional producer against the rules cluster's transaction coordinator (Kafka's
// rules, support_txn_coordinator.hpp): commit and abort as a read_committed consumer sees them,
// transactions v1 and v2 (the epoch each EndTxn bumps), fencing by a second producer, offsets
// with KIP-447's generation check, a coordinator that moves, and an EndTxn whose answer is lost.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "kcat.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/client/transaction.hpp"
#include "support_rules_broker.hpp"

namespace kwire::test {
namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using client::txn_errc;
using client::txn_error_class;
constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

producer_config txn_config(rules_cluster& rc, const std::string& id = "tx-1") {
    producer_config cfg;
    cfg.bootstrap_servers = rc.cluster().addresses();
    cfg.transactional_id = id;
    cfg.linger = 2ms;
    cfg.retry_backoff = 10ms;
    cfg.retry_backoff_max = 50ms;
    cfg.reconnect_backoff = 10ms;
    cfg.reconnect_backoff_max = 50ms;
    cfg.request_timeout = 5s;
    cfg.delivery_timeout = 20s;
    return cfg;
}

/// Runs the coroutine on `io` until it finishes (or `limit` passes: then the test fails).
template <class F> void drive(net::io_context& io, F f, std::chrono::seconds limit = 30s) {
    std::atomic<bool> done{false};
    net::co_spawn(io, [&]() -> net::awaitable<void> {
        co_await f();
        done = true;
    }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) io.run_for(20ms);
    ASSERT_TRUE(done.load()) << "the scenario did not finish";
}

/// Every send's outcome (the callbacks run while the test drives the io_context).
struct tally {
    int acknowledged = 0;
    int failed = 0;
    boost::system::error_code first;
};

/// Sends the values round robin over the partitions (send() copies them into the batch).
void send_values(producer& p, const std::string& topic, const std::vector<std::string>& values, int partitions,
                 tally& t) {
    int i = 0;
    for (const auto& v : values) {
        const auto* b = reinterpret_cast<const std::uint8_t*>(v.data());
        p.send({.topic = topic, .value = protocol::bytes_view(b, v.size()), .partition = i++ % partitions},
               [&t](boost::system::error_code ec, delivery) {
                   if (!ec) return void(++t.acknowledged);
                   ++t.failed;
                   if (!t.first) t.first = ec;
               });
    }
}

/// What a read_committed consumer reads from the topic's partitions (from the beginning).
std::vector<std::string> read_committed(rules_cluster& rc, const std::string& topic, int partitions,
                                        std::size_t expect) {
    net::io_context io;
    consumer_config cfg;
    cfg.bootstrap_servers = rc.cluster().addresses();
    cfg.isolation_level = client::isolation::read_committed;
    consumer c(io.get_executor(), cfg);
    std::vector<partition_offset> assign;
    for (int p = 0; p < partitions; ++p) assign.push_back({topic, p, offset::beginning});
    c.assign(assign);
    std::vector<std::string> out;
    drive(io, [&]() -> net::awaitable<void> {
        for (int round = 0; round < 20 && out.size() < expect; ++round) {
            auto [ec, batch] = co_await c.poll(300ms, tuple_awaitable);
            if (ec) break;
            for (const auto& r : batch)
                out.emplace_back(reinterpret_cast<const char*>(r.value->data()), r.value->size());
        }
        // A little longer: nothing more may come.
        auto [ec, batch] = co_await c.poll(300ms, tuple_awaitable);
        if (!ec)
            for (const auto& r : batch)
                out.emplace_back(reinterpret_cast<const char*>(r.value->data()), r.value->size());
    });
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> numbered(const std::string& prefix, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(100 + i));
    return out;
}

TEST(ProducerTransactions, V1CommitIsReadAndAbortIsNot) {
    rules_cluster rc(3);
    rc.add_topic("t", 3);
    net::io_context io;
    tally sent;
    producer p(io.get_executor(), txn_config(rc));
    drive(io, [&]() -> net::awaitable<void> {
        auto [outside, d0] = co_await p.send({.topic = "t"}, tuple_awaitable);
        EXPECT_EQ(outside, txn_errc::not_initialized);
        auto [init] = co_await p.init_transactions(tuple_awaitable);
        EXPECT_FALSE(init) << init.message();
        auto [no_txn, d1] = co_await p.send({.topic = "t"}, tuple_awaitable);
        EXPECT_EQ(no_txn, txn_errc::no_transaction);

        auto [b1] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b1);
        send_values(p, "t", numbered("c", 12), 3, sent);
        auto [c1] = co_await p.commit_transaction(tuple_awaitable);
        EXPECT_FALSE(c1) << c1.message();

        auto [b2] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b2);
        send_values(p, "t", numbered("a", 6), 3, sent);
        auto [f] = co_await p.flush(tuple_awaitable);  // written, then aborted
        EXPECT_FALSE(f);
        auto [a2] = co_await p.abort_transaction(tuple_awaitable);
        EXPECT_FALSE(a2) << a2.message();

        auto [b3] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b3);
        send_values(p, "t", numbered("d", 3), 3, sent);
        auto [c3] = co_await p.commit_transaction(tuple_awaitable);
        EXPECT_FALSE(c3) << c3.message();
    });
    EXPECT_EQ(sent.failed, 0) << sent.first.message();
    EXPECT_EQ(sent.acknowledged, 21) << "the aborted records were written too (then aborted)";
    auto expected = numbered("c", 12);
    for (auto& v : numbered("d", 3)) expected.push_back(v);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(read_committed(rc, "t", 3, expected.size()), expected);
    const auto txn = rc.transaction("tx-1");
    ASSERT_TRUE(txn);
    EXPECT_EQ(txn->state, txn_state::complete_commit);
    EXPECT_FALSE(rc.cluster().requests(24).empty()) << "v1: AddPartitionsToTxn";
    // An independent reader: librdkafka's read_committed consumer (kcat) sees the same.
    if (peers::program_available("kcat")) {
        std::vector<std::string> by_kcat;
        for (int part = 0; part < 3; ++part)
            for (const auto& r : peers::kcat_consume(rc.cluster().bootstrap(), "t", part,
                                                      {.extra_args = {"-X", "isolation.level=read_committed"}}))
                by_kcat.push_back(r.value);
        std::sort(by_kcat.begin(), by_kcat.end());
        EXPECT_EQ(by_kcat, expected);
    }
}

TEST(ProducerTransactions, V2AddsNothingAndEveryEndTxnBumpsTheEpoch) {
    rules_cluster rc(3);
    rc.add_topic("t", 3);
    rc.enable_transactions_v2();
    net::io_context io;
    tally sent;
    producer p(io.get_executor(), txn_config(rc));
    drive(io, [&]() -> net::awaitable<void> {
        auto [init] = co_await p.init_transactions(tuple_awaitable);
        EXPECT_FALSE(init) << init.message();
        for (int t = 0; t < 3; ++t) {
            auto [b] = co_await p.begin_transaction(tuple_awaitable);
            EXPECT_FALSE(b);
            send_values(p, "t", numbered("v" + std::to_string(t) + "-", 5), 3, sent);
            if (t == 1) {
                auto [f] = co_await p.flush(tuple_awaitable);
                EXPECT_FALSE(f);
                auto [a] = co_await p.abort_transaction(tuple_awaitable);
                EXPECT_FALSE(a) << a.message();
            } else {
                auto [c] = co_await p.commit_transaction(tuple_awaitable);
                EXPECT_FALSE(c) << c.message();
            }
        }
    });
    EXPECT_EQ(sent.failed, 0) << sent.first.message();
    auto expected = numbered("v0-", 5);
    for (auto& v : numbered("v2-", 5)) expected.push_back(v);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(read_committed(rc, "t", 3, expected.size()), expected);
    const auto txn = rc.transaction("tx-1");
    ASSERT_TRUE(txn);
    EXPECT_EQ(txn->epoch, 3) << "three EndTxn, three bumps";
    EXPECT_TRUE(rc.cluster().requests(24).empty()) << "v2 adds partitions through Produce";
    // Partition 0's markers: one per transaction, each at the epoch its EndTxn bumped to.
    std::vector<std::int16_t> marker_epochs;
    for (const auto& b : rc.log("t", 0))
        if (b.base_sequence < 0) marker_epochs.push_back(b.producer_epoch);
    EXPECT_EQ(marker_epochs, (std::vector<std::int16_t>{1, 2, 3}));
}

TEST(ProducerTransactions, ASecondProducerWithTheSameIdFencesTheFirst) {
    rules_cluster rc(1);
    rc.add_topic("t", 1);
    net::io_context io;
    tally sent;
    const std::vector<std::string> zombie{"zombie"}, live{"live"};
    producer first(io.get_executor(), txn_config(rc));
    producer second(io.get_executor(), txn_config(rc));
    drive(io, [&]() -> net::awaitable<void> {
        auto [i1] = co_await first.init_transactions(tuple_awaitable);
        EXPECT_FALSE(i1);
        auto [b1] = co_await first.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b1);
        send_values(first, "t", zombie, 1, sent);
        auto [f] = co_await first.flush(tuple_awaitable);
        EXPECT_FALSE(f);
        auto [i2] = co_await second.init_transactions(tuple_awaitable);  // aborts the first's transaction
        EXPECT_FALSE(i2) << i2.message();
        auto [c1] = co_await first.commit_transaction(tuple_awaitable);
        EXPECT_TRUE(c1 == txn_error_class::fenced) << c1.message();
        EXPECT_TRUE(c1 == txn_error_class::fatal);
        auto [b1again] = co_await first.begin_transaction(tuple_awaitable);
        EXPECT_TRUE(b1again == txn_error_class::fatal) << "fenced for good";
        auto [b2] = co_await second.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b2);
        send_values(second, "t", live, 1, sent);
        auto [c2] = co_await second.commit_transaction(tuple_awaitable);
        EXPECT_FALSE(c2) << c2.message();
    });
    EXPECT_EQ(read_committed(rc, "t", 1, 1), std::vector<std::string>{"live"});
}

TEST(ProducerTransactions, ATransactionTheCoordinatorTimedOutIsAbortableAndItsAbortFindsTheProducerFenced) {
    // KIP-588: the coordinator aborts a transaction older than transaction.timeout.ms and fences
    // its producer's epoch; the partition refuses the producer's next batch
    // INVALID_PRODUCER_EPOCH, which is abortable (the producer cannot tell a timeout from a
    // takeover); the abort's EndTxn is answered PRODUCER_FENCED (Kafka keeps no earlier epoch
    // after a fence), and from then on every call is fatal. Nothing of the transaction is read.
    rules_cluster rc(1);
    rc.add_topic("t", 1);
    net::io_context io;
    tally early, late;
    const std::vector<std::string> before{"before-timeout"}, after{"after-timeout"};
    producer p(io.get_executor(), txn_config(rc));
    drive(io, [&]() -> net::awaitable<void> {
        auto [i] = co_await p.init_transactions(tuple_awaitable);
        EXPECT_FALSE(i);
        auto [b] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b);
        send_values(p, "t", before, 1, early);
        auto [f] = co_await p.flush(tuple_awaitable);
        EXPECT_FALSE(f);
        EXPECT_EQ(early.acknowledged, 1);
        EXPECT_TRUE(rc.time_out_transaction("tx-1"));
        send_values(p, "t", after, 1, late);
        auto [c] = co_await p.commit_transaction(tuple_awaitable);
        EXPECT_TRUE(c == txn_error_class::abortable) << c.message();
        EXPECT_FALSE(c == txn_error_class::fatal) << c.message();
        EXPECT_EQ(late.failed, 1);
        EXPECT_EQ(late.first, kafka_errc::invalid_producer_epoch) << late.first.message();
        auto [a] = co_await p.abort_transaction(tuple_awaitable);
        EXPECT_TRUE(a == txn_error_class::fenced) << a.message();
        auto [again] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_TRUE(again == txn_error_class::fatal);
    });
    EXPECT_TRUE(read_committed(rc, "t", 1, 0).empty());
}

TEST(ProducerTransactions, OffsetsCommitWithTheTransactionAndAZombieGenerationIsRefused) {
    rules_cluster rc(2);
    rc.add_topic("out", 2);
    rc.set_group_member("g", "member-1", 7);
    // (Built out here: GCC 12 rejects braced lists of strings inside the coroutine.)
    const std::vector<std::string> x{"x"};
    const std::vector<partition_offset> consumed{{"in", 0, 42}, {"in", 1, 17}}, stale{{"in", 0, 99}};
    const client::consumer_group_metadata current{"g", 7, "member-1", std::nullopt};
    const client::consumer_group_metadata zombie{"g", 6, "member-1", std::nullopt};
    net::io_context io;
    tally sent;
    producer p(io.get_executor(), txn_config(rc));
    drive(io, [&]() -> net::awaitable<void> {
        auto [init] = co_await p.init_transactions(tuple_awaitable);
        EXPECT_FALSE(init);
        auto [b] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b);
        send_values(p, "out", x, 2, sent);
        auto [o] = co_await p.send_offsets_to_transaction(consumed, current, tuple_awaitable);
        EXPECT_FALSE(o) << o.message();
        EXPECT_TRUE(rc.committed_offsets("g").empty()) << "not before the commit";
        auto [c] = co_await p.commit_transaction(tuple_awaitable);
        EXPECT_FALSE(c) << c.message();
        const auto committed = rc.committed_offsets("g");
        EXPECT_EQ(committed.size(), 2u);
        for (const auto& [tp, off] : committed) EXPECT_EQ(off, tp.second == 0 ? 42 : 17);

        // A consumer generation the group has left: the offsets, and the transaction, are refused.
        auto [b2] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b2);
        auto [z] = co_await p.send_offsets_to_transaction(stale, zombie, tuple_awaitable);
        EXPECT_EQ(z, kafka_errc::illegal_generation);
        EXPECT_TRUE(z == txn_error_class::abortable);
        auto [c2] = co_await p.commit_transaction(tuple_awaitable);
        EXPECT_TRUE(c2 == txn_error_class::abortable) << c2.message();
        auto [a2] = co_await p.abort_transaction(tuple_awaitable);
        EXPECT_FALSE(a2) << a2.message();
    });
    for (const auto& [tp, off] : rc.committed_offsets("g")) EXPECT_NE(off, 99) << "the zombie's offsets";
}

TEST(ProducerTransactions, ACoordinatorMoveAndALostEndTxnAnswerAreResolvedNotGuessed) {
    rules_cluster rc(3);
    rc.add_topic("t", 3);
    std::atomic<int> end_txns{0};
    rc.txn_hook = [&](const scripted_request& r) {
        // The first EndTxn is applied, and its answer lost with the connection.
        if (r.api_key == 26 && end_txns++ == 0) return produce_fault::close_after_apply;
        return produce_fault::none;
    };
    net::io_context io;
    tally sent;
    producer p(io.get_executor(), txn_config(rc));
    drive(io, [&]() -> net::awaitable<void> {
        auto [init] = co_await p.init_transactions(tuple_awaitable);
        EXPECT_FALSE(init);
        auto [b] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b);
        rc.move_txn_coordinator(2);  // AddPartitionsToTxn meets NOT_COORDINATOR first
        send_values(p, "t", numbered("m", 6), 3, sent);
        auto [c] = co_await p.commit_transaction(tuple_awaitable);
        EXPECT_FALSE(c) << c.message();
        auto [b2] = co_await p.begin_transaction(tuple_awaitable);
        EXPECT_FALSE(b2);
        send_values(p, "t", numbered("n", 3), 3, sent);
        auto [c2] = co_await p.commit_transaction(tuple_awaitable);
        EXPECT_FALSE(c2) << c2.message();
    });
    EXPECT_GE(end_txns.load(), 3) << "the lost answer's EndTxn was sent again";
    auto expected = numbered("m", 6);
    for (auto& v : numbered("n", 3)) expected.push_back(v);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(read_committed(rc, "t", 3, expected.size()), expected);
    // One marker per partition and transaction: the retried EndTxn wrote nothing twice.
    for (int part = 0; part < 3; ++part) {
        int markers = 0;
        for (const auto& batch : rc.log("t", part))
            if (batch.base_sequence < 0) ++markers;
        EXPECT_EQ(markers, 2) << "partition " << part;
    }
}

TEST(ProducerTransactions, DestroyingTheProducerCompletesAWaitingCommitOnce) {
    rules_cluster rc(1);
    rc.add_topic("t", 1);
    // No Produce is ever applied: the commit waits for its record until the producer goes.
    rc.produce_hook = [](const scripted_request&) { return produce_fault::close_before_apply; };
    net::io_context io;
    tally sent;
    int commits = 0;
    boost::system::error_code commit_error;
    {
        producer p(io.get_executor(), txn_config(rc));
        drive(io, [&]() -> net::awaitable<void> {
            auto [init] = co_await p.init_transactions(tuple_awaitable);
            EXPECT_FALSE(init);
            auto [b] = co_await p.begin_transaction(tuple_awaitable);
            EXPECT_FALSE(b);
        });
        send_values(p, "t", numbered("w", 1), 1, sent);
        p.commit_transaction([&](boost::system::error_code ec) {
            ++commits;
            commit_error = ec;
        });
        io.run_for(200ms);
        EXPECT_EQ(commits, 0) << "the record is not acknowledged: the commit waits";
    }
    io.run_for(100ms);
    EXPECT_EQ(commits, 1);
    EXPECT_EQ(commit_error, net::error::operation_aborted);
    EXPECT_EQ(sent.failed, 1);
}

}  // namespace
}  // namespace kwire::test

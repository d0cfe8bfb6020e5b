// kwire's transactional producer against an independent transaction coordinator: librdkafka
// 2.0.2's mock cluster (transactions v1: InitProducerId with a transactional id, AddPartitionsToTxn,
// AddOffsetsToTxn, TxnOffsetCommit, EndTxn, with fencing). Its coordinator errors are injected
// (CONCURRENT_TRANSACTIONS, COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR), its coordinator is
// moved, and librdkafka's own transactional producer writes to the same topic in between. The
// mock writes no control markers (see consumer_transactions_test.cpp), so what is read back here
// is every record stored; and it checks no epoch at EndTxn, so a producer fenced by a second one
// with the same id still commits there. Both -- which records a read_committed reader sees, and
// fencing -- are checked against the rules cluster's coordinator, which applies Kafka's rules
// (tests/chaos/producer_transactions_unit_test.cpp, with kcat as the independent reader).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "consumer_fixture.hpp"
#include "kcat.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "producer_fixture.hpp"
#include "rk_producer.hpp"

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using kwire::test::bv;
using kwire::test::run_until;

constexpr std::int16_t add_partitions_key = 24;
constexpr std::int16_t end_txn_key = 26;
constexpr std::int16_t init_producer_id_key = 22;
constexpr std::int16_t coordinator_load_in_progress = 14;
constexpr std::int16_t not_coordinator = 16;
constexpr std::int16_t concurrent_transactions = 51;

kwire::producer_config txn_config(const kwire::peers::mock_cluster& mc, const std::string& id) {
    auto cfg = kwire::test::config_for(mc);
    cfg.transactional_id = id;
    cfg.retry_backoff = 20ms;
    cfg.retry_backoff_max = 100ms;
    cfg.request_timeout = 5s;
    return cfg;
}

/// One transactional call, run to its end on `io`.
template <class Call> boost::system::error_code call(net::io_context& io, Call c) {
    bool done = false;
    boost::system::error_code out;
    c([&](boost::system::error_code ec) {
        out = ec;
        done = true;
    });
    if (!run_until(io, [&] { return done; }, 30s)) return make_error_code(std::errc::timed_out);
    return out;
}

/// Sends the values to partition 0; returns how many failed (after all are answered).
int send_all(net::io_context& io, kwire::producer& p, const std::string& topic, const std::vector<std::string>& values) {
    int answered = 0, failed = 0;
    for (const auto& v : values)
        p.send({.topic = topic, .value = bv(v), .partition = 0}, [&](boost::system::error_code ec, kwire::delivery) {
            ++answered;
            if (ec) ++failed;
        });
    if (!run_until(io, [&] { return answered == static_cast<int>(values.size()); }, 30s)) return -1;
    return failed;
}

std::vector<std::string> stored(const kwire::peers::mock_cluster& mc, const std::string& topic) {
    std::vector<std::string> out;
    for (const auto& r : kwire::peers::kcat_consume(mc.bootstrap(), topic, 0)) out.push_back(r.value);
    return out;
}

TEST(ProducerTransactionsOnMock, CommitAndAbortThroughInjectedCoordinatorErrorsAndAMove) {
    if (!kwire::peers::program_available("kcat")) GTEST_SKIP() << "kcat not installed";
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("t", 1, 1);
    mc.push_request_errors(init_producer_id_key, {coordinator_load_in_progress});
    mc.push_request_errors(add_partitions_key, {concurrent_transactions, coordinator_load_in_progress});
    mc.push_request_errors(end_txn_key, {not_coordinator, concurrent_transactions});
    net::io_context io;
    kwire::producer p(io.get_executor(), txn_config(mc, "kw-1"));
    ASSERT_FALSE(call(io, [&](auto h) { p.init_transactions(h); }));
    ASSERT_FALSE(call(io, [&](auto h) { p.begin_transaction(h); }));
    ASSERT_EQ(send_all(io, p, "t", {"c0", "c1", "c2", "c3"}), 0);
    const auto committed = call(io, [&](auto h) { p.commit_transaction(h); });
    EXPECT_FALSE(committed) << committed.message();

    mc.coordinator_set("transaction", "kw-1", 3);  // NOT_COORDINATOR from the old one, then found again
    ASSERT_FALSE(call(io, [&](auto h) { p.begin_transaction(h); }));
    ASSERT_EQ(send_all(io, p, "t", {"a0", "a1"}), 0);
    const auto aborted = call(io, [&](auto h) { p.abort_transaction(h); });
    EXPECT_FALSE(aborted) << aborted.message();
    ASSERT_FALSE(call(io, [&](auto h) { p.begin_transaction(h); }));
    ASSERT_EQ(send_all(io, p, "t", {"c4"}), 0);
    EXPECT_FALSE(call(io, [&](auto h) { p.commit_transaction(h); }));
    EXPECT_EQ(stored(mc, "t"), (std::vector<std::string>{"c0", "c1", "c2", "c3", "a0", "a1", "c4"}));
}

TEST(ProducerTransactionsOnMock, InterleavedWithLibrdkafkasTransactionalProducer) {
    if (!kwire::peers::program_available("kcat")) GTEST_SKIP() << "kcat not installed";
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("mix", 1, 1);
    kwire::test::rk_producer rk(mc.bootstrap(), "rk-txn");
    net::io_context io;
    kwire::producer p(io.get_executor(), txn_config(mc, "kw-txn"));
    ASSERT_FALSE(call(io, [&](auto h) { p.init_transactions(h); }));
    std::vector<std::string> expected;
    for (int round = 0; round < 3; ++round) {
        const auto r = std::to_string(round);
        rk.begin();
        ASSERT_FALSE(call(io, [&](auto h) { p.begin_transaction(h); }));
        rk.send("mix", {"rk-" + r + "-a"});
        ASSERT_EQ(send_all(io, p, "mix", {"kw-" + r + "-a", "kw-" + r + "-b"}), 0);
        rk.send("mix", {"rk-" + r + "-b"});
        rk.commit();
        const auto ec = call(io, [&](auto h) { p.commit_transaction(h); });
        ASSERT_FALSE(ec) << ec.message();
        for (const auto* v : {"rk-%-a", "kw-%-a", "kw-%-b", "rk-%-b"}) {
            std::string s(v);
            s.replace(s.find('%'), 1, r);
            expected.push_back(s);
        }
    }
    EXPECT_EQ(stored(mc, "mix"), expected);
}

TEST(ProducerTransactionsOnMock, TheConsumersGroupMetadataGoesWithTheOffsets) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("in", 1, 1);
    mc.create_topic("out", 1, 1);
    kwire::test::rk_producer feed(mc.bootstrap());
    feed.send("in", {"x", "y"});
    net::io_context io;
    kwire::consumer_config ccfg;
    ccfg.bootstrap_servers = mc.broker_addresses();
    ccfg.group_id = "ctp";
    ccfg.auto_offset_reset = kwire::client::offset_reset::earliest;
    ccfg.session_timeout = 6000ms;  // the mock's first rebalance round lasts 3 s
    ccfg.heartbeat_interval = 100ms;
    ccfg.fetch_max_wait = 100ms;
    kwire::consumer c(io.get_executor(), ccfg);
    const auto before = c.group_metadata();
    EXPECT_EQ(before.group_id, "ctp");
    EXPECT_EQ(before.generation_id, -1) << "not joined yet";
    c.subscribe({"in"});
    kwire::test::driver d(c);
    d.on = [](const kwire::consumer_record&) {};
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 2 || d.error; }, 30s)) << d.error.message();
    const auto joined = c.group_metadata();
    EXPECT_EQ(joined.group_id, "ctp");
    EXPECT_GE(joined.generation_id, 1);
    EXPECT_FALSE(joined.member_id.empty());

    kwire::producer p(io.get_executor(), txn_config(mc, "ctp-1"));
    ASSERT_FALSE(call(io, [&](auto h) { p.init_transactions(h); }));
    ASSERT_FALSE(call(io, [&](auto h) { p.begin_transaction(h); }));
    ASSERT_EQ(send_all(io, p, "out", {"X", "Y"}), 0);
    const std::vector<kwire::partition_offset> next{{"in", 0, 2}};
    const auto sent = call(io, [&](auto h) { p.send_offsets_to_transaction(next, joined, h); });
    EXPECT_FALSE(sent) << sent.message();
    const auto committed = call(io, [&](auto h) { p.commit_transaction(h); });
    EXPECT_FALSE(committed) << committed.message();
}

}  // namespace

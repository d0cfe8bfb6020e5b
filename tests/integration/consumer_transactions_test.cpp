// isolation.level against transactional data written by an independent client: librdkafka's
// transactional producer commits one transaction and aborts another, while a plain producer
// writes records in between (some inside the open transactions), and a last transaction stays
// open.
//
// What librdkafka 2.0.2's mock does with transactions: it speaks every transactional API
// (InitProducerId, AddPartitionsToTxn, EndTxn, ...) and stores the producer's transactional
// batches, but EndTxn writes no control marker, Fetch answers carry no AbortedTransactions, and
// LastStableOffset is the high watermark -- so aborted records are served as committed, to
// librdkafka's own read_committed consumer too. What can be checked against the mock is
// read_uncommitted; read_committed is checked against the scripted cluster's broker side
// (scripted_log), fed with the very batches librdkafka wrote (fetched raw from the mock), the
// control markers a broker would have written at commit and abort (COMMIT/ABORT control
// batches), the AbortedTransactions list and the last stable offset.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <boost/asio/io_context.hpp>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "blocking_connection.hpp"
#include "consumer_fixture.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/protocol/messages/fetch.hpp"
#include "mock_cluster.hpp"
#include "rk_producer.hpp"
#include "scripted_log.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::driver;
using kwire::test::run_for;
using kwire::test::run_until;
using kwire::test::rk_producer;
namespace kc = kwire::client;

/// The data librdkafka wrote, in log order, and where the transactions ended.
struct written {
    std::vector<std::pair<std::string, std::int64_t>> records;  // value, offset in the mock
    std::int64_t committed_before = 0;  // the commit returned when the mock's log ended here
    std::int64_t aborted_before = 0;    // likewise for the abort
    std::int64_t open_from = 0;         // the transaction left open starts here
};

/// Values starting with these prefixes: c- committed transaction, a- aborted, o- left open,
/// n- plain (non-transactional). n-2 and n-3 are written while a transaction is open.
written write_transactions(const kwire::peers::mock_cluster& mc, const std::string& topic) {
    rk_producer plain(mc.bootstrap());
    rk_producer txn(mc.bootstrap(), "kwire-txn");
    written w;
    plain.send(topic, {"n-0", "n-1"});
    txn.begin();
    txn.send(topic, {"c-0", "c-1", "c-2"});
    plain.send(topic, {"n-2"});
    txn.send(topic, {"c-3"});
    txn.commit();
    w.committed_before = txn.offsets.at("c-3") + 1;
    txn.begin();
    txn.send(topic, {"a-0", "a-1", "a-2"});
    plain.send(topic, {"n-3"});
    txn.send(topic, {"a-3"});
    txn.abort();
    w.aborted_before = txn.offsets.at("a-3") + 1;
    plain.send(topic, {"n-4"});
    txn.begin();
    txn.send(topic, {"o-0"});
    w.open_from = txn.offsets.at("o-0");
    plain.send(topic, {"n-5"});
    for (const auto* p : {&plain, &txn})
        for (const auto& [v, off] : p->offsets) w.records.emplace_back(v, off);
    std::sort(w.records.begin(), w.records.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    return w;
}

kwire::consumer_config config_for(const std::vector<std::string>& brokers, kc::isolation iso) {
    kwire::consumer_config cfg;
    cfg.bootstrap_servers = brokers;
    cfg.isolation_level = iso;
    cfg.fetch_max_wait = 100ms;
    cfg.retry_backoff = 20ms;
    cfg.request_timeout = 5000ms;
    return cfg;
}

std::vector<std::pair<std::string, std::int64_t>> values_and_offsets(const driver& d) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& [t, p, offset, value] : d.seen) out.emplace_back(value, offset);
    return out;
}

TEST(ConsumerTransactions, ReadUncommittedFromTheMockSeesEveryDataRecord) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("txn", 1);
    const auto w = write_transactions(mc, "txn");
    ASSERT_EQ(w.records.size(), 15u);

    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), config_for(mc.broker_addresses(), kc::isolation::read_uncommitted));
    c.assign({{"txn", 0, kwire::offset::beginning}});
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= w.records.size() || d.error; }, 20s)) << d.count();
    run_for(io, 200ms);
    ASSERT_FALSE(d.error) << d.error.message();
    EXPECT_EQ(values_and_offsets(d), w.records) << "committed, aborted, open and plain, at librdkafka's offsets";
}

/// The transactional producer's batches as the mock stores them, fetched raw, in offset order.
std::vector<std::vector<std::uint8_t>> raw_batches(const kwire::peers::mock_cluster& mc, const std::string& topic,
                                                   std::int64_t end) {
    kwire::peers::blocking_connection conn(mc.broker_addresses().at(0));
    std::vector<std::vector<std::uint8_t>> out;
    std::int64_t next = 0;
    while (next < end) {
        kwire::protocol::FetchRequest req;
        req.max_wait_ms = 0;
        req.min_bytes = 1;
        req.topics.resize(1);
        req.topics[0].topic = topic;
        req.topics[0].partitions.resize(1);
        req.topics[0].partitions[0].fetch_offset = next;
        req.topics[0].partitions[0].partition_max_bytes = 1 << 20;
        const auto resp = conn.call(req, 11);
        const auto& pd = resp.responses.at(0).partitions.at(0);
        if (pd.error_code || !pd.records || pd.records->empty()) throw std::runtime_error("raw fetch");
        // Split into batches: baseOffset (8), batchLength (4), then batchLength bytes.
        const auto* p = pd.records->data();
        std::size_t at = 0;
        while (at + 12 <= pd.records->size()) {
            std::uint32_t len = 0;
            for (int i = 8; i < 12; ++i) len = (len << 8) | p[at + static_cast<std::size_t>(i)];
            const std::vector<std::uint8_t> batch(p + at, p + at + 12 + len);
            std::int64_t base = 0;
            std::int32_t delta = 0;
            for (int i = 0; i < 8; ++i) base = (base << 8) | batch[static_cast<std::size_t>(i)];
            for (int i = 23; i < 27; ++i) delta = (delta << 8) | batch[static_cast<std::size_t>(i)];
            if (base + delta >= next) {
                out.push_back(batch);
                next = base + delta + 1;
            }
            at += 12 + len;
        }
    }
    return out;
}

TEST(ConsumerTransactions, ReadCommittedSeesExactlyTheCommittedRecords) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("txn", 1);
    const auto w = write_transactions(mc, "txn");
    const auto batches = raw_batches(mc, "txn", w.records.back().second + 1);

    // The log a broker would hold: librdkafka's batches, with the markers where the commit and
    // the abort happened. Offsets move up by one per marker before them.
    kwire::test::scripted_cluster cluster(1);
    cluster.add_topic("txn", 1);
    auto& log = *kwire::test::scripted_log::start(cluster, 1);  // the cluster keeps it
    std::int64_t txn_pid = -1;
    bool committed = false, aborted = false;
    std::map<std::int64_t, std::int64_t> shifted;  // mock offset -> scripted offset of each batch
    for (const auto& b : batches) {
        std::int64_t base = 0, pid = 0;
        for (int i = 0; i < 8; ++i) base = (base << 8) | b[static_cast<std::size_t>(i)];
        for (int i = 43; i < 51; ++i) pid = (pid << 8) | b[static_cast<std::size_t>(i)];
        const bool transactional = b[22] & 0x10;
        if (transactional) txn_pid = pid;
        if (!committed && base >= w.committed_before) {
            log.end_transaction("txn", 0, txn_pid, true);
            committed = true;
        }
        if (!aborted && base >= w.aborted_before) {
            log.end_transaction("txn", 0, txn_pid, false);
            aborted = true;
        }
        shifted[base] = log.append_raw("txn", 0, b);
    }
    ASSERT_TRUE(committed && aborted);
    ASSERT_GE(txn_pid, 0) << "librdkafka wrote no transactional batch";
    auto scripted_offset = [&](std::int64_t mock_offset) {
        auto it = std::prev(shifted.upper_bound(mock_offset));
        return it->second + (mock_offset - it->first);
    };
    std::vector<std::pair<std::string, std::int64_t>> all, committed_view, after_open_commits;
    for (const auto& [value, off] : w.records) {
        all.emplace_back(value, scripted_offset(off));
        if (value[0] == 'a') continue;
        if (off >= w.open_from) after_open_commits.emplace_back(value, scripted_offset(off));
        else committed_view.emplace_back(value, scripted_offset(off));
    }
    const auto lso = scripted_offset(w.open_from);
    ASSERT_EQ(log.last_stable_offset("txn", 0), lso);

    {
        SCOPED_TRACE("read_committed");
        boost::asio::io_context io;
        kwire::consumer c(io.get_executor(), config_for(cluster.addresses(), kc::isolation::read_committed));
        c.assign({{"txn", 0, 0}});
        driver d(c);
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return d.count() >= committed_view.size() || d.error; }, 20s)) << d.count();
        run_for(io, 300ms);
        ASSERT_FALSE(d.error) << d.error.message();
        EXPECT_EQ(values_and_offsets(d), committed_view)
            << "the committed transaction and the plain records, in order, at their offsets; nothing aborted, "
               "nothing at or past the open transaction";
        EXPECT_EQ(c.position({"txn", 0}), lso) << "stopped at the last stable offset";
        EXPECT_EQ(c.committable({"txn", 0}), lso) << "markers and aborted records need no acknowledgement";

        // The open transaction commits: it and the plain record written after it appear.
        log.end_transaction("txn", 0, txn_pid, true);
        const auto want = committed_view.size() + after_open_commits.size();
        ASSERT_TRUE(run_until(io, [&] { return d.count() >= want || d.error; }, 20s)) << d.count();
        run_for(io, 200ms);
        auto expected = committed_view;
        expected.insert(expected.end(), after_open_commits.begin(), after_open_commits.end());
        EXPECT_EQ(values_and_offsets(d), expected);
        EXPECT_EQ(c.position({"txn", 0}), log.high_watermark("txn", 0)) << "past the last marker";
        EXPECT_EQ(c.committable({"txn", 0}), log.high_watermark("txn", 0));
    }
    {
        SCOPED_TRACE("read_uncommitted");
        boost::asio::io_context io;
        kwire::consumer c(io.get_executor(), config_for(cluster.addresses(), kc::isolation::read_uncommitted));
        c.assign({{"txn", 0, 0}});
        driver d(c);
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return d.count() >= all.size() || d.error; }, 20s)) << d.count();
        run_for(io, 200ms);
        EXPECT_EQ(values_and_offsets(d), all) << "every data record, aborted ones too; no marker";
        EXPECT_EQ(c.position({"txn", 0}), log.high_watermark("txn", 0));
    }
}

}  // namespace

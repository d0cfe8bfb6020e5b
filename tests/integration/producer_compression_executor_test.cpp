// The producer with a compression executor (producer_config::compression_executor), against
// librdkafka's mock cluster (see producer_faults_test.cpp for what the mock can and cannot prove).
//
//  - every codec through a thread_pool(2), read back by kcat byte for byte and in order;
//  - with a stand-in executor whose jobs run only when the test says (support_manual_executor
//    .hpp): a batch compressed before the one sealed ahead of it waits for it; an epoch bump
//    renumbers batches still being compressed; delivery.timeout.ms fails batches stuck in
//    compression; destroying the producer (and its io_context) with jobs outstanding;
//  - faults (cut connections, lost answers, injected errors) with a thread pool compressing;
//  - destroying the producer and its io_context while a real pool is compressing (run under ASan).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../require_codec.hpp"
#include "kcat.hpp"
#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "producer_faults_support.hpp"
#include "producer_fixture.hpp"
#include "support_log_check.hpp"
#include "support_manual_executor.hpp"
#include "support_proxy.hpp"

namespace net = boost::asio;

namespace {

using namespace std::chrono_literals;
using kwire::client::client_errc;
using kwire::codec::compression;
using kwire::test::bv;
using kwire::test::check_log;
using kwire::test::cluster_fixture;
using kwire::test::expect_all_acked;
using kwire::test::fast_config;
using kwire::test::flush_all;
using kwire::test::leaders_move;
using kwire::test::manual_executor_queue;
using kwire::test::operation_aborted;
using kwire::test::partitions;
using kwire::test::print;
using kwire::test::produce_api;
using kwire::test::run_for;
using kwire::test::run_until;
using kwire::test::send_ledger;
using kwire::test::sent_record;
using kwire::test::stream;
using kwire::test::test_clock;

std::string codec_name(const ::testing::TestParamInfo<compression>& info) {
    return std::string(kwire::codec::compression_name(info.param));
}

/// Runs the producer and the stand-in executor's jobs, as they come, until every send completed.
bool pump_until_completed(net::io_context& io, manual_executor_queue& jobs, const send_ledger& ledger,
                          std::chrono::milliseconds limit = 20s) {
    return run_until(io, [&] {
        jobs.run_all();
        return ledger.all_completed();
    }, limit);
}

/// Flushes; with the stand-in executor, flush seals the open batches at once, so their jobs are
/// queued when this returns.
void flush_nowait(kwire::producer& p) {
    p.flush([](std::error_code) {});
}

// ---------------------------------------------------------------------------------------------
// Every codec through a thread pool

class CompressionExecutorKcat : public ::testing::TestWithParam<compression> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(GetParam()); }
};

// Several batches per partition, each several lz4 blocks, compressed on two threads that finish
// in any order: kcat (an independent consumer) reads every key, value and header back, in send
// order. With `none` the executor is not used (nothing to compress).
TEST_P(CompressionExecutorKcat, EveryRecordIsReadBackByteForByteInSendOrder) {
    net::thread_pool pool(2);
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("pooled", 2, 3);
    net::io_context io;
    auto cfg = kwire::test::config_for(mc);
    cfg.compression = GetParam();
    cfg.compression_executor = pool.get_executor();
    cfg.batch_size = 200'000;
    kwire::producer p(io.get_executor(), cfg);

    constexpr int n = 3000;
    auto value_of = [](int i) {
        std::string v = "{\"seq\":" + std::to_string(i) + ",\"pad\":\"";
        for (int j = 0; v.size() < static_cast<std::size_t>(150 + i % 300); ++j)
            v += static_cast<char>('a' + (i * 7 + j * 13) % 26);
        return v + "\"}";
    };
    std::vector<kwire::delivery> deliveries(n);
    int acked = 0, failed = 0;
    for (int i = 0; i < n; ++i) {
        const std::string key = "k" + std::to_string(i), value = value_of(i), trace = "t" + std::to_string(i);
        const kwire::codec::header_view headers[] = {{"trace", bv(trace)}};
        p.send({.topic = "pooled", .key = bv(key), .value = bv(value), .headers = headers, .partition = i % 2},
               [&, i](std::error_code ec, kwire::delivery d) {
                   if (ec) ++failed;
                   else ++acked;
                   deliveries[static_cast<std::size_t>(i)] = d;
               });
    }
    ASSERT_TRUE(run_until(io, [&] { return acked + failed == n; }));
    ASSERT_EQ(failed, 0);
    for (int i = 2; i < n; ++i)
        EXPECT_EQ(deliveries[static_cast<std::size_t>(i)].offset, deliveries[static_cast<std::size_t>(i - 2)].offset + 1)
            << "record " << i << ": offsets follow send order within a partition";
    for (std::int32_t part = 0; part < 2; ++part) {
        const auto records = kwire::peers::kcat_consume(mc.bootstrap(), "pooled", part);
        ASSERT_EQ(records.size(), static_cast<std::size_t>(n / 2));
        for (std::size_t j = 0; j < records.size(); ++j) {
            const int i = static_cast<int>(j) * 2 + part;
            ASSERT_EQ(records[j].offset, static_cast<std::int64_t>(j));
            ASSERT_EQ(records[j].key, "k" + std::to_string(i));
            ASSERT_EQ(records[j].value, value_of(i)) << i;
            ASSERT_EQ(records[j].headers, (kwire::peers::header_list{{"trace", "t" + std::to_string(i)}}));
        }
    }
}

INSTANTIATE_TEST_SUITE_P(EveryCodec, CompressionExecutorKcat,
                         ::testing::Values(compression::none, compression::gzip, compression::snappy, compression::lz4,
                                           compression::zstd),
                         codec_name);

// Sends through an autoflush publisher still go out at once, compressed on the pool, while
// another topic's records linger.
TEST(CompressionExecutor, AutoflushPublisherStillSkipsLinger) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    net::thread_pool pool(2);
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("fast", 1, 1);
    mc.create_topic("slow", 1, 1);
    net::io_context io;
    auto cfg = kwire::test::config_for(mc);
    cfg.linger = 10s;
    cfg.compression = compression::lz4;
    cfg.compression_executor = pool.get_executor();
    kwire::producer p(io.get_executor(), cfg);
    auto fast = p.make_publisher("fast", {.autoflush = true});
    bool fast_done = false, slow_done = false;
    fast.send(std::nullopt, bv("now"), [&](std::error_code ec, kwire::delivery) {
        EXPECT_FALSE(ec) << ec.message();
        fast_done = true;
    });
    p.send({.topic = "slow", .value = bv("later")}, [&](std::error_code, kwire::delivery) { slow_done = true; });
    const auto start = test_clock::now();
    ASSERT_TRUE(run_until(io, [&] { return fast_done; }, 5s));
    EXPECT_LT(test_clock::now() - start, 3s);
    EXPECT_FALSE(slow_done);
    bool flushed = false;
    p.flush([&](std::error_code) { flushed = true; });
    ASSERT_TRUE(run_until(io, [&] { return flushed && slow_done; }, 5s));
}

// ---------------------------------------------------------------------------------------------
// Order and lifetime, with jobs run when the test says

// One partition, many small batches; their compressions finish last to first, with the producer
// running in between: none may go out before the batch sealed ahead of it, so nothing goes out
// until the first one is back; then all are delivered, in order, with contiguous sequences.
TEST(CompressionExecutor, ABatchCompressedFirstWaitsForTheBatchSealedBeforeIt) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    cluster_fixture f("pool-order");
    manual_executor_queue jobs;
    net::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.compression = compression::lz4;
    cfg.compression_executor = jobs.get_executor();
    cfg.batch_size = 1024;
    kwire::producer p(io.get_executor(), cfg);
    ledger.wave(p, f.topic, partitions);  // metadata and a producer id
    ASSERT_TRUE(pump_until_completed(io, jobs, ledger));
    const auto warm = ledger.acked();

    for (int i = 0; i < 300; ++i) ledger.send(p, f.topic, 0);
    flush_nowait(p);
    ASSERT_GE(jobs.pending(), 4u) << "several batches, each its own job";
    run_for(io, 100ms);
    EXPECT_EQ(ledger.acked(), warm);
    while (jobs.pending() > 1) {
        jobs.run_last();
        run_for(io, 30ms);
        ASSERT_EQ(ledger.completed(), warm) << "a batch went out before the one sealed ahead of it";
    }
    jobs.run_all();
    ASSERT_TRUE(pump_until_completed(io, jobs, ledger));
    expect_all_acked(ledger);
    print("pool-order", check_log(f.mc, f.topic, ledger, {}));
}

// The idempotent producer bumps its epoch (UNKNOWN_PRODUCER_ID on partition 0's next batch)
// while two later batches of the partition are still being compressed: they are renumbered in
// their place, and their bytes get the new epoch and sequences when they come back. The checker
// replays the broker's sequence rules: the new epoch starts at 0, without a gap.
TEST(CompressionExecutor, AnEpochBumpRenumbersBatchesStillBeingCompressed) {
    KWIRE_REQUIRE_CODEC(compression::zstd);
    cluster_fixture f("pool-bump");
    manual_executor_queue jobs;
    net::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.compression = compression::zstd;
    cfg.compression_executor = jobs.get_executor();
    cfg.max_in_flight_per_connection = 1;  // see producer_faults_test.cpp: injected errors
    kwire::producer p(io.get_executor(), cfg);
    ledger.wave(p, f.topic, partitions);
    ASSERT_TRUE(pump_until_completed(io, jobs, ledger));

    f.mc.push_request_errors(produce_api, {59});  // UNKNOWN_PRODUCER_ID
    const auto first = ledger.send(p, f.topic, 0);
    flush_nowait(p);
    ASSERT_EQ(jobs.run_all(), 1u);  // its result waits in the io_context
    std::vector<std::size_t> held;
    for (int b = 0; b < 2; ++b) {
        for (int i = 0; i < 3; ++i) held.push_back(ledger.send(p, f.topic, 0));
        flush_nowait(p);
    }
    ASSERT_EQ(jobs.pending(), 2u);
    ASSERT_TRUE(run_until(io, [&] { return ledger[first].completions > 0; }, 10s));
    EXPECT_FALSE(ledger[first].ec) << ledger[first].ec.message();
    run_for(io, 100ms);
    for (auto i : held) EXPECT_EQ(ledger[i].completions, 0) << ledger[i].value;
    jobs.run_all(/*reverse=*/true);
    ASSERT_TRUE(pump_until_completed(io, jobs, ledger));
    expect_all_acked(ledger);
    const auto report = check_log(f.mc, f.topic, ledger, {});
    EXPECT_EQ(report.producer_ids, 2u) << "one epoch bump";
    EXPECT_EQ(report.sequence_violations, 0u);
    print("pool-bump", report);
}

// Batches whose compression never comes back fail at delivery.timeout.ms, once, with
// delivery_timed_out, and flush() completes; their results, when they do come, are dropped.
// The partition then carries on (a new epoch closes the sequence gap they leave).
TEST(CompressionExecutor, DeliveryTimeoutFailsBatchesStuckInCompression) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    cluster_fixture f("pool-timeout");
    manual_executor_queue jobs;
    net::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.compression = compression::lz4;
    cfg.compression_executor = jobs.get_executor();
    cfg.delivery_timeout = 1500ms;
    cfg.request_timeout = 1000ms;
    kwire::producer p(io.get_executor(), cfg);
    ledger.wave(p, f.topic, partitions);
    ASSERT_TRUE(pump_until_completed(io, jobs, ledger));
    const auto warm = ledger.size();

    for (int b = 0; b < 2; ++b) {
        for (int i = 0; i < 4; ++i) ledger.send(p, f.topic, 0);
        flush_nowait(p);
    }
    ASSERT_EQ(jobs.pending(), 2u);
    bool flushed = false;
    p.flush([&](std::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        flushed = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return ledger.all_completed() && flushed; }, cfg.delivery_timeout + 3s));
    for (std::size_t i = warm; i < ledger.size(); ++i) {
        const auto& r = ledger[i];
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(r.completed_at - r.sent_at);
        EXPECT_EQ(r.ec, client_errc::delivery_timed_out) << r.value << ": " << r.ec.message();
        EXPECT_GE(took, cfg.delivery_timeout - cfg.linger - 20ms) << r.value << " failed early";
    }
    EXPECT_EQ(jobs.run_all(), 2u);  // too late: dropped
    run_for(io, 100ms);
    EXPECT_EQ(ledger.extra_completions(), 0u);

    const auto later = ledger.size();
    for (int i = 0; i < 5; ++i) ledger.wave(p, f.topic, partitions);
    flush_nowait(p);
    ASSERT_TRUE(pump_until_completed(io, jobs, ledger));
    for (std::size_t i = later; i < ledger.size(); ++i) EXPECT_FALSE(ledger[i].ec) << ledger[i].value;
    print("pool-timeout", check_log(f.mc, f.topic, ledger,
                                    {.failure_allowed = [&](const sent_record& r) {
                                        return r.index >= warm && r.index < later &&
                                               r.ec == client_errc::delivery_timed_out;
                                    }}));
}

// Destroying the producer with batches still being compressed completes each of their sends
// once with operation_aborted (and a pending flush). Then its io_context is destroyed too, and
// only then do the jobs run: they must not post to the dead context or touch the batches
// (ASan), and nothing completes a second time.
TEST(CompressionExecutor, DestroyingTheProducerWhileBatchesAreCompressed) {
    KWIRE_REQUIRE_CODEC(compression::zstd);
    cluster_fixture f("pool-destroy-manual");
    manual_executor_queue jobs;
    send_ledger ledger;
    bool flushed = false;
    std::error_code flush_ec;
    {
        net::io_context io;
        auto cfg = fast_config(f.mc.broker_addresses());
        cfg.compression = compression::zstd;
        cfg.compression_executor = jobs.get_executor();
        std::optional<kwire::producer> p(std::in_place, io.get_executor(), cfg);
        ledger.wave(*p, f.topic, partitions);
        ASSERT_TRUE(pump_until_completed(io, jobs, ledger));
        const auto warm = ledger.size();

        for (int i = 0; i < 10; ++i) ledger.wave(*p, f.topic, partitions);
        p->flush([&](std::error_code ec) {
            flushed = true;
            flush_ec = ec;
        });
        ASSERT_EQ(jobs.pending(), static_cast<std::size_t>(partitions));
        p.reset();
        EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed() && flushed; }, 3s));
        EXPECT_EQ(flush_ec, operation_aborted) << flush_ec.message();
        for (std::size_t i = warm; i < ledger.size(); ++i)
            EXPECT_EQ(ledger[i].ec, operation_aborted) << ledger[i].value << ": " << ledger[i].ec.message();
    }
    EXPECT_EQ(jobs.run_all(), static_cast<std::size_t>(partitions));
    EXPECT_EQ(ledger.extra_completions(), 0u);
}

// The same with a real pool, several times, destroying the producer and its io_context at
// different moments while the pool is busy: every send completes exactly once, and the pool's
// late jobs find nothing to touch (ASan).
TEST(CompressionExecutor, DestroyingTheProducerAndItsContextWhileAThreadPoolCompresses) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    KWIRE_REQUIRE_CODEC(compression::zstd);
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("pool-destroy", partitions, 1);
    net::thread_pool pool(2);
    for (int round = 0; round < 4; ++round) {
        send_ledger ledger;
        {
            net::io_context io;
            {
                auto cfg = kwire::test::config_for(mc);
                cfg.compression = round % 2 ? compression::lz4 : compression::zstd;
                cfg.compression_executor = pool.get_executor();
                cfg.batch_size = 64 * 1024;
                kwire::producer p(io.get_executor(), cfg);
                ledger.wave(p, "pool-destroy", partitions);
                ASSERT_TRUE(run_until(io, [&] { return ledger.all_completed(); }));
                for (int i = 0; i < 10000; ++i) ledger.wave(p, "pool-destroy", partitions);
                run_for(io, std::chrono::milliseconds(round * 20));
            }  // the producer, with jobs queued and running on the pool
            EXPECT_TRUE(ledger.all_completed()) << ledger.completed() << " of " << ledger.size();
        }  // its io_context
        EXPECT_EQ(ledger.extra_completions(), 0u);
        for (const auto& r : ledger.records()) {
            if (r->ec) {
                EXPECT_EQ(r->ec, operation_aborted) << r->value << ": " << r->ec.message();
            }
        }
    }
    pool.join();
}

// ---------------------------------------------------------------------------------------------
// Faults with a thread pool compressing (see producer_faults_test.cpp for each fault)

kwire::producer_config pooled(kwire::producer_config cfg, net::thread_pool& pool, compression codec) {
    cfg.compression = codec;
    cfg.compression_executor = pool.get_executor();
    return cfg;
}

TEST(CompressionExecutorFaults, ProxyCutsEveryConnectionMidStream) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    net::thread_pool pool(2);
    cluster_fixture f("pool-cut-all");
    kwire::test::kafka_proxy proxy(f.mc.broker_addresses());
    net::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), pooled(fast_config(proxy.addresses()), pool, compression::lz4));
    stream(io, p, ledger, f.topic, 50, 5ms, [&](int i) {
        if (i % 10 == 9) proxy.cut_all();
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    EXPECT_GT(proxy.forced_cuts(), 0);
    print("pool-cut-all", check_log(f.mc, f.topic, ledger, {.allow_deduplicable_copies = true, .failure_allowed = {}}));
}

TEST(CompressionExecutorFaults, ProxyLosesTheAnswerToAWrittenBatch) {
    KWIRE_REQUIRE_CODEC(compression::zstd);
    net::thread_pool pool(2);
    cluster_fixture f("pool-lost-answer");
    kwire::test::kafka_proxy proxy(f.mc.broker_addresses());
    net::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), pooled(fast_config(proxy.addresses()), pool, compression::zstd));
    stream(io, p, ledger, f.topic, 40, 5ms, [&](int i) {
        if (i == 10) proxy.cut_after(produce_api, 1);
        if (i == 25) proxy.cut_after(produce_api, 2);
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    EXPECT_EQ(proxy.answered_cuts(), 3);
    const auto report = check_log(f.mc, f.topic, ledger, {.allow_deduplicable_copies = true, .failure_allowed = {}});
    EXPECT_GE(report.deduplicable_copies, static_cast<std::size_t>(proxy.answered_cuts()));
    print("pool-lost-answer", report);
}

TEST(CompressionExecutorFaults, BrokerDropsConnectionOnProduce) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    net::thread_pool pool(2);
    cluster_fixture f("pool-mock-drops");
    net::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), pooled(fast_config(f.mc.broker_addresses()), pool, compression::lz4));
    stream(io, p, ledger, f.topic, 50, 5ms, [&](int i) {
        if (i == 10) f.mc.push_request_errors(produce_api, {-195});
        if (i == 25) f.mc.push_request_errors(produce_api, {-195, -195});
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    print("pool-mock-drops", check_log(f.mc, f.topic, ledger, {.allow_deduplicable_copies = true, .failure_allowed = {}}));
}

TEST(CompressionExecutorFaults, LeaderMovesMidStream) {
    KWIRE_REQUIRE_CODEC(compression::zstd);
    net::thread_pool pool(2);
    cluster_fixture f("pool-leader-moves");
    net::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), pooled(fast_config(f.mc.broker_addresses()), pool, compression::zstd));
    stream(io, p, ledger, f.topic, 50, 10ms, leaders_move(f));
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    print("pool-leader-moves", check_log(f.mc, f.topic, ledger, {}));
}

struct injected {
    std::int16_t code;
    const char* name;
};
void PrintTo(const injected& e, std::ostream* os) { *os << e.name << " (" << e.code << ")"; }

class CompressionExecutorInjected : public ::testing::TestWithParam<injected> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(compression::zstd); }
};

// Retriable errors and the epoch bumps they cause, with batches compressed on the pool: all
// delivered once, in order, sequences contiguous per epoch.
TEST_P(CompressionExecutorInjected, RecordsAreRetriedAndDeliveredOnce) {
    const auto e = GetParam();
    net::thread_pool pool(2);
    cluster_fixture f(std::string("pool-injected-") + e.name);
    net::io_context io;
    send_ledger ledger;
    auto cfg = pooled(fast_config(f.mc.broker_addresses()), pool, compression::zstd);
    cfg.max_in_flight_per_connection = 1;
    kwire::producer p(io.get_executor(), cfg);
    stream(io, p, ledger, f.topic, 40, 5ms, [&](int i) {
        if (i == 10) f.mc.push_request_errors(produce_api, {e.code, e.code});
        if (i == 25) f.mc.push_request_errors(produce_api, {e.code});
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    print(e.name, check_log(f.mc, f.topic, ledger, {}));
}

INSTANTIATE_TEST_SUITE_P(CompressionExecutorFaults, CompressionExecutorInjected,
                         ::testing::Values(injected{6, "NOT_LEADER_OR_FOLLOWER"}, injected{7, "REQUEST_TIMED_OUT"},
                                           injected{45, "OUT_OF_ORDER_SEQUENCE_NUMBER"},
                                           injected{59, "UNKNOWN_PRODUCER_ID"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace

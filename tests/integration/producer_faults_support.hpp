// What the producer fault tests share (producer_faults_test.cpp, producer_compression_executor
// _test.cpp): fast-recovering settings, the mock cluster with a three-partition topic, streaming
// waves of sends, and flushing with a bounded wait.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "support_log_check.hpp"

namespace kwire::test {

using namespace std::chrono_literals;

inline constexpr std::int16_t produce_api = 0;
inline constexpr std::int32_t partitions = 3;

inline const std::error_code operation_aborted{boost::system::error_code(boost::asio::error::operation_aborted)};

/// Short retry and reconnect backoffs, so that recovering from a fault takes milliseconds.
inline producer_config fast_config(std::vector<std::string> bootstrap) {
    producer_config cfg;
    cfg.bootstrap_servers = std::move(bootstrap);
    cfg.linger = 2ms;
    cfg.delivery_timeout = 20s;
    cfg.request_timeout = 3s;
    cfg.retry_backoff = 20ms;
    cfg.retry_backoff_max = 200ms;
    cfg.reconnect_backoff = 20ms;
    cfg.reconnect_backoff_max = 200ms;
    cfg.socket_connection_setup_timeout = 2s;
    return cfg;
}

/// The mock cluster with the test's topic: 3 partitions, replication 3, partition p led by broker p + 1.
struct cluster_fixture {
    peers::mock_cluster mc{3};
    std::string topic;
    explicit cluster_fixture(std::string t) : topic(std::move(t)) {
        mc.create_topic(topic, partitions, 3);
        for (std::int32_t p = 0; p < partitions; ++p) mc.partition_set_leader(topic, p, p + 1);
    }
};

/// Sends `waves` waves of one record per partition, `gap` apart (running the producer in
/// between), calling `before(i)` before wave i.
inline void stream(boost::asio::io_context& io, producer& p, send_ledger& ledger, const std::string& topic, int waves,
                   std::chrono::milliseconds gap, const std::function<void(int)>& before = {}) {
    for (int i = 0; i < waves; ++i) {
        if (before) before(i);
        ledger.wave(p, topic, partitions);
        run_for(io, gap);
    }
}

/// A stream() script: before wave 12 broker 2 slows down (300 ms) and partitions 0 and 1 move
/// to broker 3; before wave 30 broker 2 recovers and partition 2 moves to broker 1.
inline std::function<void(int)> leaders_move(cluster_fixture& f) {
    return [&f](int i) {
        if (i == 12) {
            f.mc.broker_set_rtt(2, 300);
            f.mc.partition_set_leader(f.topic, 1, 3);
            f.mc.partition_set_leader(f.topic, 0, 3);
        }
        if (i == 30) {
            f.mc.broker_set_rtt(2, 0);
            f.mc.partition_set_leader(f.topic, 2, 1);
        }
    };
}

/// Flushes and waits (bounded) for the flush and every send; reports what did not complete.
inline bool flush_all(boost::asio::io_context& io, producer& p, send_ledger& ledger,
                      std::chrono::milliseconds limit = 20s) {
    bool flushed = false;
    std::error_code flush_ec;
    p.flush([&](std::error_code ec) {
        flushed = true;
        flush_ec = ec;
    });
    const bool done = run_until(io, [&] { return flushed && ledger.all_completed(); }, limit);
    EXPECT_TRUE(flushed) << "flush did not complete within " << limit.count() << " ms";
    EXPECT_FALSE(flush_ec) << flush_ec.message();
    EXPECT_EQ(ledger.completed(), ledger.size()) << "sends still pending after " << limit.count() << " ms";
    EXPECT_EQ(ledger.extra_completions(), 0u) << "sends completed more than once";
    return done;
}

inline void print(const char* what, const log_report& r) {
    std::cout << "[ report   ] " << what << ": " << r.acked << " acked, " << r.failed << " failed, " << r.stored_batches
              << " batches stored, " << r.deduplicable_copies << " copies a broker would deduplicate, " << r.rejected_copies
              << " it would reject as out of sequence, " << r.sequence_violations << " sequence violations, "
              << r.producer_ids << " producer id/epoch(s)\n";
}

inline void expect_all_acked(const send_ledger& ledger) {
    EXPECT_EQ(ledger.failed(), 0u);
    int shown = 0;
    for (const auto& r : ledger.records())
        if (r->completions && r->ec && shown++ < 5) ADD_FAILURE() << r->value << " failed: " << r->ec.message();
}

}  // namespace kwire::test

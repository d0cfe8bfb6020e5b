// Producer scenarios under chaos (issue 11): kwire's producer writes a keyed stream to a cluster
// whose brokers apply Kafka's producer-state rules (support_rules_broker.hpp), through the seeded
// chaos proxy (support_chaos_proxy.hpp) that kills, resets, delays and splits its connections at
// any byte; some scenarios also move partition leaders or let records expire in flight. Then the
// chaos stops, the producer flushes, and the checker (support_checker.hpp) compares every send
// with the stored logs: counts per anomaly class, and a failure on any broken promise.
//
// KWIRE_CHAOS_SEED replays a run (every scenario prints its seed); KWIRE_CHAOS_SECONDS sets how
// long each scenario sends under chaos (default 3). scripts/chaos.sh loops over random seeds.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include "kwire/client/error.hpp"
#include "kwire/client/producer.hpp"
#include "kcat.hpp"
#include "mock_cluster.hpp"
#include "support_chaos_env.hpp"
#include "support_chaos_proxy.hpp"
#include "support_checker.hpp"
#include "support_rules_broker.hpp"

namespace kwire::test {
namespace {

using namespace std::chrono_literals;

struct scenario {
    std::string name;
    client::acks required_acks = client::acks::all;
    bool idempotent = true;
    std::chrono::milliseconds linger = 0ms;
    codec::compression compression = codec::compression::none;
    bool compression_executor = false;
    int brokers = 3;
    int partitions = 6;
    bool leader_moves = false;
    /// delivery.timeout.ms short enough that records expire in flight and while retrying: every
    /// 80th Produce is held by the broker for longer (then applied and answered, too late).
    std::optional<std::chrono::milliseconds> delivery_timeout{};
};

/// The cluster a scenario writes to: its brokers' addresses, how to move a leader, and how to read
/// back what it stored.
struct peer {
    std::vector<std::string> addresses;
    std::function<void(int partition, int node)> move_leader;
    std::function<stored_logs()> logs;
    std::function<std::string()> report;
    /// The peer stores a batch again when it is sent again (librdkafka's mock does not check an
    /// idempotent producer's sequences): duplicates are the peer's, not the producer's.
    bool stores_resent_batches = false;
};

const std::string topic = "chaos";

/// Brokers that apply Kafka's producer-state rules (support_rules_broker.hpp).
peer rules_peer(const scenario& s, std::unique_ptr<rules_cluster>& keep) {
    keep = std::make_unique<rules_cluster>(s.brokers);
    auto& rc = *keep;
    rc.add_topic(topic, s.partitions);
    if (s.delivery_timeout) {
        auto produces = std::make_shared<std::atomic<int>>(0);
        const auto stall = *s.delivery_timeout + 100ms;
        rc.produce_hook = [produces, stall](const scripted_request&) {
            if (++*produces % 80 == 0) std::this_thread::sleep_for(stall);
            return produce_fault::none;
        };
    }
    return {rc.cluster().addresses(),
            [&rc](int partition, int node) { rc.set_leader(topic, partition, node); },
            [&rc, n = s.partitions] { return stored(rc, topic, n); },
            [&rc] {
                const auto c = rc.counters();
                std::ostringstream os;
                os << "broker: produce_requests=" << c.produce_requests << " duplicates=" << c.duplicates
                   << " out_of_order=" << c.out_of_order << " invalid_epoch=" << c.invalid_epoch
                   << " not_leader=" << c.not_leader << " init_producer_ids=" << c.init_producer_ids;
                return os.str();
            },
            false};
}

/// librdkafka's mock cluster, read back with kcat.
peer mock_peer(const scenario& s, std::unique_ptr<peers::mock_cluster>& keep) {
    keep = std::make_unique<peers::mock_cluster>(s.brokers);
    auto& mc = *keep;
    mc.create_topic(topic, s.partitions, s.brokers);
    return {mc.broker_addresses(),
            [&mc](int partition, int node) { mc.partition_set_leader(topic, partition, node); },
            [&mc, n = s.partitions] {
                stored_logs logs;
                for (int p = 0; p < n; ++p) {
                    auto& out = logs[{topic, p}];
                    for (const auto& r : peers::kcat_consume(mc.bootstrap(), topic, p)) out.push_back({r.offset, r.value});
                }
                return logs;
            },
            [] { return std::string("broker: librdkafka mock (stores resent batches again)"); },
            true};
}

void run(const scenario& s, bool on_mock = false) {
    const auto seed = chaos_seed_from_env();
    std::mt19937_64 rng(seed ^ std::hash<std::string>{}(s.name));
    std::unique_ptr<rules_cluster> rules;
    std::unique_ptr<peers::mock_cluster> mock;
    const auto cluster = on_mock ? mock_peer(s, mock) : rules_peer(s, rules);

    chaos_settings cs;
    cs.seed = seed;
    cs.fault_probability = 0.01;
    chaos_proxy proxy(cluster.addresses, cs);

    producer_config cfg;
    cfg.bootstrap_servers = proxy.addresses();
    cfg.required_acks = s.required_acks;
    cfg.enable_idempotence = s.idempotent;
    cfg.linger = s.linger;
    cfg.compression = s.compression;
    cfg.request_timeout = 2s;
    cfg.delivery_timeout = s.delivery_timeout.value_or(60s);
    cfg.retry_backoff = 10ms;
    cfg.retry_backoff_max = 100ms;
    cfg.reconnect_backoff = 10ms;
    cfg.reconnect_backoff_max = 100ms;
    cfg.socket_connection_setup_timeout = 2s;
    std::optional<boost::asio::thread_pool> pool;
    if (s.compression_executor) {
        pool.emplace(2);
        cfg.compression_executor = pool->get_executor();
    }

    boost::asio::io_context io;
    produce_ledger ledger;
    std::size_t leader_moves = 0;
    {
        producer p(io.get_executor(), cfg);
        const auto until = std::chrono::steady_clock::now() + chaos_duration_from_env(3s);
        auto next_move = std::chrono::steady_clock::now() + 200ms;
        std::uniform_int_distribution<int> burst(1, 16), key(0, 96), partition(0, s.partitions - 1),
            broker(1, s.brokers);
        while (std::chrono::steady_clock::now() < until) {
            if (ledger.size() - ledger.completed() < 4000) {
                const int n = burst(rng);
                for (int i = 0; i < n; ++i) ledger.send(p, topic, "k" + std::to_string(key(rng)));
            }
            if (s.leader_moves && std::chrono::steady_clock::now() >= next_move) {
                cluster.move_leader(partition(rng), broker(rng));
                ++leader_moves;
                next_move += 250ms;
            }
            io.restart();
            io.run_for(1ms);
        }
        proxy.pause();
        bool flushed = false;
        p.flush([&](std::error_code) { flushed = true; });
        const bool done = run_until(io, [&] { return flushed && ledger.all_completed(); }, 60s);
        EXPECT_TRUE(done) << "sends still pending after the chaos stopped: " << ledger.size() - ledger.completed()
                          << " (seed " << seed << ")";
    }
    pool.reset();

    check_options options;
    options.details = &std::cout;
    if (s.delivery_timeout) options.allowed_errors.push_back(make_error_code(client::client_errc::delivery_timed_out));
    auto a = check(ledger, cluster.logs(), options);
    std::cout << "[ chaos ] producer/" << s.name << " seed=" << seed << " sent=" << ledger.size() << " | " << a
              << "\n[ chaos ]   proxy: " << proxy.report() << " leader_moves=" << leader_moves << "\n[ chaos ]   "
              << cluster.report() << "\n";
    if (cluster.stores_resent_batches) a.duplicated = 0;  // the mock's, counted above
    EXPECT_EQ(a.violations(s.idempotent), 0u)
        << "producer/" << s.name << ": " << a << "\nreplay: KWIRE_CHAOS_SEED=" << seed
        << " kwire-chaos-tests --gtest_filter=ProducerChaos.*";
    EXPECT_GT(a.acknowledged, 0u) << "nothing got through: the scenario tested nothing";
    EXPECT_GT(proxy.kills(), 0u) << "no connection was killed: the scenario tested nothing";
}

TEST(ProducerChaos, IdempotentAcksAllLingerZero) { run({.name = "idempotent-acks-all-linger0"}); }

TEST(ProducerChaos, IdempotentLingerFive) { run({.name = "idempotent-linger5", .linger = 5ms}); }

TEST(ProducerChaos, IdempotentOnePartitionPerBroker) {
    run({.name = "idempotent-one-partition-per-broker", .partitions = 3});
}

TEST(ProducerChaos, IdempotentInlineCompression) {
    run({.name = "idempotent-lz4-inline", .linger = 2ms, .compression = codec::compression::lz4});
}

TEST(ProducerChaos, IdempotentCompressionExecutor) {
    run({.name = "idempotent-zstd-executor",
         .linger = 2ms,
         .compression = codec::compression::zstd,
         .compression_executor = true});
}

TEST(ProducerChaos, IdempotentLeaderMoves) {
    run({.name = "idempotent-leader-moves", .linger = 2ms, .leader_moves = true});
}

TEST(ProducerChaos, IdempotentDeliveryTimeoutInFlight) {
    run({.name = "idempotent-delivery-timeout", .linger = 2ms, .delivery_timeout = 300ms});
}

// The second peer: librdkafka's mock cluster, which does not check sequences (so a batch sent
// again is stored again: duplicates are allowed here, order and loss are not), read back by kcat.
TEST(ProducerChaos, IdempotentAgainstTheMockWithLeaderMoves) {
    run({.name = "idempotent-mock-leader-moves", .linger = 2ms, .leader_moves = true}, true);
}

TEST(ProducerChaos, AcksOneWithoutIdempotence) {
    run({.name = "acks1-not-idempotent", .required_acks = client::acks::leader, .idempotent = false});
}

TEST(ProducerChaos, AcksAllWithoutIdempotenceLingerFive) {
    run({.name = "acks-all-not-idempotent-linger5", .idempotent = false, .linger = 5ms});
}

}  // namespace
}  // namespace kwire::test

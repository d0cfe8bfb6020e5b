// Deterministic regressions for the reordering issue 11 found under chaos: a connection dies with
// several Produce requests on it, and the producer must not let a later batch of a partition
// reach the broker before an earlier one that died with the connection. The broker applies
// Kafka's producer-state rules (support_rules_broker.hpp), under which a producer it has no state
// for may start at any sequence -- so a later batch that arrives first is stored first.
//
// The timing is scripted, not left to luck: the broker holds the first Produce after the test
// arms it until the test has lined up the requests it wants on the connection, then closes the
// connection without applying anything. The client learns of the failure request by request.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <future>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "kwire/client/error.hpp"
#include "kwire/client/producer.hpp"
#include "support_checker.hpp"
#include "support_rules_broker.hpp"

namespace kwire::test {
namespace {

using namespace std::chrono_literals;

producer_config ordering_config(rules_cluster& rc) {
    producer_config cfg;
    cfg.bootstrap_servers = rc.cluster().addresses();
    cfg.linger = 0ms;
    cfg.max_in_flight_per_connection = 5;
    cfg.retry_backoff = 20ms;
    cfg.retry_backoff_max = 100ms;
    cfg.reconnect_backoff = 20ms;
    cfg.reconnect_backoff_max = 100ms;
    cfg.request_timeout = 5s;
    cfg.delivery_timeout = 20s;
    return cfg;
}

/// Holds the first Produce that arrives once armed, until released; then closes its connection
/// without applying it (nor anything queued behind it on that connection).
struct held_produce {
    std::mutex mutex;
    bool armed = false;
    bool holding = false;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();

    produce_fault operator()(const scripted_request&) {
        {
            std::lock_guard lock(mutex);
            if (!armed) return produce_fault::none;
            armed = false;
            holding = true;
        }
        released.wait();
        return produce_fault::close_before_apply;
    }
    bool is_holding() {
        std::lock_guard lock(mutex);
        return holding;
    }
};

/// Sends one record to `partition` and gives the producer a moment to write what it can.
void send_one(boost::asio::io_context& io, producer& p, produce_ledger& ledger, const std::string& topic, int partition) {
    ledger.send(p, topic, "p" + std::to_string(partition), partition);
    run_until(io, [] { return false; }, 30ms);
}

/// The scripted cut, on one broker with topic "order" (3 partitions): the producer first writes
/// one record to each of `warm` (and waits for them), so that those partitions are known to the
/// broker; then two records for partition 0 (the broker holds the first), then four for
/// partition 1 (three requests, and a fourth that waits for room on the connection: the
/// producer allows five requests per connection); then the broker closes the connection
/// without applying any of them, and the producer recovers. Returns the checker's counts.
anomaly_counts cut_behind_partition_zero(rules_cluster& rc, std::initializer_list<int> warm) {
    auto hold = std::make_shared<held_produce>();
    rc.produce_hook = [hold](const scripted_request& r) { return (*hold)(r); };
    boost::asio::io_context io;
    produce_ledger ledger;
    anomaly_counts a;
    {
        producer p(io.get_executor(), ordering_config(rc));
        for (const int partition : warm) ledger.send(p, "order", "p" + std::to_string(partition), partition);
        EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, 10s));
        EXPECT_EQ(ledger.acknowledged(), warm.size());
        {
            std::lock_guard lock(hold->mutex);
            hold->armed = true;
        }
        send_one(io, p, ledger, "order", 0);  // held by the broker
        EXPECT_TRUE(run_until(io, [&] { return hold->is_holding(); }, 5s));
        send_one(io, p, ledger, "order", 0);
        for (int i = 0; i < 4; ++i) send_one(io, p, ledger, "order", 1);
        hold->release.set_value();

        EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, 15s)) << "sends still pending";
        a = check(ledger, stored(rc, "order", 3), {{}, &std::cout});
        std::cout << "[ report ] " << a << "\n";
    }
    return a;
}

// Partition 1 has never been written by this producer: its first batch dies with a connection
// behind two requests of partition 0, while a later batch of partition 1 waits for room on the
// connection. Before the fix, the drain that ran between two failure reports sent that later
// batch on the connection's next life, ahead of the retried first batch; the broker, with no
// state for the producer on partition 1, stored it first, and the first batch landed after an
// epoch bump, behind it.
TEST(ProducerOrdering, AFirstBatchLostWithAConnectionIsNotOvertaken) {
    rules_cluster rc(1);
    rc.add_topic("order", 3);
    // Warmed up on partition 2 only: producer id, metadata and the connection are in place.
    const auto a = cut_behind_partition_zero(rc, {2});
    EXPECT_EQ(a.violations(true), 0u) << a;
    EXPECT_EQ(a.acknowledged, 7u) << "every send acknowledged";
}

// Partition 1 is known to the broker (acknowledged before), so it pipelines; a connection dies
// with two requests of partition 0 ahead of three of partition 1, while a fourth waits for room.
// A batch sent on the connection's next life before the three are retried reaches the broker out
// of sequence: it must not be sent there at all (the broker never has to reject one).
TEST(ProducerOrdering, NothingIsSentOnANewConnectionAheadOfBatchesLostWithTheOld) {
    rules_cluster rc(1);
    rc.add_topic("order", 3);
    const auto a = cut_behind_partition_zero(rc, {0, 1});
    EXPECT_EQ(a.violations(true), 0u) << a;
    EXPECT_EQ(rc.counters().out_of_order, 0) << "a batch reached the broker ahead of an earlier one";
}

// An epoch bump must not renumber a batch that the broker may already hold. Batch 1 of a known
// partition is held by the broker past its delivery timeout (it expires in flight, so the
// producer must bump its epoch: its outcome is unknown), then written and answered too late;
// batch 2, pipelined behind it, is written but its answer is lost with the connection. Renumbered
// under the new epoch, batch 2 would be a new batch to the broker and stored twice; sent again
// under its old numbers first, the broker recognises it and answers with its original offset.
TEST(ProducerOrdering, AnEpochBumpDoesNotRenumberABatchTheBrokerMayHold) {
    rules_cluster rc(1);
    rc.add_topic("order", 1);
    auto produces = std::make_shared<std::atomic<int>>(0);
    rc.produce_hook = [produces](const scripted_request&) {
        const int n = ++*produces;
        if (n == 2) std::this_thread::sleep_for(700ms);  // batch 1: past its delivery timeout
        return n == 3 ? produce_fault::close_after_apply : produce_fault::none;  // batch 2
    };

    boost::asio::io_context io;
    produce_ledger ledger;
    {
        auto cfg = ordering_config(rc);
        cfg.delivery_timeout = 600ms;
        producer p(io.get_executor(), cfg);
        ledger.send(p, "order", "p0", 0);  // known to the broker from here on
        ASSERT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, 10s));
        ASSERT_EQ(ledger.acknowledged(), 1u);

        ledger.send(p, "order", "p0", 0);  // batch 1, held by the broker
        run_until(io, [] { return false; }, 300ms);
        ledger.send(p, "order", "p0", 0);  // batch 2
        EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, 10s)) << "sends still pending";
        check_options options{{make_error_code(client::client_errc::delivery_timed_out)}, &std::cout};
        const auto a = check(ledger, stored(rc, "order", 1), options);
        std::cout << "[ report ] " << a << "\n";
        EXPECT_EQ(a.violations(true), 0u) << a;
        EXPECT_EQ(a.failed, 1u) << "batch 1 expired in flight";
        EXPECT_EQ(a.failed_stored, 1u) << "... and was stored all the same";
        EXPECT_EQ(rc.counters().duplicates, 1) << "batch 2 was recognised as the batch already stored";
    }
}

}  // namespace
}  // namespace kwire::test

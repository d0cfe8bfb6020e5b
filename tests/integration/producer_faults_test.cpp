// The producer under faults, against librdkafka's mock cluster (3 brokers; a topic of three
// partitions, partition p led by broker p + 1): brokers going down and up, leaders moving,
// Produce errors injected by the broker, a broker slower than request.timeout.ms, connections
// killed mid-request (by the mock, and by a TCP proxy between the producer and the brokers),
// delivery.timeout.ms, flush, close and destruction with records pending.
//
// Every test sends sequence-numbered values ("<topic>/p<partition>-<n>") to explicit
// partitions, then reads every partition back from its leader and checks, per partition, that
// each acknowledged record is stored exactly once at the offset its delivery reported, that the
// log is in send order, that every send completed exactly once, and that failures carry the
// error the test expects (support_log_check.hpp).
//
// What this mock can and cannot prove. librdkafka 2.0.2's mock never checks an idempotent
// producer's sequence numbers (it does for transactional producers only). So:
//  - where the broker certainly did NOT write a request (an injected error code, NOT_LEADER
//    from a partition that moved, a connection the broker refused), any second copy in the log
//    is a producer bug, and those tests allow none;
//  - where the broker may have written a request whose answer was lost (a cut connection, a
//    request timeout, a broker going down with answers queued), a correct idempotent producer
//    re-sends the batch with the same producer id, epoch and sequence, which a real broker
//    would discard as a duplicate and the mock stores again. The checker replays the stored
//    batches through the broker's idempotence rules and checks the deduplicated log; a copy that
//    would NOT be deduplicated (renumbered, or under a new epoch) shows up as a duplicate record
//    and fails the test. What the mock cannot show is the broker's side of the bargain
//    (DUPLICATE_SEQUENCE_NUMBER / OUT_OF_ORDER_SEQUENCE_NUMBER answers): the producer's
//    handling of those is only exercised by injecting the error codes;
//  - the mock answers every request in a pipeline independently, where a real broker would
//    reject the batches behind a failed one with OUT_OF_ORDER_SEQUENCE_NUMBER. An injected
//    error that hits one request of several in flight for a partition would let the mock store
//    the later batches first -- a reordering no real broker allows. The injected-error tests
//    therefore run with max.in.flight.requests.per.connection=1 (one request per broker at a
//    time, each broker leading one partition); pipelining is exercised by the connection-level
//    faults (down, cut, timeout), which fail everything in flight at once, as with a real broker.
#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "producer_faults_support.hpp"
#include "support_log_check.hpp"
#include "support_proxy.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::client::client_errc;
using kwire::test::check_log;
using kwire::test::cluster_fixture;
using kwire::test::expect_all_acked;
using kwire::test::fast_config;
using kwire::test::flush_all;
using kwire::test::leaders_move;
using kwire::test::log_expectations;
using kwire::test::log_report;
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

// ---------------------------------------------------------------------------------------------
// Brokers and leaders

// Partition 0's leader goes down while records stream to every partition, and comes back. The
// mock closes the broker's connections (answers it had queued are lost: their requests may have
// been written) and refuses new ones; the producer keeps partition 0's records until the broker
// is back, while the other partitions carry on. Nothing may fail, be lost or reordered.
TEST(ProducerFaults, BrokerDownAndUpWhileSending) {
    cluster_fixture f("down-up");
    boost::asio::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), fast_config(f.mc.broker_addresses()));
    test_clock::time_point up_at{};
    stream(io, p, ledger, f.topic, 60, 10ms, [&](int i) {
        if (i == 15) f.mc.broker_set_down(1);
        if (i == 45) {
            f.mc.broker_set_up(1);
            up_at = test_clock::now();
        }
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    // The outage was felt: partition 0 held records until its leader came back.
    EXPECT_TRUE(std::any_of(ledger.records().begin(), ledger.records().end(), [&](const auto& r) {
        return r->partition == 0 && r->sent_at < up_at && r->completed_at > up_at;
    }));
    print("down-up", check_log(f.mc, f.topic, ledger, {.allow_deduplicable_copies = true, .failure_allowed = {}}));
}

// Leaders move mid-stream. The old leader answers NOT_LEADER_OR_FOLLOWER without writing
// anything, so the log may hold no second copy. To make the interesting interleaving certain,
// partition 1's leader (broker 2) turns slow as partition 1 moves to broker 3, and partition 0
// moves at the same moment (broker 1 -> 3): partition 1's next batches still go to broker 2,
// whose NOT_LEADER takes 300 ms, while partition 0's quick NOT_LEADER makes the producer
// refresh its metadata and learn partition 1's new leader. A producer that then sends partition 1's next batches to
// broker 3 has one partition in flight to two brokers: broker 3 writes the later batches
// before broker 2's NOT_LEADER sends the earlier ones back for a retry. (A real broker would
// reject those later batches with OUT_OF_ORDER_SEQUENCE_NUMBER, from the producer id's state,
// and an idempotent producer would retry them in order; the mock does not check sequences, so
// it stores them out of order. Without idempotence nothing saves the order: see
// LeaderMovesWithoutIdempotenceKeepsOrderAtOneInFlight.)
TEST(ProducerFaults, LeaderMovesMidStream) {
    cluster_fixture f("leader-moves");
    boost::asio::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), fast_config(f.mc.broker_addresses()));
    stream(io, p, ledger, f.topic, 50, 10ms, leaders_move(f));
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    print("leader-moves", check_log(f.mc, f.topic, ledger, {}));
}

// The same move with the classic strict-ordering configuration: no idempotence, one request
// in flight per connection. Here the broker checks nothing, so only the producer can keep a
// partition's records in order: it must not send a partition's next batch to the new leader
// while an earlier one is still in flight to the old leader.
TEST(ProducerFaults, LeaderMovesWithoutIdempotenceKeepsOrderAtOneInFlight) {
    cluster_fixture f("leader-moves-plain");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.enable_idempotence = false;
    cfg.max_in_flight_per_connection = 1;
    kwire::producer p(io.get_executor(), cfg);
    stream(io, p, ledger, f.topic, 50, 10ms, [&](int i) {
        if (i == 12) {
            f.mc.broker_set_rtt(2, 300);
            f.mc.partition_set_leader(f.topic, 1, 3);
            f.mc.partition_set_leader(f.topic, 0, 3);
        }
        if (i == 30) f.mc.broker_set_rtt(2, 0);
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    print("leader-moves-plain", check_log(f.mc, f.topic, ledger, {}));
}

// ---------------------------------------------------------------------------------------------
// Produce errors from the broker

struct injected {
    std::int16_t code;
    const char* name;
};
void PrintTo(const injected& e, std::ostream* os) { *os << e.name << " (" << e.code << ")"; }

// A retriable error (or one the idempotent producer recovers from) answers some Produce
// requests; the records are retried and all delivered. The mock writes nothing for a request
// it answers with an injected error, so the log may hold no second copy. OUT_OF_ORDER_SEQUENCE
// _NUMBER and UNKNOWN_PRODUCER_ID make the producer bump its epoch (KIP-360) and renumber: the
// replayed sequence rules check that the new epoch starts at 0 and continues without a gap.
class InjectedRetriable : public ::testing::TestWithParam<injected> {};

TEST_P(InjectedRetriable, RecordsAreRetriedAndDeliveredOnce) {
    const auto e = GetParam();
    cluster_fixture f(std::string("injected-") + e.name);
    kwire::test::kafka_proxy proxy(f.mc.broker_addresses());  // only to count the requests
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(proxy.addresses());
    cfg.max_in_flight_per_connection = 1;  // see the header: the mock does not reject what follows a failed batch
    kwire::producer p(io.get_executor(), cfg);
    stream(io, p, ledger, f.topic, 40, 5ms, [&](int i) {
        if (i == 10) f.mc.push_request_errors(produce_api, {e.code, e.code});
        if (i == 25) f.mc.push_request_errors(produce_api, {e.code});
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    const auto report = check_log(f.mc, f.topic, ledger, {});
    // The three errors were served: each Produce request carries one partition's batch (one
    // partition per broker), so three requests more than stored batches.
    EXPECT_GE(proxy.requests(produce_api), static_cast<int>(report.stored_batches) + 3);
    print(e.name, report);
}

INSTANTIATE_TEST_SUITE_P(ProducerFaults, InjectedRetriable,
                         ::testing::Values(injected{6, "NOT_LEADER_OR_FOLLOWER"}, injected{7, "REQUEST_TIMED_OUT"},
                                           injected{19, "NOT_ENOUGH_REPLICAS"},
                                           injected{20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"},
                                           injected{45, "OUT_OF_ORDER_SEQUENCE_NUMBER"},
                                           injected{59, "UNKNOWN_PRODUCER_ID"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A non-retriable error answers one Produce request: exactly the records of that request fail,
// with that error, and are not stored; everything before and after is delivered in order (the
// idempotent producer bumps its epoch over the gap the failed batch leaves).
class InjectedFatal : public ::testing::TestWithParam<injected> {};

TEST_P(InjectedFatal, FailsExactlyTheAffectedRecords) {
    const auto e = GetParam();
    cluster_fixture f(std::string("fatal-") + e.name);
    boost::asio::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), fast_config(f.mc.broker_addresses()));
    stream(io, p, ledger, f.topic, 3, 5ms);
    ASSERT_TRUE(flush_all(io, p, ledger));

    // Nothing else in flight: the next Produce request is partition 0's batch of these five.
    f.mc.push_request_errors(produce_api, {e.code});
    std::vector<std::size_t> doomed;
    for (int i = 0; i < 5; ++i) doomed.push_back(ledger.send(p, f.topic, 0));
    ASSERT_TRUE(flush_all(io, p, ledger));
    for (auto i : doomed) EXPECT_EQ(ledger[i].ec, kwire::kafka_error(e.code)) << ledger[i].value << ": " << ledger[i].ec.message();

    stream(io, p, ledger, f.topic, 20, 5ms);
    ASSERT_TRUE(flush_all(io, p, ledger));
    EXPECT_EQ(ledger.failed(), doomed.size());
    print(e.name, check_log(f.mc, f.topic, ledger,
                            {.failure_allowed = [&](const sent_record& r) {
                                 return std::find(doomed.begin(), doomed.end(), r.index) != doomed.end() &&
                                        r.ec == kwire::kafka_error(e.code);
                             }}));
}

INSTANTIATE_TEST_SUITE_P(ProducerFaults, InjectedFatal,
                         ::testing::Values(injected{10, "MESSAGE_TOO_LARGE"}, injected{87, "INVALID_RECORD"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// ---------------------------------------------------------------------------------------------
// A slow broker

// Broker 1 answers 1.5 s late with request.timeout.ms at 500 ms, for a while: its requests
// time out (the connection is failed, as a timed-out pipeline cannot be trusted) and are
// retried until it is fast again. The mock wrote every timed-out request, so the log holds
// copies a real broker would deduplicate; the deduplicated log must be exact.
TEST(ProducerFaults, SlowBrokerBeyondRequestTimeoutRecovers) {
    cluster_fixture f("slow-broker");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.request_timeout = 500ms;
    kwire::producer p(io.get_executor(), cfg);
    stream(io, p, ledger, f.topic, 10, 10ms);
    f.mc.broker_set_rtt(1, 1500);
    stream(io, p, ledger, f.topic, 20, 10ms);
    run_for(io, 1500ms);
    f.mc.broker_set_rtt(1, 0);
    stream(io, p, ledger, f.topic, 10, 10ms);
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    print("slow-broker", check_log(f.mc, f.topic, ledger, {.allow_deduplicable_copies = true, .failure_allowed = {}}));
}

// Broker 1 stays slower than request.timeout.ms: partition 0's records fail with
// delivery_timed_out once delivery.timeout.ms has passed (not before, and not much after:
// the last request may take request.timeout.ms), the other partitions are unaffected. The
// failed records' outcome is unknown (the mock wrote the timed-out requests).
TEST(ProducerFaults, SlowBrokerRecordsFailAtDeliveryTimeout) {
    cluster_fixture f("slow-timeout");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.request_timeout = 500ms;
    cfg.delivery_timeout = 2000ms;
    kwire::producer p(io.get_executor(), cfg);
    stream(io, p, ledger, f.topic, 2, 5ms);
    ASSERT_TRUE(flush_all(io, p, ledger));
    const auto warm = ledger.size();

    f.mc.broker_set_rtt(1, 1500);
    stream(io, p, ledger, f.topic, 10, 10ms);
    EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, 6s));
    for (std::size_t i = warm; i < ledger.size(); ++i) {
        const auto& r = ledger[i];
        if (!r.completions) continue;
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(r.completed_at - r.sent_at);
        if (r.partition == 0) {
            EXPECT_EQ(r.ec, client_errc::delivery_timed_out) << r.value << ": " << r.ec.message();
            EXPECT_GE(took, cfg.delivery_timeout - cfg.linger - 20ms) << r.value << " failed early";
            EXPECT_LE(took, cfg.delivery_timeout + cfg.request_timeout + 1000ms) << r.value << " failed late";
        } else {
            EXPECT_FALSE(r.ec) << r.value << ": " << r.ec.message();
        }
    }
    f.mc.broker_set_rtt(1, 0);
    print("slow-timeout",
          check_log(f.mc, f.topic, ledger,
                    {.failed_may_be_stored = true,
                     .allow_deduplicable_copies = true,
                     .failure_allowed = [](const sent_record& r) {
                         return r.partition == 0 && r.ec == client_errc::delivery_timed_out;
                     }}));
}

// ---------------------------------------------------------------------------------------------
// Connections killed mid-request

// The mock drops the connection when a Produce request arrives (-195, librdkafka's
// __TRANSPORT), with up to five requests pipelined on it: that request is not written; ones
// read before it in the same poll may be written with their answers lost.
TEST(ProducerFaults, BrokerDropsConnectionOnProduce) {
    cluster_fixture f("mock-drops");
    kwire::test::kafka_proxy proxy(f.mc.broker_addresses());  // only to count the connections
    boost::asio::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), fast_config(proxy.addresses()));
    int accepted_before = 0;
    stream(io, p, ledger, f.topic, 50, 5ms, [&](int i) {
        if (i == 10) {
            accepted_before = proxy.accepted();
            f.mc.push_request_errors(produce_api, {-195});
        }
        if (i == 25) f.mc.push_request_errors(produce_api, {-195, -195});
        if (i == 40) f.mc.push_request_errors(produce_api, {-195});
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    // Four requests are dropped, but the two pushed together may both hit one connection (the
    // mock still reads what was pipelined behind the first): at least three reconnects.
    EXPECT_GE(proxy.accepted() - accepted_before, 3) << "each dropped connection is made again";
    print("mock-drops", check_log(f.mc, f.topic, ledger, {.allow_deduplicable_copies = true, .failure_allowed = {}}));
}

// Every connection (bootstrap, leaders) goes through the proxy, which cuts them all, several
// times, while requests are in flight.
TEST(ProducerFaults, ProxyCutsEveryConnectionMidStream) {
    cluster_fixture f("proxy-cut-all");
    kwire::test::kafka_proxy proxy(f.mc.broker_addresses());
    boost::asio::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), fast_config(proxy.addresses()));
    stream(io, p, ledger, f.topic, 50, 5ms, [&](int i) {
        if (i % 10 == 9) proxy.cut_all();
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    EXPECT_GT(proxy.metadata_rewritten(), 0);
    EXPECT_EQ(proxy.metadata_undecodable(), 0);
    EXPECT_GT(proxy.forced_cuts(), 0);
    print("proxy-cut-all", check_log(f.mc, f.topic, ledger, {.allow_deduplicable_copies = true, .failure_allowed = {}}));
}

// The proxy lets Produce requests reach the broker, waits for the broker's answer (so the batch
// is certainly written), drops the answer and cuts the connection. The producer must re-send
// the batch unchanged -- same producer id, epoch and sequence, which a real broker deduplicates
// -- so the mock holds exactly one extra copy per cut, and the deduplicated log is exact.
TEST(ProducerFaults, ProxyLosesTheAnswerToAWrittenBatch) {
    cluster_fixture f("proxy-lost-answer");
    kwire::test::kafka_proxy proxy(f.mc.broker_addresses());
    boost::asio::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), fast_config(proxy.addresses()));
    stream(io, p, ledger, f.topic, 40, 5ms, [&](int i) {
        if (i == 10) proxy.cut_after(produce_api, 1);
        if (i == 25) proxy.cut_after(produce_api, 2);
    });
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    EXPECT_EQ(proxy.answered_cuts(), 3);
    const auto report = check_log(f.mc, f.topic, ledger, {.allow_deduplicable_copies = true, .failure_allowed = {}});
    EXPECT_GE(report.deduplicable_copies, static_cast<std::size_t>(proxy.answered_cuts()))
        << "each batch whose answer was lost is stored again when re-sent";
    print("proxy-lost-answer", report);
}

// ---------------------------------------------------------------------------------------------
// delivery.timeout.ms

// Every broker goes down after the producer has metadata and a producer id: every record fails
// with delivery_timed_out, no earlier than delivery.timeout.ms and within a bounded slack.
TEST(ProducerFaults, DeliveryTimeoutWithAllBrokersDown) {
    cluster_fixture f("all-down");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.delivery_timeout = 1500ms;
    cfg.request_timeout = 1000ms;
    kwire::producer p(io.get_executor(), cfg);
    stream(io, p, ledger, f.topic, 2, 5ms);
    ASSERT_TRUE(flush_all(io, p, ledger));
    const auto warm = ledger.size();

    for (int b = 1; b <= 3; ++b) f.mc.broker_set_down(b);
    stream(io, p, ledger, f.topic, 5, 10ms);
    EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, cfg.delivery_timeout + 4s));
    for (std::size_t i = warm; i < ledger.size(); ++i) {
        const auto& r = ledger[i];
        ASSERT_EQ(r.completions, 1) << r.value;
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(r.completed_at - r.sent_at);
        EXPECT_EQ(r.ec, client_errc::delivery_timed_out) << r.value << ": " << r.ec.message();
        EXPECT_GE(took, cfg.delivery_timeout - cfg.linger - 20ms) << r.value << " failed early";
        EXPECT_LE(took, cfg.delivery_timeout + 1500ms) << r.value << " failed late";
    }
    for (int b = 1; b <= 3; ++b) f.mc.broker_set_up(b);
    print("all-down", check_log(f.mc, f.topic, ledger,
                                {.failure_allowed = [&](const sent_record& r) {
                                    return r.index >= warm && r.ec == client_errc::delivery_timed_out;
                                }}));
}

// No broker was ever reachable: the records wait for metadata and fail with delivery_timed_out.
TEST(ProducerFaults, DeliveryTimeoutWithoutMetadata) {
    cluster_fixture f("never-up");
    for (int b = 1; b <= 3; ++b) f.mc.broker_set_down(b);
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.delivery_timeout = 1000ms;
    cfg.request_timeout = 500ms;
    kwire::producer p(io.get_executor(), cfg);
    ledger.wave(p, f.topic, partitions);
    EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, cfg.delivery_timeout + 3s));
    for (const auto& r : ledger.records()) {
        ASSERT_EQ(r->completions, 1) << r->value;
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(r->completed_at - r->sent_at);
        EXPECT_EQ(r->ec, client_errc::delivery_timed_out) << r->value << ": " << r->ec.message();
        EXPECT_GE(took, cfg.delivery_timeout - cfg.linger - 20ms);
        EXPECT_LE(took, cfg.delivery_timeout + 1500ms);
    }
}

// A broker that accepts requests and never answers (within request.timeout.ms, here longer
// than delivery.timeout.ms): delivery.timeout.ms still bounds the time from send() to its
// completion. A producer may instead refuse such a configuration, as the Java client does
// (delivery.timeout.ms >= linger.ms + request.timeout.ms); both pass.
TEST(ProducerFaults, DeliveryTimeoutBoundsARequestNeverAnswered) {
    cluster_fixture f("never-answered");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.delivery_timeout = 1000ms;
    cfg.request_timeout = 4000ms;
    std::optional<kwire::producer> p;
    try {
        p.emplace(io.get_executor(), cfg);
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), client_errc::invalid_config);
        return;
    }
    stream(io, *p, ledger, f.topic, 1, 5ms);
    ASSERT_TRUE(flush_all(io, *p, ledger));
    const auto warm = ledger.size();

    f.mc.broker_set_rtt(1, 8000);
    for (int i = 0; i < 3; ++i) ledger.send(*p, f.topic, 0);
    EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, cfg.delivery_timeout + 5s));
    for (std::size_t i = warm; i < ledger.size(); ++i) {
        const auto& r = ledger[i];
        if (!r.completions) continue;
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(r.completed_at - r.sent_at);
        EXPECT_EQ(r.ec, client_errc::delivery_timed_out) << r.value << ": " << r.ec.message();
        EXPECT_LE(took, cfg.delivery_timeout + 1000ms)
            << r.value << " completed " << took.count() << " ms after send() with delivery.timeout.ms = "
            << cfg.delivery_timeout.count();
    }
    p.reset();
    f.mc.broker_set_rtt(1, 0);
}

// A batch that reaches its delivery deadline while its request waits for a connection that is
// still being set up: the send fails at the deadline, and when the connection comes up later the
// request (encoded only then) must still find the batch's bytes alive. (Under ASan a freed batch
// is a heap-use-after-free; without it, garbage on the wire.)
TEST(ProducerFaults, ABatchExpiredWhileItsRequestWaitsForTheConnectionKeepsItsBytes) {
    cluster_fixture f("expire-before-connect");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config({f.mc.broker_addresses()[1]});  // bootstrap from broker 2 only
    cfg.delivery_timeout = 1000ms;
    cfg.request_timeout = 6000ms;
    cfg.socket_connection_setup_timeout = 6000ms;
    cfg.linger = 0ms;
    std::optional<kwire::producer> p;
    try {
        p.emplace(io.get_executor(), cfg);
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), client_errc::invalid_config);
        return;
    }
    // Partition 0's leader is broker 1, whose first answer (ApiVersions) takes 2.5 s.
    f.mc.broker_set_rtt(1, 2500);
    for (int i = 0; i < 3; ++i) ledger.send(*p, f.topic, 0);
    EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, 5s));
    for (std::size_t i = 0; i < ledger.size(); ++i) EXPECT_EQ(ledger[i].ec, client_errc::delivery_timed_out);
    run_for(io, 4000ms);  // the connection comes up and the request goes out
    f.mc.broker_set_rtt(1, 0);
    run_for(io, 500ms);
    p.reset();
}

// ---------------------------------------------------------------------------------------------
// flush, close, destruction

// flush() completes only once every record sent before it is acknowledged: here through a
// linger that would otherwise hold them for seconds, and through retried requests.
TEST(ProducerFaults, FlushCompletesAfterEveryRecordIsAcknowledged) {
    cluster_fixture f("flush");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.linger = 10s;
    cfg.max_in_flight_per_connection = 1;
    kwire::producer p(io.get_executor(), cfg);
    ledger.wave(p, f.topic, partitions);
    run_for(io, 300ms);  // metadata and a producer id (see FlushSendsRecordsStillWaitingForMetadata)
    ASSERT_TRUE(flush_all(io, p, ledger, 5s));

    f.mc.push_request_errors(produce_api, {19, 19, 7});
    for (int i = 0; i < 20; ++i) ledger.wave(p, f.topic, partitions);
    bool flushed = false;
    std::size_t completed_at_flush = 0, acked_at_flush = 0;
    p.flush([&](std::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        flushed = true;
        completed_at_flush = ledger.completed();
        acked_at_flush = ledger.acked();
    });
    ASSERT_TRUE(run_until(io, [&] { return flushed; }, 5s)) << "flush did not complete";
    EXPECT_EQ(completed_at_flush, ledger.size()) << "flush completed before every send";
    EXPECT_EQ(acked_at_flush, ledger.size());
    print("flush", check_log(f.mc, f.topic, ledger, {}));
}

// Records sent before the topic's metadata is known wait for it, copied; a flush() made
// meanwhile covers them too: once the metadata arrives they must go out at once, not linger.
TEST(ProducerFaults, FlushSendsRecordsStillWaitingForMetadata) {
    cluster_fixture f("flush-waiting");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.linger = 10s;
    kwire::producer p(io.get_executor(), cfg);
    ledger.wave(p, f.topic, partitions);  // no metadata yet: nothing has run
    bool flushed = false;
    std::size_t acked_at_flush = 0;
    p.flush([&](std::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        flushed = true;
        acked_at_flush = ledger.acked();
    });
    EXPECT_TRUE(run_until(io, [&] { return flushed; }, 3s))
        << "flush() did not complete in 3 s: the records it covers are lingering (linger.ms = 10 s)";
    EXPECT_EQ(acked_at_flush, ledger.size());
    if (!flushed) return;  // the producer's destructor fails what is pending
    print("flush-waiting", check_log(f.mc, f.topic, ledger, {}));
}

// flush(timeout) reports request_timed_out when records are still outstanding at the timeout,
// and leaves them pending: they are delivered once their leader is back.
TEST(ProducerFaults, FlushWithTimeoutLeavesRecordsPending) {
    cluster_fixture f("flush-timeout");
    boost::asio::io_context io;
    send_ledger ledger;
    kwire::producer p(io.get_executor(), fast_config(f.mc.broker_addresses()));
    stream(io, p, ledger, f.topic, 2, 5ms);
    ASSERT_TRUE(flush_all(io, p, ledger));
    const auto warm = ledger.size();

    f.mc.broker_set_down(1);
    for (int i = 0; i < 5; ++i) ledger.send(p, f.topic, 0);
    bool flushed = false;
    std::error_code flush_ec;
    const auto flush_at = test_clock::now();
    test_clock::time_point flushed_at{};
    p.flush(300ms, [&](std::error_code ec) {
        flushed = true;
        flush_ec = ec;
        flushed_at = test_clock::now();
    });
    ASSERT_TRUE(run_until(io, [&] { return flushed; }, 3s));
    EXPECT_EQ(flush_ec, client_errc::request_timed_out) << flush_ec.message();
    EXPECT_GE(flushed_at - flush_at, 300ms);
    EXPECT_LE(flushed_at - flush_at, 1800ms);
    EXPECT_EQ(ledger.completed(), warm) << "flush(timeout) must leave the records pending";

    f.mc.broker_set_up(1);
    ASSERT_TRUE(flush_all(io, p, ledger));
    expect_all_acked(ledger);
    print("flush-timeout", check_log(f.mc, f.topic, ledger, {}));
}

// Destroying the producer with records in every state -- in flight to a broker that does not
// answer, lingering in open batches, waiting for a topic's metadata -- completes each of them,
// once, with operation_aborted, and completes a pending flush; nothing runs on the destroyed
// producer afterwards.
TEST(ProducerFaults, DestroyingTheProducerAbortsPendingSends) {
    cluster_fixture f("destroy");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.linger = 10s;
    cfg.request_timeout = 10s;
    std::optional<kwire::producer> p(std::in_place, io.get_executor(), cfg);
    ledger.wave(*p, f.topic, partitions);
    run_for(io, 300ms);  // metadata and a producer id (see FlushSendsRecordsStillWaitingForMetadata)
    ASSERT_TRUE(flush_all(io, *p, ledger, 5s));
    const auto warm = ledger.size();

    f.mc.broker_set_rtt(1, 5000);
    for (int i = 0; i < 5; ++i) ledger.send(*p, f.topic, 0);
    bool flushed = false;
    std::error_code flush_ec;
    p->flush([&](std::error_code ec) {
        flushed = true;
        flush_ec = ec;
    });
    run_for(io, 300ms);  // partition 0's batch is in flight to the slow broker
    for (int i = 0; i < 5; ++i) {
        ledger.send(*p, f.topic, 1);  // lingering
        ledger.send(*p, f.topic, 2);
    }
    ledger.send(*p, f.topic + "-other", 0);  // waiting for metadata (nothing ran since)
    EXPECT_EQ(ledger.completed(), warm);
    p.reset();
    EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed() && flushed; }, 3s));
    run_for(io, 300ms);  // whatever the connections still had pending runs and finds nothing
    EXPECT_TRUE(flushed);
    EXPECT_EQ(flush_ec, operation_aborted) << flush_ec.message();
    EXPECT_EQ(ledger.extra_completions(), 0u);
    for (std::size_t i = warm; i < ledger.size(); ++i) {
        EXPECT_EQ(ledger[i].completions, 1) << ledger[i].value;
        EXPECT_EQ(ledger[i].ec, operation_aborted) << ledger[i].value << ": " << ledger[i].ec.message();
    }
    f.mc.broker_set_rtt(1, 0);
    // Partition 0's batch reached the broker before the producer went away: its outcome is unknown.
    print("destroy", check_log(f.mc, f.topic, ledger,
                               {.failed_may_be_stored = true,
                                .allow_deduplicable_copies = false,
                                .failure_allowed = [](const sent_record& r) { return r.ec == operation_aborted; }}));
}

// close() first delivers what is pending -- lingering records, and records for a broker that is
// down when close() is called and comes back -- then completes; sends after it fail with closed.
TEST(ProducerFaults, CloseDeliversPendingRecordsFirst) {
    cluster_fixture f("close");
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.linger = 10s;
    kwire::producer p(io.get_executor(), cfg);
    ledger.wave(p, f.topic, partitions);
    run_for(io, 300ms);  // metadata and a producer id (see FlushSendsRecordsStillWaitingForMetadata)
    ASSERT_TRUE(flush_all(io, p, ledger, 5s));

    for (int i = 0; i < 20; ++i) ledger.wave(p, f.topic, partitions);
    f.mc.broker_set_down(2);
    bool closed = false;
    std::size_t completed_at_close = 0, acked_at_close = 0;
    p.close([&](std::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        closed = true;
        completed_at_close = ledger.completed();
        acked_at_close = ledger.acked();
    });
    run_for(io, 300ms);
    EXPECT_FALSE(closed) << "close() completed while partition 1's leader was down";
    f.mc.broker_set_up(2);
    ASSERT_TRUE(run_until(io, [&] { return closed; }, 10s)) << "close did not complete";
    EXPECT_EQ(completed_at_close, ledger.size());
    EXPECT_EQ(acked_at_close, ledger.size());

    const auto late = ledger.send(p, f.topic, 0);
    EXPECT_TRUE(run_until(io, [&] { return ledger.all_completed(); }, 2s));
    EXPECT_EQ(ledger[late].ec, client_errc::closed) << ledger[late].ec.message();
    print("close", check_log(f.mc, f.topic, ledger,
                             {.failure_allowed = [&](const sent_record& r) {
                                 return r.index == late && r.ec == client_errc::closed;
                             }}));
}

// close() when no broker can be reached: the pending records fail with delivery_timed_out at
// their deadline and close() completes; it must not wait forever.
TEST(ProducerFaults, CloseWithClusterUnreachableCompletesByDeliveryTimeout) {
    cluster_fixture f("close-unreachable");
    for (int b = 1; b <= 3; ++b) f.mc.broker_set_down(b);
    boost::asio::io_context io;
    send_ledger ledger;
    auto cfg = fast_config(f.mc.broker_addresses());
    cfg.delivery_timeout = 1000ms;
    cfg.request_timeout = 500ms;
    kwire::producer p(io.get_executor(), cfg);
    ledger.wave(p, f.topic, partitions);
    bool closed = false;
    p.close([&](std::error_code) { closed = true; });
    EXPECT_TRUE(run_until(io, [&] { return closed; }, cfg.delivery_timeout + 3s))
        << "close() did not complete within delivery.timeout.ms + 3 s";
    for (const auto& r : ledger.records()) {
        EXPECT_EQ(r->completions, 1) << r->value;
        if (r->completions) {
            EXPECT_EQ(r->ec, client_errc::delivery_timed_out) << r->value << ": " << r->ec.message();
        }
    }
}

}  // namespace

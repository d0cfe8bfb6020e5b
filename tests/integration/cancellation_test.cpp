// Per-operation cancellation through the completion handler's cancellation slot, driven both by
// bind_cancellation_slot with a signal the test emits and by awaitable operators (a timer racing
// the operation): poll, send, flush, commit and close, against librdkafka's mock cluster.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consumer_fixture.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/metadata.hpp"
#include "producer_fixture.hpp"

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using namespace net::experimental::awaitable_operators;
using kwire::test::bv;
using kwire::test::config_for;
using kwire::test::run_for;
using kwire::test::run_until;
using clock_type = std::chrono::steady_clock;

const boost::system::error_code aborted = net::error::operation_aborted;

kwire::consumer_config reader_config(const kwire::peers::mock_cluster& mc) {
    kwire::consumer_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.auto_offset_reset = kwire::client::offset_reset::earliest;
    cfg.fetch_max_wait = 20ms;
    return cfg;
}

/// Every value in partition 0 of `topic`, read from the beginning until `n` are there (or 10 s).
std::vector<std::string> read_back(const kwire::peers::mock_cluster& mc, const std::string& topic, std::size_t n) {
    net::io_context io;
    kwire::consumer c(io.get_executor(), reader_config(mc));
    c.assign({{topic, 0, kwire::offset::beginning}});
    kwire::test::driver d(c);
    d.start();
    run_until(io, [&] { return d.count() >= n; }, 10s);
    run_for(io, 300ms);  // anything more that was (wrongly) there arrives too
    std::vector<std::string> values;
    for (const auto& s : d.seen) values.push_back(std::get<3>(s));
    return values;
}

/// Sends `value` and runs `io` until it is acknowledged; returns its offset.
std::int64_t send_and_wait(net::io_context& io, kwire::producer& p, const std::string& topic, const std::string& value) {
    std::optional<std::int64_t> offset;
    p.send({.topic = topic, .value = bv(value), .partition = 0}, [&](boost::system::error_code ec, kwire::delivery d) {
        EXPECT_FALSE(ec) << ec.message();
        offset = d.offset;
    });
    EXPECT_TRUE(run_until(io, [&] { return offset.has_value(); }));
    return offset.value_or(-2);
}

/// Polls `c` until `n` records came (acknowledging each); returns their offsets.
std::vector<std::int64_t> poll_records(net::io_context& io, kwire::consumer& c, std::size_t n) {
    std::vector<std::int64_t> offsets;
    bool polling = false;
    const auto deadline = clock_type::now() + 10s;
    while (offsets.size() < n && clock_type::now() < deadline) {
        polling = true;
        c.poll(1s, [&](boost::system::error_code ec, kwire::record_batch b) {
            EXPECT_FALSE(ec) << ec.message();
            for (const auto& r : b) {
                offsets.push_back(r.offset);
                r.ack();
            }
            polling = false;
        });
        run_until(io, [&] { return !polling; });
    }
    return offsets;
}

/// A new topic with `values` in partition 0, and a consumer of it in `group` with manual commits.
std::unique_ptr<kwire::consumer> manual_consumer_of(kwire::peers::mock_cluster& mc, net::io_context& io,
                                                    const std::string& topic, const std::string& group,
                                                    std::initializer_list<const char*> values) {
    mc.create_topic(topic, 1, 1);
    kwire::producer p(io.get_executor(), config_for(mc));
    for (const auto* v : values) send_and_wait(io, p, topic, v);
    auto cfg = reader_config(mc);
    cfg.group_id = group;
    cfg.commit = kwire::commit_policy::manual();
    auto c = std::make_unique<kwire::consumer>(io.get_executor(), cfg);
    c->assign({{topic, 0, kwire::offset::beginning}});
    return c;
}

// --- poll --------------------------------------------------------------------------------------

TEST(Cancellation, APollRacedByATimerThroughAwaitableOperatorsEndsWithTheTimerAndTheConsumerStaysUsable) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("quiet", 1, 1);
    net::io_context io;
    kwire::consumer c(io.get_executor(), reader_config(mc));
    c.assign({{"quiet", 0, kwire::offset::beginning}});
    std::optional<std::size_t> winner;
    clock_type::duration took{};
    bool polled_again = false;
    std::vector<std::string> values;
    kwire::producer p(io.get_executor(), config_for(mc));
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            net::steady_timer timer(io, 20ms);
            const auto start = clock_type::now();
            auto result = co_await (c.poll(10s, net::use_awaitable) || timer.async_wait(net::use_awaitable));
            took = clock_type::now() - start;
            winner = result.index();
            // Records produced after the cancelled poll come with the next one.
            co_await p.send({.topic = "quiet", .value = bv("after"), .partition = 0}, net::use_awaitable);
            const kwire::record_batch batch = co_await c.poll(10s, net::use_awaitable);
            for (const auto& r : batch) values.push_back(kwire::test::str(r.value));
            polled_again = true;
        },
        net::detached);
    ASSERT_TRUE(run_until(io, [&] { return polled_again; }));
    ASSERT_EQ(winner, 1u) << "the timer, not the poll";
    EXPECT_LT(took, 50ms) << "the poll did not end with its cancellation";
    EXPECT_EQ(values, std::vector<std::string>{"after"});
}

TEST(Cancellation, ACancelledPollCompletesWithOperationAbortedAndHandsOutNothing) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("buffered", 1, 1);
    net::io_context io;
    kwire::producer p(io.get_executor(), config_for(mc));
    for (const auto* v : {"a", "b", "c"}) send_and_wait(io, p, "buffered", v);

    kwire::consumer c(io.get_executor(), reader_config(mc));
    c.assign({{"buffered", 0, kwire::offset::beginning}});
    // Let the records arrive in the consumer's buffers: a poll of 0 ms, until one returns records
    // would hand them out, so wait for the fetch position instead.
    ASSERT_TRUE(run_until(io, [&] { return c.high_watermark({"buffered", 0}).value_or(-1) == 3; }));

    // Cancelled right after it starts, before it could complete: nothing is handed out.
    net::cancellation_signal signal;
    std::optional<boost::system::error_code> first;
    std::size_t first_size = 99;
    c.poll(10s, net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, kwire::record_batch b) {
               first = ec;
               first_size = b.size();
           }));
    signal.emit(net::cancellation_type::total);
    EXPECT_FALSE(first) << "completed inside emit()";
    ASSERT_TRUE(run_until(io, [&] { return first.has_value(); }));
    EXPECT_EQ(*first, aborted);
    EXPECT_EQ(*first, std::errc::operation_canceled) << "compares with std::errc too";
    EXPECT_EQ(first_size, 0u);

    // The records are still there for the next polls, from the first.
    EXPECT_EQ(poll_records(io, c, 3), (std::vector<std::int64_t>{0, 1, 2}));
}

TEST(Cancellation, APollCancelledByATimedSignalEndsWithinMilliseconds) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("idle", 1, 1);
    net::io_context io;
    kwire::consumer c(io.get_executor(), reader_config(mc));
    c.assign({{"idle", 0, kwire::offset::end}});
    net::cancellation_signal signal;
    std::optional<boost::system::error_code> result;
    net::steady_timer timer(io, 20ms);
    const auto start = clock_type::now();
    c.poll(10s, net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, kwire::record_batch) {
               result = ec;
           }));
    timer.async_wait([&](boost::system::error_code) { signal.emit(net::cancellation_type::terminal); });
    ASSERT_TRUE(run_until(io, [&] { return result.has_value(); }));
    EXPECT_LT(clock_type::now() - start, 50ms);
    EXPECT_EQ(*result, aborted);
}

// --- send --------------------------------------------------------------------------------------

TEST(Cancellation, ASendCancelledBeforeItIsWrittenIsNeverSentAndLaterSendsKeepTheirOrder) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("orders", 1, 1);
    net::io_context io;
    auto cfg = config_for(mc);
    cfg.linger = 200ms;  // the record waits in its open batch
    kwire::producer p(io.get_executor(), cfg);
    EXPECT_EQ(send_and_wait(io, p, "orders", "first"), 0);  // metadata known, batch sent

    // In the open batch, the last record: taken back.
    net::cancellation_signal signal;
    std::optional<boost::system::error_code> cancelled;
    p.send({.topic = "orders", .value = bv("cancelled"), .partition = 0},
           net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, kwire::delivery d) {
               cancelled = ec;
               EXPECT_EQ(d.offset, -1);
           }));
    signal.emit(net::cancellation_type::terminal);
    ASSERT_TRUE(run_until(io, [&] { return cancelled.has_value(); }));
    EXPECT_EQ(*cancelled, aborted);

    // Through awaitable operators: a timer ends a send still lingering.
    std::optional<std::size_t> winner;
    std::vector<std::int64_t> later;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            net::steady_timer timer(io, 20ms);
            auto r = co_await (p.send({.topic = "orders", .value = bv("raced"), .partition = 0}, net::use_awaitable) ||
                               timer.async_wait(net::use_awaitable));
            winner = r.index();
            for (const auto* v : {"second", "third"}) {
                const auto d = co_await p.send({.topic = "orders", .value = bv(v), .partition = 0}, net::use_awaitable);
                later.push_back(d.offset);
            }
        },
        net::detached);
    ASSERT_TRUE(run_until(io, [&] { return later.size() == 2; }));
    EXPECT_EQ(winner, 1u);
    EXPECT_EQ(later, (std::vector<std::int64_t>{1, 2})) << "the cancelled records took no offsets";
    EXPECT_EQ(read_back(mc, "orders", 3), (std::vector<std::string>{"first", "second", "third"}));
}

TEST(Cancellation, ASendWaitingForMetadataIsTakenBack) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("fresh", 1, 1);
    net::io_context io;
    kwire::producer p(io.get_executor(), config_for(mc));
    net::cancellation_signal signal;
    std::optional<boost::system::error_code> cancelled;
    // The producer knows nothing of the topic yet: the record is parked until metadata arrives.
    p.send({.topic = "fresh", .value = bv("parked"), .partition = 0},
           net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, kwire::delivery) { cancelled = ec; }));
    signal.emit(net::cancellation_type::partial);
    ASSERT_TRUE(run_until(io, [&] { return cancelled.has_value(); }));
    EXPECT_EQ(*cancelled, aborted);
    EXPECT_EQ(send_and_wait(io, p, "fresh", "next"), 0);
    EXPECT_EQ(read_back(mc, "fresh", 1), std::vector<std::string>{"next"});
}

TEST(Cancellation, ASendAlreadyWrittenCompletesWithItsRealOutcome) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("written", 1, 1);
    net::io_context io;
    auto cfg = config_for(mc);
    cfg.linger = 0ms;  // an idle producer writes the record before send() returns
    kwire::producer p(io.get_executor(), cfg);
    EXPECT_EQ(send_and_wait(io, p, "written", "warm-up"), 0);
    net::cancellation_signal signal;
    std::optional<boost::system::error_code> outcome;
    std::int64_t offset = -1;
    p.send({.topic = "written", .value = bv("on the wire"), .partition = 0},
           net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, kwire::delivery d) {
               outcome = ec;
               offset = d.offset;
           }));
    signal.emit(net::cancellation_type::terminal);
    ASSERT_TRUE(run_until(io, [&] { return outcome.has_value(); }));
    EXPECT_FALSE(*outcome) << outcome->message();
    EXPECT_EQ(offset, 1);
}

// --- flush and close -----------------------------------------------------------------------------

TEST(Cancellation, ACancelledFlushStopsWaitingWhileItsRecordsAreStillDelivered) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("slow", 1, 1);
    net::io_context io;
    kwire::producer p(io.get_executor(), config_for(mc));
    EXPECT_EQ(send_and_wait(io, p, "slow", "warm-up"), 0);
    mc.broker_set_rtt(1, 500);  // acknowledgements take half a second from now on
    std::optional<boost::system::error_code> delivered;
    p.send({.topic = "slow", .value = bv("slow"), .partition = 0},
           [&](boost::system::error_code ec, kwire::delivery) { delivered = ec; });

    net::cancellation_signal signal;
    std::optional<boost::system::error_code> flushed;
    p.flush(net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec) { flushed = ec; }));
    // `total` promises no side effects, which a flush cannot (its records go out): ignored.
    signal.emit(net::cancellation_type::total);
    run_for(io, 50ms);
    EXPECT_FALSE(flushed.has_value());
    const auto start = clock_type::now();
    signal.emit(net::cancellation_type::terminal);
    ASSERT_TRUE(run_until(io, [&] { return flushed.has_value(); }));
    EXPECT_LT(clock_type::now() - start, 50ms);
    EXPECT_EQ(*flushed, aborted);
    EXPECT_FALSE(delivered.has_value()) << "the test needs the record still in flight";
    ASSERT_TRUE(run_until(io, [&] { return delivered.has_value(); }));
    EXPECT_FALSE(*delivered) << "the record is still delivered: " << delivered->message();
}

TEST(Cancellation, UseAwaitableThrowsAFlushErrorAndACancelledCloseStillCloses) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("closing", 1, 1);
    net::io_context io;
    kwire::producer p(io.get_executor(), config_for(mc));
    EXPECT_EQ(send_and_wait(io, p, "closing", "warm-up"), 0);
    mc.broker_set_rtt(1, 300);
    std::optional<boost::system::error_code> thrown;
    std::optional<boost::system::error_code> closed;
    std::optional<boost::system::error_code> pending;
    bool done = false;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            p.send({.topic = "closing", .value = bv("pending"), .partition = 0},
                   [&](boost::system::error_code ec, kwire::delivery) { pending = ec; });
            try {
                co_await p.flush(1ms, net::use_awaitable);  // client_errc::request_timed_out, thrown
            } catch (const boost::system::system_error& e) {
                thrown = e.code();
            }
            net::steady_timer timer(io, 10ms);
            auto [order, close_ec, timer_ec] = co_await net::experimental::make_parallel_group(
                                                   p.close(net::deferred), timer.async_wait(net::deferred))
                                                   .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
            (void)order;
            (void)timer_ec;
            closed = close_ec;
            done = true;
        },
        net::detached);
    ASSERT_TRUE(run_until(io, [&] { return done; }));
    ASSERT_TRUE(thrown.has_value());
    EXPECT_EQ(*thrown, kwire::client::client_errc::request_timed_out);
    EXPECT_EQ(*closed, aborted) << "the wait for close ended with the timer";
    // The close went on: the pending record is delivered, new sends fail with `closed`.
    EXPECT_FALSE(pending.has_value()) << "the test needs the record still in flight";
    ASSERT_TRUE(run_until(io, [&] { return pending.has_value(); }));
    EXPECT_FALSE(*pending) << pending->message();
    std::optional<boost::system::error_code> after;
    p.send({.topic = "closing", .value = bv("late"), .partition = 0},
           [&](boost::system::error_code ec, kwire::delivery) { after = ec; });
    ASSERT_TRUE(run_until(io, [&] { return after.has_value(); }));
    EXPECT_EQ(*after, kwire::client::client_errc::closed);
}

// --- commit ----------------------------------------------------------------------------------------

TEST(Cancellation, ACancelledCommitStopsWaitingAndTheConsumerGoesOn) {
    kwire::peers::mock_cluster mc(1);
    net::io_context io;
    auto consumer = manual_consumer_of(mc, io, "commits", "cancellers", {"a", "b"});
    auto& c = *consumer;
    const auto offsets = poll_records(io, c, 2);
    std::optional<boost::system::error_code> commit_ec;
    std::optional<boost::system::error_code> second_commit;
    net::cancellation_signal signal;
    c.commit(net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code e) { commit_ec = e; }));
    signal.emit(net::cancellation_type::terminal);
    EXPECT_FALSE(commit_ec.has_value()) << "completed inside emit()";
    ASSERT_TRUE(run_until(io, [&] { return commit_ec.has_value(); }));
    EXPECT_EQ(*commit_ec, aborted);
    c.commit([&](boost::system::error_code e) { second_commit = e; });
    ASSERT_TRUE(run_until(io, [&] { return second_commit.has_value(); }));
    EXPECT_FALSE(*second_commit) << second_commit->message();
    std::map<kwire::topic_partition, std::int64_t> committed;
    bool fetched = false;
    c.committed({{"commits", 0}}, [&](boost::system::error_code e, std::map<kwire::topic_partition, std::int64_t> m) {
        EXPECT_FALSE(e) << e.message();
        committed = std::move(m);
        fetched = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return fetched; }));
    EXPECT_EQ(offsets.size(), 2u);
    EXPECT_EQ((committed[{"commits", 0}]), 2);
}

}  // namespace

namespace {

/// Starts an operation with `start(token)` bound to a signal, emits `type` at once (on the
/// executor, as a timer or awaitable operators would), and returns the operation's error.
template <class Start>
boost::system::error_code cancelled_at_once(net::io_context& io, Start start,
                                            net::cancellation_type type = net::cancellation_type::terminal) {
    net::cancellation_signal signal;
    std::optional<boost::system::error_code> result;
    start(net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, auto&&...) { result = ec; }));
    signal.emit(type);
    EXPECT_FALSE(result.has_value()) << "completed inside emit()";
    EXPECT_TRUE(run_until(io, [&] { return result.has_value(); }));
    return result.value_or(boost::system::error_code{});
}

TEST(Cancellation, AckCommittedAndCloseOfAConsumerStopWaitingWhileTheWorkGoesOn) {
    kwire::peers::mock_cluster mc(1);
    net::io_context io;
    auto consumer = manual_consumer_of(mc, io, "waits", "waiters", {"a", "b"});
    auto& c = *consumer;
    const auto cfg = c.config();
    std::optional<kwire::consumer_record> first;
    bool polled = false;
    c.poll(10s, [&](boost::system::error_code ec, kwire::record_batch b) {
        EXPECT_FALSE(ec) << ec.message();
        if (!b.empty()) first = b[0];
        polled = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return polled; }));
    ASSERT_TRUE(first.has_value());

    // ack(r, token) waits for a commit that, under the manual policy, nobody makes: cancelled.
    EXPECT_EQ(cancelled_at_once(io, [&](auto token) { c.ack(*first, std::move(token)); }), aborted);
    // The acknowledgement itself stays: the next commit covers the record.
    EXPECT_EQ(c.committable({"waits", 0}), 1);
    EXPECT_EQ(cancelled_at_once(io, [&](auto token) { c.committed({{"waits", 0}}, std::move(token)); },
                                net::cancellation_type::partial),
              aborted);
    EXPECT_EQ(cancelled_at_once(io, [&](auto token) { c.close(std::move(token)); }), aborted);
    // The close went on: the acknowledged record was committed, and the consumer is closed.
    std::optional<boost::system::error_code> after;
    bool polling = false;
    ASSERT_TRUE(run_until(io, [&] {
        if (!after && !polling) {
            polling = true;
            c.poll(10ms, [&](boost::system::error_code ec, kwire::record_batch) {
                polling = false;
                if (ec && ec != aborted) after = ec;  // a poll still out when the close ends is aborted
            });
        }
        return after.has_value();
    }));
    EXPECT_EQ(*after, kwire::client::client_errc::closed);

    kwire::consumer check(io.get_executor(), cfg);
    std::map<kwire::topic_partition, std::int64_t> committed;
    bool fetched = false;
    check.committed({{"waits", 0}}, [&](boost::system::error_code e, std::map<kwire::topic_partition, std::int64_t> m) {
        EXPECT_FALSE(e) << e.message();
        committed = std::move(m);
        fetched = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return fetched; }));
    EXPECT_EQ((committed[{"waits", 0}]), 1);
}

TEST(Cancellation, FetchMetadataStopsWaiting) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("md", 1, 1);
    net::io_context io;
    kwire::client::connection_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    EXPECT_EQ(cancelled_at_once(io, [&](auto token) { kwire::fetch_metadata(io.get_executor(), cfg, {}, std::move(token)); }),
              aborted);
}

}  // namespace

namespace {

// However an operation was aborted (its cancellation, or the client destroyed under it), the
// error is Asio's own operation_aborted, and compares as std::errc::operation_canceled too.
TEST(Cancellation, ASendAbortedByTheProducersDestructionIsAsiosOperationAborted) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("gone", 1, 1);
    net::io_context io;
    std::optional<boost::system::error_code> result;
    {
        auto cfg = config_for(mc);
        cfg.linger = 10s;
        kwire::producer p(io.get_executor(), cfg);
        EXPECT_EQ(send_and_wait(io, p, "gone", "warm-up"), 0);
        p.send({.topic = "gone", .value = bv("pending"), .partition = 0},
               [&](boost::system::error_code ec, kwire::delivery) { result = ec; });
    }
    ASSERT_TRUE(run_until(io, [&] { return result.has_value(); }));
    EXPECT_EQ(*result, aborted);
    EXPECT_EQ(*result, std::errc::operation_canceled);
}

}  // namespace

// Fetch sessions (KIP-227) end to end, against the scripted cluster's broker side of sessions
// (scripted_log.hpp): librdkafka 2.0.2's mock makes no sessions (it echoes the session id it is
// sent, so a full Fetch with id 0 gets 0 back; see MockCluster.FetchMakesNoSession in
// tests/peers). Every test checks that each partition's records arrive once each, in order,
// whatever the sessions go through.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <map>
#include <set>
#include <string>

#include "consumer_fixture.hpp"
#include "kwire/client/consumer.hpp"
#include "scripted_log.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::driver;
using kwire::test::run_until;
using kwire::test::run_for;
using fetch_seen = kwire::test::scripted_log::fetch_seen;

class ConsumerSession : public ::testing::Test {
protected:
    static constexpr int brokers = 3;
    kwire::test::scripted_cluster cluster{brokers};
    kwire::test::scripted_log& log = *kwire::test::scripted_log::start(cluster, brokers);  // the cluster keeps it

    kwire::consumer_config config() const {
        kwire::consumer_config cfg;
        cfg.bootstrap_servers = cluster.addresses();
        cfg.fetch_max_wait = 100ms;
        cfg.retry_backoff = 20ms;
        cfg.request_timeout = 5000ms;
        return cfg;
    }

    /// Appends batches of `per_batch` records "p<p>-<offset>" to the partition until it holds `upto`.
    void fill(const std::string& topic, int p, std::int64_t upto, int per_batch = 10) {
        while (log.high_watermark(topic, p) < upto) {
            std::vector<std::string> values;
            const auto base = log.high_watermark(topic, p);
            for (int i = 0; i < per_batch && base + i < upto; ++i)
                values.push_back("p" + std::to_string(p) + "-" + std::to_string(base + i));
            log.append(topic, p, values);
        }
    }
};

/// Each partition's records came once each, in offset order from `from`, with the values fill() wrote.
void expect_exactly_once_in_order(const driver& d, const std::string& topic, const std::map<int, std::int64_t>& upto,
                                  std::int64_t from = 0) {
    std::map<int, std::int64_t> next;
    for (const auto& [p, n] : upto) next[p] = from;
    for (const auto& [t, p, offset, value] : d.seen) {
        ASSERT_EQ(t, topic);
        ASSERT_TRUE(next.count(p)) << p;
        ASSERT_EQ(offset, next[p]) << "partition " << p << ": skipped or repeated";
        ASSERT_EQ(value, "p" + std::to_string(p) + "-" + std::to_string(offset));
        ++next[p];
    }
    for (const auto& [p, n] : upto) EXPECT_EQ(next[p], n) << "partition " << p;
}

/// Per broker, the Fetches in the order received.
std::map<int, std::vector<fetch_seen>> by_node(const std::vector<fetch_seen>& all) {
    std::map<int, std::vector<fetch_seen>> out;
    for (const auto& f : all) out[f.node].push_back(f);
    return out;
}

TEST_F(ConsumerSession, IncrementalFetchesListOnlyWhatMovedAndPositionsCarryOver) {
    cluster.add_topic("s", 6);  // two partitions per broker
    std::map<int, std::int64_t> upto;
    for (int p = 0; p < 6; ++p) fill("s", p, upto[p] = 50);
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), config());
    std::vector<kwire::partition_offset> all;
    for (int p = 0; p < 6; ++p) all.push_back({"s", p, 0});
    c.assign(all);
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 300 || d.error; }, 20s)) << d.count();
    // More records, to some partitions only, in rounds while the sessions are established.
    for (int round = 1; round <= 3; ++round) {
        run_for(io, 150ms);
        for (const int p : {0, 4}) fill("s", p, upto[p] += 20);
        ASSERT_TRUE(run_until(io, [&] { return d.count() >= 300 + static_cast<std::size_t>(round) * 40 || d.error; }, 20s));
    }
    run_for(io, 300ms);
    ASSERT_FALSE(d.error) << d.error.message();
    expect_exactly_once_in_order(d, "s", upto);
    EXPECT_EQ(c.position({"s", 0}), upto[0]);

    int incremental = 0, listing_nothing = 0;
    for (const auto& [node, fetches] : by_node(log.fetches())) {
        SCOPED_TRACE("broker " + std::to_string(node));
        ASSERT_FALSE(fetches.empty());
        EXPECT_EQ(fetches.front().epoch, 0) << "the first Fetch is full and asks for a session";
        for (std::size_t i = 0; i < fetches.size(); ++i) {
            const auto& f = fetches[i];
            EXPECT_EQ(f.error, 0);
            EXPECT_EQ(f.relisted_unchanged, 0) << "an incremental Fetch lists only what changed";
            if (f.epoch <= 0) continue;
            ++incremental;
            if (f.listed.empty()) ++listing_nothing;
            ASSERT_GT(i, 0u);
            const auto& prev = fetches[i - 1];
            EXPECT_EQ(f.session_id, prev.epoch == 0 ? prev.answered_session_id : prev.session_id);
            EXPECT_EQ(f.epoch, prev.epoch + 1) << "one epoch per answered Fetch";
        }
    }
    EXPECT_GT(incremental, 10);
    EXPECT_GT(listing_nothing, 0) << "idle partitions are fetched without being listed";
}

TEST_F(ConsumerSession, LostSessionsAndBadEpochsFallBackToFullFetchesWithoutLossOrRepeats) {
    cluster.add_topic("r", 3);  // one partition per broker
    std::map<int, std::int64_t> upto;
    for (int p = 0; p < 3; ++p) fill("r", p, upto[p] = 20, 5);
    boost::asio::io_context io;
    auto cfg = config();
    cfg.max_partition_fetch_bytes = 1;  // one batch per Fetch: many Fetches, positions moving each time
    kwire::consumer c(io.get_executor(), cfg);
    c.assign({{"r", 0, 0}, {"r", 1, 0}, {"r", 2, 0}});
    driver d(c);
    d.start();
    for (int round = 1; round <= 12; ++round) {
        ASSERT_TRUE(run_until(io, [&] { return d.count() >= static_cast<std::size_t>(round) * 45 || d.error; }, 20s))
            << "round " << round << ": " << d.count();
        if (round % 3 == 1) log.evict_sessions();              // -> FETCH_SESSION_ID_NOT_FOUND
        if (round % 3 == 2) log.fail_next_incremental(71);     // INVALID_FETCH_SESSION_EPOCH
        for (int p = 0; p < 3; ++p) fill("r", p, upto[p] += 15, 5);
    }
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 3 * static_cast<std::size_t>(upto[0]) || d.error; }, 20s));
    run_for(io, 200ms);
    ASSERT_FALSE(d.error) << d.error.message();
    expect_exactly_once_in_order(d, "r", upto);

    int not_found = 0, bad_epoch = 0;
    for (const auto& [node, fetches] : by_node(log.fetches())) {
        SCOPED_TRACE("broker " + std::to_string(node));
        for (std::size_t i = 0; i + 1 < fetches.size(); ++i) {
            const auto& f = fetches[i];
            const auto& next = fetches[i + 1];
            if (f.error == 70) {
                ++not_found;
                EXPECT_EQ(next.epoch, 0) << "full again";
                EXPECT_EQ(next.session_id, 0) << "without the unknown id";
            } else if (f.error == 71) {
                ++bad_epoch;
                EXPECT_EQ(next.epoch, 0) << "full again";
                EXPECT_EQ(next.session_id, f.session_id) << "naming the old session, which the broker closes";
            } else {
                EXPECT_EQ(f.error, 0);
            }
            if (f.error != 0) {
                // The full Fetch lists every partition of the broker at the position the failed one had.
                EXPECT_EQ(next.listed, (std::vector<std::pair<std::string, std::int32_t>>{{"r", node - 1}}));
            }
        }
    }
    EXPECT_GE(not_found, 3);
    EXPECT_GE(bad_epoch, 3);
}

TEST_F(ConsumerSession, APausedPartitionIsForgottenAndListedAgainOnResume) {
    cluster.add_topic("q", 4);  // partitions 0 and 3 on broker 1
    fill("q", 0, 30);
    fill("q", 3, 30);
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), config());
    c.assign({{"q", 0, 0}, {"q", 3, 0}});
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 60 || d.error; }, 20s));
    run_for(io, 300ms);  // incremental by now
    c.pause({{"q", 3}});
    const auto paused_at = log.fetches().size();
    fill("q", 3, 60);  // a broker still fetching partition 3 would return these
    fill("q", 0, 40);
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 70 || d.error; }, 20s));
    run_for(io, 400ms);
    EXPECT_EQ(d.count(), 70u) << "nothing from the paused partition";
    const auto during = log.fetches();
    bool forgotten = false;
    for (std::size_t i = paused_at; i < during.size(); ++i) {
        const auto& f = during[i];
        if (f.node != 1) continue;
        if (!forgotten) {
            forgotten = f.forgotten == std::vector<std::pair<std::string, std::int32_t>>{{"q", 3}};
            continue;
        }
        for (const auto& a : f.answered) EXPECT_NE(a.second, 3) << "forgotten, so not fetched";
    }
    EXPECT_TRUE(forgotten) << "pausing forgets the partition in the next Fetch";

    c.resume({{"q", 3}});
    const auto resumed_at = log.fetches().size();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 100 || d.error; }, 20s));
    const auto after = log.fetches();
    bool relisted = false;
    for (std::size_t i = resumed_at; i < after.size() && !relisted; ++i)
        for (std::size_t k = 0; k < after[i].listed.size(); ++k)
            if (after[i].listed[k] == std::pair<std::string, std::int32_t>{"q", 3}) {
                relisted = true;
                // At its fetch position: 30, or past records fetched before the pause took effect
                // (those stayed buffered and come first after the resume).
                EXPECT_GE(after[i].listed_offsets[k], 30);
                EXPECT_LE(after[i].listed_offsets[k], 60);
                EXPECT_GT(after[i].epoch, 0) << "added to the live session";
            }
    EXPECT_TRUE(relisted);
    ASSERT_FALSE(d.error) << d.error.message();
    expect_exactly_once_in_order(d, "q", {{0, 40}, {3, 60}});
}

TEST_F(ConsumerSession, CloseEndsEverySessionOnItsBroker) {
    cluster.add_topic("c", 3);
    for (int p = 0; p < 3; ++p) fill("c", p, 10);
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), config());
    c.assign({{"c", 0, 0}, {"c", 1, 0}, {"c", 2, 0}});
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 30 || d.error; }, 20s));
    run_for(io, 300ms);
    EXPECT_EQ(log.live_sessions(), 3u);
    bool closed = false;
    c.close([&](std::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        closed = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return closed; }, 10s));
    EXPECT_EQ(log.live_sessions(), 0u) << "every session closed, none opened";
    std::set<int> closing;
    for (const auto& f : log.fetches())
        if (f.epoch == -1) {
            EXPECT_NE(f.session_id, 0);
            EXPECT_TRUE(f.listed.empty());
            closing.insert(f.node);
        }
    EXPECT_EQ(closing, (std::set<int>{1, 2, 3}));
}

TEST_F(ConsumerSession, ABrokerThatMakesNoSessionsGetsFullFetches) {
    log.set_sessions_enabled(false);  // as a broker whose session cache is full
    cluster.add_topic("n", 3);
    for (int p = 0; p < 3; ++p) fill("n", p, 40);
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), config());
    c.assign({{"n", 0, 0}, {"n", 1, 0}, {"n", 2, 0}});
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 120 || d.error; }, 20s));
    run_for(io, 300ms);
    expect_exactly_once_in_order(d, "n", {{0, 40}, {1, 40}, {2, 40}});
    const auto fetches = log.fetches();
    EXPECT_GT(fetches.size(), 6u);
    for (const auto& f : fetches) {
        EXPECT_EQ(f.epoch, 0);
        EXPECT_EQ(f.session_id, 0);
        EXPECT_EQ(f.listed.size(), 1u) << "every Fetch lists the broker's partition";
    }
}

}  // namespace

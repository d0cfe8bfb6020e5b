// The consumer against librdkafka's mock cluster: records written by kcat in every codec read
// back identical; groups splitting and taking over partitions (eager and cooperative); restarts
// resuming exactly after the last committed record under each commit policy; and injected
// faults, with a checker confirming nothing is skipped and committed offsets never go back.
#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

#include "../require_codec.hpp"
#include "kcat.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/metadata.hpp"
#include "consumer_fixture.hpp"
#include "producer_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::bv;
using kwire::test::run_until;
using kwire::test::run_for;
using kwire::test::driver;
using kwire::test::str;
namespace kc = kwire::client;

constexpr std::int16_t offset_commit_api = 8;
constexpr std::int16_t heartbeat_api = 12;

kwire::consumer_config consumer_config_for(const kwire::peers::mock_cluster& mc, const std::string& group = {}) {
    kwire::consumer_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.group_id = group;
    cfg.auto_offset_reset = kc::offset_reset::earliest;
    cfg.session_timeout = 6000ms;
    cfg.heartbeat_interval = 100ms;
    cfg.max_poll_interval = 10000ms;
    cfg.fetch_max_wait = 100ms;
    cfg.retry_backoff = 20ms;
    cfg.request_timeout = 5000ms;
    return cfg;
}

/// Produces "<prefix>-<i>" for i in [from, from + n) to one partition with kwire's producer.
void produce(const kwire::peers::mock_cluster& mc, const std::string& topic, std::int32_t partition, int n,
             const std::string& prefix = "v", int from = 0) {
    boost::asio::io_context io;
    kwire::producer p(io.get_executor(), kwire::test::config_for(mc));
    int acked = 0;
    std::vector<std::string> values;
    for (int i = from; i < from + n; ++i) values.push_back(prefix + "-" + std::to_string(i));
    for (const auto& v : values)
        p.send({.topic = topic, .value = bv(v), .partition = partition}, [&](std::error_code ec, kwire::delivery) {
            if (ec) throw std::runtime_error("produce failed: " + ec.message());
            ++acked;
        });
    if (!run_until(io, [&] { return acked == n; }, 20s)) throw std::runtime_error("produce timed out");
}

class ConsumerTest : public ::testing::Test {
protected:
    kwire::peers::mock_cluster mc{3};
};

// --- records written by an independent client ------------------------------------------------

class ConsumerKcat : public ConsumerTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ConsumerKcat, ReadsWhatKcatWroteIdenticalAndInOrder) {
    KWIRE_REQUIRE_CODEC(kwire::client::parse_compression(GetParam()).value());
    const std::string topic = std::string("kcat-") + GetParam();
    mc.create_topic(topic, 1);
    std::vector<kwire::peers::kcat_message> messages;
    for (int i = 0; i < 300; ++i)
        messages.push_back({"key-" + std::to_string(i % 7), "value " + std::to_string(i) + std::string(i % 50, 'x')});
    kwire::peers::kcat_produce(mc.bootstrap(), topic, 0, GetParam(), messages, {{"h1", "one"}, {"h2", "two"}});

    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc);
    kwire::consumer c(io.get_executor(), cfg);
    c.assign({{topic, 0, kwire::offset::beginning}});
    driver d(c);
    std::vector<std::string> keys;
    std::vector<std::vector<std::pair<std::string, std::string>>> headers;
    d.on = [&](const kwire::consumer_record& r) {
        keys.push_back(str(r.key));
        auto& h = headers.emplace_back();
        for (const auto& hv : r.headers) h.emplace_back(std::string(hv.key), str(hv.value));
    };
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= messages.size() || d.error; }, 20s)) << d.count();
    ASSERT_FALSE(d.error) << d.error.message();
    ASSERT_EQ(d.count(), messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) {
        EXPECT_EQ(std::get<2>(d.seen[i]), static_cast<std::int64_t>(i));
        EXPECT_EQ(std::get<3>(d.seen[i]), messages[i].value);
        EXPECT_EQ(keys[i], messages[i].key);
        const std::vector<std::pair<std::string, std::string>> want{{"h1", "one"}, {"h2", "two"}};
        EXPECT_EQ(headers[i], want);
    }
    EXPECT_EQ(c.high_watermark({topic, 0}), 300);
    EXPECT_EQ(c.position({topic, 0}), 300);
}

INSTANTIATE_TEST_SUITE_P(EveryCodec, ConsumerKcat, ::testing::Values("none", "gzip", "snappy", "lz4", "zstd"));

// --- assign mode -----------------------------------------------------------------------------

TEST_F(ConsumerTest, AssignStartsAtTheRequestedOffsetsAndSeekMoves) {
    mc.create_topic("assign", 2);
    produce(mc, "assign", 0, 50, "p0");
    produce(mc, "assign", 1, 50, "p1");
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), consumer_config_for(mc));
    c.assign({{"assign", 0, 10}, {"assign", 1, kwire::offset::end}});
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 40 || d.error; }, 20s));
    run_for(io, 200ms);
    ASSERT_EQ(d.count(), 40u) << "partition 1 starts at its end: nothing from it";
    EXPECT_EQ(std::get<3>(d.seen.front()), "p0-10");
    EXPECT_EQ(std::get<3>(d.seen.back()), "p0-49");
    produce(mc, "assign", 1, 5, "p1", 50);
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 45; }, 20s));
    EXPECT_EQ(std::get<3>(d.seen.back()), "p1-54");
    c.seek({"assign", 0}, 48);
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 47; }, 20s));
    EXPECT_EQ(std::get<3>(d.seen[45]), "p0-48");
    EXPECT_EQ(std::get<3>(d.seen[46]), "p0-49");
}

TEST_F(ConsumerTest, OffsetOutOfRangeFollowsThePolicy) {
    mc.create_topic("oor", 1);
    produce(mc, "oor", 0, 20);
    {
        boost::asio::io_context io;
        auto cfg = consumer_config_for(mc);
        cfg.auto_offset_reset = kc::offset_reset::earliest;
        kwire::consumer c(io.get_executor(), cfg);
        c.assign({{"oor", 0, 1000}});
        driver d(c);
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return d.count() >= 20 || d.error; }, 20s));
        ASSERT_FALSE(d.error) << d.error.message();
        EXPECT_EQ(std::get<2>(d.seen.front()), 0) << "past the end with earliest: from the first record";
    }
    {
        boost::asio::io_context io;
        auto cfg = consumer_config_for(mc);
        cfg.auto_offset_reset = kc::offset_reset::none;
        kwire::consumer c(io.get_executor(), cfg);
        c.assign({{"oor", 0, 1000}});
        driver d(c);
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return static_cast<bool>(d.error); }, 20s));
        EXPECT_EQ(d.error, kwire::kafka_error(1)) << d.error.message();
        EXPECT_EQ(d.count(), 0u);
    }
}

TEST_F(ConsumerTest, PausedPartitionsAreNotReturnedUntilResumed) {
    mc.create_topic("pause", 2);
    produce(mc, "pause", 0, 10, "p0");
    produce(mc, "pause", 1, 10, "p1");
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), consumer_config_for(mc));
    c.assign({{"pause", 0, kwire::offset::beginning}, {"pause", 1, kwire::offset::beginning}});
    c.pause({{"pause", 1}});
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 10; }, 20s));
    run_for(io, 300ms);
    EXPECT_EQ(d.count(), 10u);
    for (const auto& s : d.seen) EXPECT_EQ(std::get<1>(s), 0);
    c.resume({{"pause", 1}});
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 20; }, 20s));
}

TEST_F(ConsumerTest, AMissingTopicFailsThePollWhenNothingMayCreateIt) {
    mc.create_topic("present", 1);
    produce(mc, "present", 0, 5);
    for (const bool group : {false, true}) {
        SCOPED_TRACE(group ? "subscribe" : "assign");
        boost::asio::io_context io;
        auto cfg = consumer_config_for(mc, group ? "g-missing" : "");
        cfg.allow_auto_create_topics = false;
        cfg.default_api_timeout = 1500ms;
        kwire::consumer c(io.get_executor(), cfg);
        if (group) c.subscribe({"absent"});
        else c.assign({{"absent", 0, kwire::offset::beginning}});
        driver d(c);
        const auto start = std::chrono::steady_clock::now();
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return static_cast<bool>(d.error); }, 20s));
        EXPECT_EQ(d.error, kwire::kafka_error(3)) << d.error.message();
        EXPECT_GE(std::chrono::steady_clock::now() - start, 1400ms) << "only after default.api.timeout.ms";
    }
    // Nothing created it: the cluster still knows one topic only.
    boost::asio::io_context io;
    kwire::client::connection_config cc;
    cc.bootstrap_servers = mc.broker_addresses();
    cc.allow_auto_create_topics = false;
    std::vector<std::string> names;
    kwire::fetch_metadata(io.get_executor(), cc, {}, [&](std::error_code ec, kwire::cluster_metadata md) {
        ASSERT_FALSE(ec);
        for (const auto& t : md.topics) names.push_back(t.name);
    });
    io.run();
    EXPECT_EQ(std::count(names.begin(), names.end(), "absent"), 0);
    EXPECT_EQ(std::count(names.begin(), names.end(), "present"), 1);
}

// --- the commit rule and the policies --------------------------------------------------------

std::int64_t committed_offset(const kwire::peers::mock_cluster& mc, const std::string& group, const std::string& topic,
                              std::int32_t partition) {
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), consumer_config_for(mc, group));
    std::int64_t out = -2;
    std::error_code err;
    c.committed({{topic, partition}}, [&](std::error_code ec, std::map<kwire::topic_partition, std::int64_t> m) {
        err = ec;
        out = m.count({topic, partition}) ? m[{topic, partition}] : -3;
    });
    run_until(io, [&] { return out != -2; }, 10s);
    if (err) throw std::runtime_error("committed(): " + err.message());
    return out;
}

/// First offset a fresh member of `group` reads from `topic`/0.
std::int64_t resume_point(const kwire::peers::mock_cluster& mc, const std::string& group, const std::string& topic) {
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, group);
    kwire::consumer c(io.get_executor(), cfg);
    c.subscribe({topic});
    driver d(c);
    d.on = [](const kwire::consumer_record&) {};
    d.start();
    // The crashed member stays in the group until its session ends, and the mock's rounds wait
    // session.timeout.ms - 1 s for it: about 14 s on a quiet machine before the partition is ours.
    if (!run_until(io, [&] { return d.count() > 0 || d.error; }, 45s) || d.error)
        throw std::runtime_error("no record after restart: " + d.error.message());
    return std::get<2>(d.seen.front());
}

TEST_F(ConsumerTest, OutOfOrderAcksCommitOnlyTheContiguousPrefix) {
    mc.create_topic("acks", 1);
    produce(mc, "acks", 0, 1000);
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, "g-acks");
    cfg.commit = kwire::commit_policy::interval(0ms);
    std::vector<kwire::consumer_record> held;
    {
        kwire::consumer c(io.get_executor(), cfg);
        c.subscribe({"acks"});
        driver d(c);
        // Acknowledge 600 of 1000: everything below 500, then 550..649 (out of order, a gap at 500..549).
        d.on = [](const kwire::consumer_record& r) {
            if (r.offset < 500 || (r.offset >= 550 && r.offset < 650)) r.ack();
        };
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return d.count() >= 1000 || d.error; }, 20s));
        ASSERT_FALSE(d.error) << d.error.message();
        EXPECT_EQ(c.committable({"acks", 0}), 500);
        ASSERT_TRUE(run_until(io, [&] { return committed_offset(mc, "g-acks", "acks", 0) == 500; }, 10s))
            << "interval(0) commits the contiguous prefix promptly";
        // Crash: no close.
    }
    EXPECT_EQ(committed_offset(mc, "g-acks", "acks", 0), 500);
    EXPECT_EQ(resume_point(mc, "g-acks", "acks"), 500);
}

TEST_F(ConsumerTest, ManualPolicyCommitsOnlyOnCommit) {
    mc.create_topic("manual", 1);
    produce(mc, "manual", 0, 100);
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, "g-manual");
    cfg.commit = kwire::commit_policy::manual();
    {
        kwire::consumer c(io.get_executor(), cfg);
        c.subscribe({"manual"});
        driver d(c);
        bool committed = false;
        std::error_code commit_ec;
        d.on = [&](const kwire::consumer_record& r) {
            r.ack();
            if (r.offset == 49)
                c.commit([&](std::error_code ec) {
                    commit_ec = ec;
                    committed = true;
                });
        };
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return (d.count() >= 100 && committed) || d.error; }, 20s));
        ASSERT_FALSE(commit_ec) << commit_ec.message();
        run_for(io, 300ms);
        EXPECT_EQ(c.commits_sent(), 1u) << "manual: nothing but the explicit commit";
        // Crash after acknowledging everything: only the explicit commit counts.
    }
    EXPECT_EQ(committed_offset(mc, "g-manual", "manual", 0), 50);
    EXPECT_EQ(resume_point(mc, "g-manual", "manual"), 50);
}

TEST_F(ConsumerTest, AwaitingAnAckCompletesOnceItIsCommitted) {
    mc.create_topic("await", 1);
    produce(mc, "await", 0, 20);
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, "g-await");
    cfg.commit = kwire::commit_policy::interval(0ms);
    kwire::consumer c(io.get_executor(), cfg);
    c.subscribe({"await"});
    driver d(c);
    int done = 0;
    d.on = [&](const kwire::consumer_record& r) {
        c.ack(r, [&, offset = r.offset](std::error_code ec) {
            EXPECT_FALSE(ec) << ec.message();
            // Completion means the broker has it.
            EXPECT_GT(committed_offset(mc, "g-await", "await", 0), offset);
            ++done;
        });
    };
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return done == 20 || d.error; }, 20s)) << done;
}

TEST_F(ConsumerTest, OnPollTreatsThePreviousPollAsProcessed) {
    mc.create_topic("onpoll", 1);
    produce(mc, "onpoll", 0, 30);
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, "g-onpoll");
    cfg.commit = kwire::commit_policy::on_poll();
    cfg.max_poll_records = 10;
    {
        kwire::consumer c(io.get_executor(), cfg);
        c.subscribe({"onpoll"});
        int polls = 0;
        std::function<void()> next = [&] {
            c.poll(100ms, [&](std::error_code ec, kwire::record_batch b) {
                ASSERT_FALSE(ec) << ec.message();
                if (!b.empty()) ++polls;
                if (polls < 2) next();  // the second batch is never finished: no third poll
            });
        };
        next();
        ASSERT_TRUE(run_until(io, [&] { return polls == 2; }, 20s));
        run_until(io, [&] { return committed_offset(mc, "g-onpoll", "onpoll", 0) == 10; }, 10s);
    }
    EXPECT_EQ(committed_offset(mc, "g-onpoll", "onpoll", 0), 10);
}

TEST_F(ConsumerTest, AckGuardAcknowledgesOnlyWhenNoExceptionLeaves) {
    mc.create_topic("guard", 1);
    produce(mc, "guard", 0, 4);
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, "g-guard");
    kwire::consumer c(io.get_executor(), cfg);
    c.subscribe({"guard"});
    driver d(c);
    d.on = [&](const kwire::consumer_record& r) {
        try {
            auto guard = c.ack_on_exit(r);
            if (r.offset == 2) throw std::runtime_error("processing failed");
        } catch (const std::runtime_error&) {
        }
    };
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 4; }, 20s));
    EXPECT_EQ(c.committable({"guard", 0}), 2) << "record 2 was not acknowledged, so nothing past it commits";
}

TEST_F(ConsumerTest, CloseCommitsWhatIsMarkedAndTheNextMemberResumesThere) {
    mc.create_topic("close", 1);
    produce(mc, "close", 0, 100);
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, "g-close");
    cfg.commit = kwire::commit_policy::interval(10000ms);  // nothing would commit on its own in this test
    kwire::consumer c(io.get_executor(), cfg);
    c.subscribe({"close"});
    driver d(c);
    d.on = [](const kwire::consumer_record& r) {
        if (r.offset < 73) r.ack();
    };
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 100; }, 20s));
    bool closed = false;
    c.close([&](std::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        closed = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return closed; }, 20s));
    EXPECT_EQ(committed_offset(mc, "g-close", "close", 0), 73);
    EXPECT_EQ(resume_point(mc, "g-close", "close"), 73);
}

// --- groups ----------------------------------------------------------------------------------

std::set<std::int32_t> partitions_of(const kwire::consumer& c) {
    std::set<std::int32_t> out;
    for (const auto& tp : c.assignment()) out.insert(tp.partition);
    return out;
}

void group_split_and_takeover(kwire::peers::mock_cluster& mc, const std::string& group,
                              std::vector<kc::assignor_kind> assignors) {
    const std::string topic = group + "-t";
    mc.create_topic(topic, 4);
    for (int p = 0; p < 4; ++p) produce(mc, topic, p, 25, "p" + std::to_string(p));
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, group);
    cfg.assignors = assignors;
    auto a = std::make_unique<kwire::consumer>(io.get_executor(), cfg);
    kwire::consumer b(io.get_executor(), cfg);
    std::vector<std::vector<kwire::topic_partition>> a_revoked;
    kwire::rebalance_listener la;
    la.revoked = [&](const std::vector<kwire::topic_partition>& tps) { a_revoked.push_back(tps); };
    a->subscribe({topic}, la);
    driver da(*a);
    da.start();
    ASSERT_TRUE(run_until(io, [&] { return partitions_of(*a).size() == 4; }, 20s));
    b.subscribe({topic});
    driver db(b);
    db.start();
    ASSERT_TRUE(run_until(io, [&] {
        auto pa = partitions_of(*a), pb = partitions_of(b);
        return pa.size() == 2 && pb.size() == 2;
    }, 30s)) << partitions_of(*a).size() << " / " << partitions_of(b).size();
    for (const auto p : partitions_of(b)) EXPECT_FALSE(partitions_of(*a).count(p));
    if (assignors == std::vector<kc::assignor_kind>{kc::assignor_kind::cooperative_sticky}) {
        // Incremental: A gave up exactly the two partitions that moved, never all four.
        ASSERT_FALSE(a_revoked.empty());
        for (const auto& r : a_revoked) EXPECT_EQ(r.size(), 2u);
    }
    ASSERT_TRUE(run_until(io, [&] { return da.count() + db.count() >= 100; }, 20s));
    // A closes: B takes everything over.
    bool closed = false;
    a->close([&](std::error_code) { closed = true; });
    ASSERT_TRUE(run_until(io, [&] { return closed; }, 20s));
    ASSERT_TRUE(run_until(io, [&] { return partitions_of(b).size() == 4; }, 30s));
    // Every record was seen by someone (duplicates allowed: records in flight at a handover).
    std::set<std::pair<std::int32_t, std::int64_t>> all;
    for (const auto& s : da.seen) all.insert({std::get<1>(s), std::get<2>(s)});
    for (const auto& s : db.seen) all.insert({std::get<1>(s), std::get<2>(s)});
    EXPECT_EQ(all.size(), 100u);
}

TEST_F(ConsumerTest, EagerGroupSplitsPartitionsAndTakesOverOnClose) {
    group_split_and_takeover(mc, "g-eager", {kc::assignor_kind::range});
}

TEST_F(ConsumerTest, CooperativeStickyRevokesOnlyTheMovedPartitions) {
    group_split_and_takeover(mc, "g-coop", {kc::assignor_kind::cooperative_sticky});
}

TEST_F(ConsumerTest, AMemberThatStopsPollingLeavesAndTheOtherTakesOver) {
    mc.create_topic("slow", 2);
    produce(mc, "slow", 0, 10, "p0");
    produce(mc, "slow", 1, 10, "p1");
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, "g-slow");
    cfg.assignors = {kc::assignor_kind::range};
    auto slow_cfg = cfg;
    slow_cfg.max_poll_interval = 1500ms;
    kwire::consumer a(io.get_executor(), slow_cfg);
    kwire::consumer b(io.get_executor(), cfg);
    a.subscribe({"slow"});
    driver da(a);
    da.start();
    ASSERT_TRUE(run_until(io, [&] { return partitions_of(a).size() == 2; }, 20s));
    b.subscribe({"slow"});
    driver db(b);
    db.start();
    ASSERT_TRUE(run_until(io, [&] { return partitions_of(a).size() == 1 && partitions_of(b).size() == 1; }, 30s));
    // A stops polling (its application is stuck): after max.poll.interval.ms it leaves, and B
    // gets both partitions.
    da.stopped = true;
    ASSERT_TRUE(run_until(io, [&] { return partitions_of(b).size() == 2; }, 30s));
    EXPECT_TRUE(partitions_of(a).empty());
    // A's next poll says why, and A joins again.
    std::error_code seen;
    a.poll(100ms, [&](std::error_code ec, kwire::record_batch) { seen = ec; });
    ASSERT_TRUE(run_until(io, [&] { return static_cast<bool>(seen); }, 10s));
    EXPECT_EQ(seen, kc::client_errc::poll_interval_exceeded) << seen.message();
}

TEST_F(ConsumerTest, FetchingSurvivesTheLeaderGoingDownAndMoving) {
    mc.create_topic("down", 1);
    for (int i = 0; i < 30; ++i) produce(mc, "down", 0, 10, "v", i * 10);  // 30 batches: 30 fetches
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc);
    cfg.max_partition_fetch_bytes = 1;  // one batch per Fetch
    cfg.request_timeout = 2000ms;
    kwire::consumer c(io.get_executor(), cfg);
    c.assign({{"down", 0, kwire::offset::beginning}});
    driver d(c);
    const int leader = 1;  // a known leader to take down
    mc.partition_set_leader("down", 0, leader);
    std::int64_t next = 0;
    bool moved = false;
    d.on = [&](const kwire::consumer_record& r) {
        EXPECT_EQ(r.offset, next) << "in order, nothing skipped, nothing repeated";
        next = r.offset + 1;
        if (r.offset == 100 && !moved) {
            moved = true;
            mc.broker_set_down(leader);
            mc.partition_set_leader("down", 0, 2);
        }
    };
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return next >= 300 || d.error; }, 30s)) << next;
    EXPECT_FALSE(d.error) << d.error.message();
    mc.broker_set_up(leader);
}

// --- faults ----------------------------------------------------------------------------------

/// Consumes `topic` (1 partition, `n` records) in `group`, acknowledging everything, while
/// `inject(i)` runs at the i-th record; samples the committed offset as it goes and checks that
/// no record is skipped and the committed offset never moves back. Returns the records seen.
std::size_t consume_through_faults(kwire::peers::mock_cluster& mc, const std::string& group, const std::string& topic,
                                   int n, const std::function<void(int)>& inject) {
    boost::asio::io_context io;
    auto cfg = consumer_config_for(mc, group);
    auto c = std::make_unique<kwire::consumer>(io.get_executor(), cfg);
    c->subscribe({topic});
    driver d(*c);
    int i = 0;
    std::int64_t next_expected = 0;
    std::int64_t last_committed = -1;
    d.on = [&](const kwire::consumer_record& r) {
        // Redelivery after a rebalance or retry may repeat records, never skip one.
        EXPECT_LE(r.offset, next_expected) << "record skipped";
        next_expected = std::max(next_expected, r.offset + 1);
        r.ack();
        inject(i++);
        if (i % 50 == 0) {
            const auto now = committed_offset(mc, group, topic, 0);
            EXPECT_GE(now, last_committed) << "the committed offset went back";
            EXPECT_LE(now, next_expected) << "committed past what was acknowledged";
            last_committed = std::max(last_committed, now);
        }
    };
    d.start();
    const bool done = run_until(io, [&] { return next_expected >= n || d.error; }, 30s);
    EXPECT_TRUE(done) << next_expected;
    EXPECT_FALSE(d.error) << d.error.message();
    bool closed = false;
    c->close([&](std::error_code) { closed = true; });
    run_until(io, [&] { return closed; }, 20s);
    EXPECT_EQ(committed_offset(mc, group, topic, 0), n) << "close committed everything acknowledged";
    return d.count();
}

TEST_F(ConsumerTest, CommitAndHeartbeatErrorsAreRetriedOrRejoined) {
    mc.create_topic("faults", 1);
    produce(mc, "faults", 0, 400);
    consume_through_faults(mc, "g-faults", "faults", 400, [&](int i) {
        if (i == 50) mc.push_request_errors(offset_commit_api, {16, 15, 14});  // NOT_COORDINATOR, ...
        if (i == 120) mc.push_request_errors(offset_commit_api, {27});          // REBALANCE_IN_PROGRESS
        if (i == 200) mc.push_request_errors(heartbeat_api, {27, 27});
        if (i == 300) mc.push_request_errors(offset_commit_api, {7, -195});     // timeout, dropped connection
    });
}

TEST_F(ConsumerTest, CoordinatorAndLeaderMovesAndBrokerLoss) {
    mc.create_topic("moves", 1);
    produce(mc, "moves", 0, 400);
    consume_through_faults(mc, "g-moves", "moves", 400, [&](int i) {
        if (i == 60) mc.coordinator_set("group", "g-moves", 2);
        if (i == 140) mc.partition_set_leader("moves", 0, 3);
        if (i == 220) mc.coordinator_set("group", "g-moves", 3);
        if (i == 300) mc.partition_set_leader("moves", 0, 1);
    });
}

}  // namespace

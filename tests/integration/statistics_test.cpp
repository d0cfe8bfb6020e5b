// The statistics JSON (kwire/client/statistics.hpp) of produce and consume runs against
// librdkafka's mock cluster, parsed with Boost.JSON: the fields a run must show, with the values
// it must have (requests and responses counted, records consumed, lag, the group's state). And
// the consumer's metrics and log lines (consumer/consumer_observe.hpp) over a classic group run:
// records and bytes consumed, lag while records wait and none after, fetches, commits (one
// refused by the coordinator), the rebalance, and the `group` and `consumer` lines that say so.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "consumer_fixture.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/metrics.hpp"
#include "kwire/client/producer.hpp"
#include "log_capture.hpp"
#include "mock_cluster.hpp"
#include "observe_fixture.hpp"
#include "producer_fixture.hpp"

namespace net = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

using kwire::test::bv;
using kwire::test::config_for;
using kwire::test::driver;
using kwire::test::run_until;
namespace kc = kwire::client;

/// Keeps every statistics object a client hands out, parsed.
struct stats_capture {
    std::vector<json::object> seen;
    kwire::client::statistics_handler handler() {
        return [this](std::string_view text) {
            json::error_code ec;
            auto v = json::parse(text, ec);
            ASSERT_FALSE(ec) << text;
            ASSERT_TRUE(v.is_object()) << text;
            seen.push_back(std::move(v.as_object()));
        };
    }
    const json::object& last() const { return seen.back(); }
};

std::int64_t integer(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_int64()) {
        ADD_FAILURE() << "no integer field '" << key << "' in " << json::serialize(o);
        return -999;
    }
    return v->as_int64();
}

std::string text(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string()) {
        ADD_FAILURE() << "no string field '" << key << "' in " << json::serialize(o);
        return {};
    }
    return std::string(v->as_string());
}

const json::object& object(const json::object& o, std::string_view key) {
    static const json::object none;
    const auto* v = o.if_contains(key);
    if (!v || !v->is_object()) {
        ADD_FAILURE() << "no object '" << key << "' in " << json::serialize(o);
        return none;
    }
    return v->as_object();
}

constexpr std::int16_t offset_commit_api = 8;
constexpr std::int16_t coordinator_load_in_progress = 14;

/// Every line `logs` kept, for a failure's message.
std::string all_lines(kwire::test::log_capture& logs) {
    std::string out;
    for (const auto& l : logs.lines) out += l + "\n";
    return out;
}

std::uint64_t histogram_count(const kc::metrics_registry& r, std::string_view name, const kc::metric_labels& l) {
    for (const auto& s : r.snapshot())
        if (s.name == name && s.labels == l) return s.histogram.count;
    return 0;
}

}  // namespace

TEST(Statistics, ProduceRunShowsRequestsBrokersAndTopics) {
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("stats-produce", 3, 1);
    for (std::int32_t partition = 0; partition < 3; ++partition)
        mc.partition_set_leader("stats-produce", partition, partition + 1);
    net::io_context io;
    stats_capture stats;
    auto cfg = config_for(mc);
    cfg.client_id = "stats-producer";
    cfg.statistics_interval = 50ms;
    cfg.on_statistics = stats.handler();
    constexpr int records = 200;
    int acked = 0;
    kwire::producer p(io.get_executor(), cfg);
    for (int i = 0; i < records; ++i) {
        const auto key = std::to_string(i);
        p.send({.topic = "stats-produce", .key = bv(key), .value = bv("value")},
               [&](boost::system::error_code ec, kwire::delivery) { acked += !ec; });
    }
    ASSERT_TRUE(run_until(io, [&] { return acked == records; }));
    const auto before = stats.seen.size();
    ASSERT_TRUE(run_until(io, [&] { return stats.seen.size() > before; }, 5s));  // one emitted after every ack

    const auto& s = stats.last();
    EXPECT_EQ(text(s, "type"), "producer");
    EXPECT_EQ(text(s, "client_id"), "stats-producer");
    EXPECT_EQ(text(s, "name").rfind("kwire#producer-", 0), 0u);
    EXPECT_GT(integer(s, "ts"), 0);
    EXPECT_GT(integer(s, "time"), 1700000000);
    EXPECT_GT(integer(s, "age"), 0);
    const auto tx = integer(s, "tx"), rx = integer(s, "rx");
    EXPECT_GT(tx, 3);  // Metadata, and Produce to three leaders
    EXPECT_EQ(tx, rx);  // nothing unanswered
    EXPECT_GT(integer(s, "txbytes"), records * 5);
    EXPECT_GT(integer(s, "rxbytes"), 0);
    EXPECT_EQ(integer(s, "metadata_cache_cnt"), 1);

    // Each of the three leaders: UP, with traffic, its partition, and round trips over the run.
    const auto& brokers = object(s, "brokers");
    std::int64_t broker_tx = 0;
    for (std::int32_t b = 1; b <= 3; ++b) {
        const json::object* found = nullptr;
        for (const auto& [key, v] : brokers)
            if (v.is_object() && v.as_object().at("nodeid").as_int64() == b) found = &v.as_object();
        ASSERT_TRUE(found) << "broker " << b << " in " << json::serialize(brokers);
        EXPECT_EQ(text(*found, "state"), "UP");
        EXPECT_EQ(text(*found, "source"), "learned");
        EXPECT_GE(integer(*found, "tx"), 1);
        EXPECT_EQ(integer(*found, "waitresp_cnt"), 0);
        EXPECT_GE(integer(*found, "connects"), 1);
        const auto& toppars = object(*found, "toppars");
        EXPECT_TRUE(toppars.contains("stats-produce-" + std::to_string(b - 1))) << json::serialize(toppars);
        EXPECT_GE(integer(object(*found, "rtt"), "cnt"), 0);
    }
    for (const auto& [key, v] : brokers) broker_tx += v.as_object().at("tx").as_int64();
    EXPECT_EQ(broker_tx, tx);  // the top level sums the brokers
    // rtt is a window per emit: over all emits, one value per response.
    std::int64_t rtts = 0;
    for (const auto& one : stats.seen)
        for (const auto& [key, v] : one.at("brokers").as_object())
            if (const auto* r = v.as_object().if_contains("rtt")) rtts += r->as_object().at("cnt").as_int64();
    EXPECT_EQ(rtts, rx);

    const auto& topic = object(object(s, "topics"), "stats-produce");
    EXPECT_EQ(text(topic, "topic"), "stats-produce");
    const auto& partitions = object(topic, "partitions");
    ASSERT_EQ(partitions.size(), 3u);
    EXPECT_EQ(integer(object(partitions, "2"), "leader"), 3);

    // The producer's own fields: every record acknowledged, nothing queued, the producer id.
    EXPECT_EQ(integer(s, "txmsgs"), records);
    EXPECT_GT(integer(s, "txmsg_bytes"), records * 5);
    EXPECT_EQ(integer(s, "msg_cnt"), 0);
    EXPECT_EQ(integer(s, "msg_size"), 0);
    EXPECT_EQ(integer(s, "msg_size_max"), static_cast<std::int64_t>(cfg.buffer_memory));
    std::int64_t per_partition = 0, partition_bytes = 0;
    for (const auto& [id, v] : partitions) {
        const auto& one = v.as_object();
        EXPECT_GT(integer(one, "txmsgs"), 0) << id;  // keys spread the records
        EXPECT_EQ(integer(one, "msgs"), integer(one, "txmsgs")) << id;
        EXPECT_EQ(integer(one, "msgq_cnt"), 0) << id;
        EXPECT_EQ(integer(one, "msgs_inflight"), 0) << id;
        per_partition += integer(one, "txmsgs");
        partition_bytes += integer(one, "txbytes");
    }
    EXPECT_EQ(per_partition, records);
    EXPECT_EQ(partition_bytes, integer(s, "txmsg_bytes"));
    const auto& eos = object(s, "eos");
    EXPECT_EQ(text(eos, "idemp_state"), "Assigned");
    EXPECT_GE(integer(eos, "producer_id"), 0);
    EXPECT_EQ(integer(eos, "producer_epoch"), 0);
    EXPECT_EQ(integer(eos, "epoch_cnt"), 0);
    EXPECT_FALSE(eos.contains("txn_state"));  // not transactional
    // While records were pending, an earlier object counted them.
    std::int64_t most_queued = 0;
    for (const auto& one : stats.seen) most_queued = std::max(most_queued, integer(one, "msg_cnt"));
    EXPECT_LE(most_queued, records);
}

TEST(Statistics, ConsumeRunShowsRecordsLagAndTheGroup) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("stats-consume", 1, 1);
    constexpr int records = 40;
    kwire::test::produce_ten_byte_records(mc, "stats-consume", records);
    net::io_context io;
    stats_capture stats;
    auto cfg = kwire::test::observed_consumer(mc, "stats-consumer", "g-stats");
    cfg.max_poll_records = 15;  // several polls
    cfg.statistics_interval = 50ms;
    cfg.on_statistics = stats.handler();
    kwire::consumer c(io.get_executor(), cfg);
    c.subscribe({"stats-consume"});
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() == records || d.error; }, 30s)) << d.error.message();
    ASSERT_EQ(d.count(), static_cast<std::size_t>(records));
    const auto before = stats.seen.size();
    ASSERT_TRUE(run_until(io, [&] { return stats.seen.size() > before; }, 5s));

    const auto& s = stats.last();
    EXPECT_EQ(text(s, "type"), "consumer");
    EXPECT_EQ(integer(s, "rxmsgs"), records);
    EXPECT_EQ(integer(s, "rxmsg_bytes"), records * 10);
    EXPECT_GT(integer(s, "tx"), 0);
    EXPECT_GT(integer(s, "rx"), 0);
    const auto& p0 = object(object(object(object(s, "topics"), "stats-consume"), "partitions"), "0");
    EXPECT_EQ(integer(p0, "rxmsgs"), records);
    EXPECT_EQ(integer(p0, "hi_offset"), records);
    EXPECT_EQ(integer(p0, "app_offset"), records);
    EXPECT_EQ(integer(p0, "consumer_lag"), 0);
    EXPECT_EQ(text(p0, "fetch_state"), "active");
    const auto& cgrp = object(s, "cgrp");
    EXPECT_EQ(text(cgrp, "state"), "up");
    EXPECT_EQ(text(cgrp, "joinstate"), "steady");
    EXPECT_EQ(integer(cgrp, "assignment_size"), 1);
    EXPECT_GE(integer(cgrp, "rebalance_cnt"), 1);

    // Whenever a partition showed lag, app_offset + lag was the high watermark (a fast run may
    // consume everything between two emits, so lag > 0 is not required).
    for (const auto& one : stats.seen) {
        const auto* t = one.at("topics").as_object().if_contains("stats-consume");
        if (!t) continue;
        const auto* p = t->as_object().at("partitions").as_object().if_contains("0");
        if (!p || !p->as_object().contains("consumer_lag")) continue;
        const auto lag = p->as_object().at("consumer_lag").as_int64();
        if (lag > 0) {
            EXPECT_EQ(p->as_object().at("app_offset").as_int64() + lag, records);
        }
    }
}

TEST(Statistics, AnAssignedConsumerHasNoGroupAndStopsAtDestruction) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("stats-assign", 1, 1);
    constexpr int records = 20;
    kwire::test::produce_ten_byte_records(mc, "stats-assign", records);
    net::io_context io;
    stats_capture stats;
    auto cfg = kwire::test::observed_consumer(mc, "stats-assigned", "");
    cfg.statistics_interval = 20ms;
    cfg.on_statistics = stats.handler();
    {
        kwire::consumer c(io.get_executor(), cfg);
        c.assign({{"stats-assign", 0, kwire::offset::beginning}});
        driver d(c);
        d.start();
        ASSERT_TRUE(run_until(io, [&] { return d.count() == records || d.error; }, 30s)) << d.error.message();
        const auto before = stats.seen.size();
        ASSERT_TRUE(run_until(io, [&] { return stats.seen.size() > before; }, 5s));
        const auto& s = stats.last();
        EXPECT_FALSE(s.contains("cgrp")) << json::serialize(s);
        EXPECT_EQ(integer(s, "rxmsgs"), records);
        const auto& p0 = object(object(object(object(s, "topics"), "stats-assign"), "partitions"), "0");
        EXPECT_EQ(integer(p0, "app_offset"), records);
        EXPECT_EQ(integer(p0, "committed_offset"), -1);  // no group: nothing committed
    }
    // Gone with its consumer: no statistics after, and the io_context runs out of work.
    const auto at_end = stats.seen.size();
    io.restart();
    io.run_for(200ms);
    EXPECT_EQ(stats.seen.size(), at_end);
}

TEST(ConsumerMetrics, GroupRunCountsRecordsLagFetchesCommitsAndTheRebalance) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("cm", 1, 1);
    constexpr int records = 40;
    kwire::test::produce_ten_byte_records(mc, "cm", records);
    net::io_context io;
    auto registry = std::make_shared<kc::metrics_registry>();
    kwire::test::log_capture logs;
    auto cfg = kwire::test::observed_consumer(mc, "cm-consumer", "g-cm");
    cfg.max_poll_records = 10;
    cfg.metrics = registry;
    cfg.log.handler = logs.handler();
    cfg.log.level = kc::log_level::info;
    mc.push_request_errors(offset_commit_api, {coordinator_load_in_progress});  // the first commit is refused
    kwire::consumer c(io.get_executor(), cfg);
    c.subscribe({"cm"});
    const kc::metric_labels me{.client_id = "cm-consumer"};
    const kc::metric_labels p0{.client_id = "cm-consumer", .topic = "cm", .partition = 0};
    driver d(c);
    std::vector<std::pair<std::int64_t, std::int64_t>> lag_at;  // offset, records-lag while handing it out
    d.on = [&](const kwire::consumer_record& r) {
        lag_at.emplace_back(r.offset, registry->total("records-lag", p0).value_or(-1));
        r.ack();
    };
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() == records || d.error; }, 30s)) << d.error.message();
    // Everything is committed (after the refused attempt) and a later fetch saw no lag.
    ASSERT_TRUE(run_until(io, [&] {
        return registry->total("commit-total", me).value_or(0) >= 2 && c.committable({"cm", 0}) == records &&
               registry->total("records-lag-max", me) == 0;
    }, 10s));

    EXPECT_EQ(registry->total("records-consumed-total", p0), records);
    EXPECT_EQ(registry->total("bytes-consumed-total", p0), records * 10);
    // While a poll handed out a batch of at most 10, the rest of the 40 waited: lag is the high
    // watermark minus the offset after that batch, so never less than 40 - offset - 10 and never
    // more than 40 - offset - 1.
    ASSERT_EQ(lag_at.size(), static_cast<std::size_t>(records));
    for (const auto& [offset, lag] : lag_at) {
        EXPECT_LE(lag, records - offset - 1) << "offset " << offset;
        EXPECT_GE(lag, records - offset - 10) << "offset " << offset;
    }
    EXPECT_EQ(registry->total("records-lag", p0), 0);

    const kc::metric_labels broker1{.client_id = "cm-consumer", .broker = 1};
    const auto fetches = registry->total("fetch-total", broker1).value_or(0);
    EXPECT_GE(fetches, 1);
    EXPECT_EQ(static_cast<std::int64_t>(histogram_count(*registry, "fetch-latency", broker1)), fetches);

    const auto commits = registry->total("commit-total", me).value_or(0);
    EXPECT_EQ(registry->total("commit-failed-total", me), 1);
    EXPECT_EQ(static_cast<std::int64_t>(histogram_count(*registry, "commit-latency", me)), commits);
    EXPECT_EQ(logs.count("WARN group: group g-cm: offset commit (attempt 1, generation "), 1u) << all_lines(logs);
    EXPECT_EQ(logs.count(") failed: "), 1u) << all_lines(logs);
    EXPECT_EQ(logs.count("retrying"), 1u) << all_lines(logs);

    EXPECT_EQ(registry->total("rebalance-total", me), 1);
    EXPECT_EQ(histogram_count(*registry, "rebalance-latency", me), 1u);
    EXPECT_EQ(registry->total("assigned-partitions", me), 1);
    EXPECT_GE(logs.count("INFO group: group g-cm: coordinator is broker 1"), 1u) << all_lines(logs);
    EXPECT_EQ(logs.count(": assigned cm-0 (1 owned, rebalance took "), 1u) << all_lines(logs);
    EXPECT_EQ(logs.count("INFO group: group g-cm generation "), 1u) << all_lines(logs);
    EXPECT_EQ(logs.count("INFO consumer: cm-0: no committed offset for group g-cm: starting at the beginning"), 1u)
        << all_lines(logs);
}

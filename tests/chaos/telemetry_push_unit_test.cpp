// KIP-714 end to end: kwire's OTLP payloads read back by `protoc --decode_raw` (not by kwire),
// and a producer (and a consumer) pushing its metrics to the scripted brokers (support_telemetry_broker.hpp):
// the subscription fetched, pushes at the interval with the requested metrics only, compressed
// as the broker accepts, a new subscription fetched on UNKNOWN_SUBSCRIPTION_ID, another codec
// after UNSUPPORTED_COMPRESSION_TYPE, the terminating push on close, and nothing at all sent to
// brokers without the APIs or with enable.metrics.push=false.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <functional>
#include <iostream>

#include "kwire/client/consumer.hpp"
#include "kwire/client/metrics.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/protocol/error.hpp"
#include "observe/otlp.hpp"
#include "observe/telemetry_push_machine.hpp"
#include "support_checker.hpp"
#include "support_otlp_decode.hpp"
#include "support_rules_broker.hpp"
#include "support_telemetry_broker.hpp"

namespace kc = kwire::client;
namespace kt = kwire::test;
using namespace std::chrono_literals;

namespace {

// --- the OTLP encoding, decoded independently ---------------------------------------------

struct OtlpEncoding : ::testing::Test {
    void SetUp() override { ASSERT_TRUE(kt::protoc_available()) << "protoc missing: scripts/deps.sh installs protobuf-compiler"; }

    kc::metrics_registry registry;
    kc::metric_labels mine(std::optional<std::int32_t> broker = 1) {
        kc::metric_labels l;
        l.client_id = "otlp-client";
        l.broker = broker;
        return l;
    }
    kc::detail::telemetry_subscription all() {
        kc::detail::telemetry_subscription s;
        s.requested = {"*"};
        return s;
    }
};

TEST_F(OtlpEncoding, CountersGaugesAndHistogramsUnderKip714Names) {
    registry.counter("request-total", "requests sent", mine()).add(5);
    registry.gauge("requests-in-flight", "in flight", mine()).set(2);
    registry.counter("connection-creation-total", "connections", mine()).add(1);
    auto& latency = registry.histogram("request-latency", "latency", mine());
    for (const std::uint64_t us : {100, 200, 3000}) latency.record(us);
    kc::metric_labels other = mine();
    other.client_id = "someone-else";
    registry.counter("request-total", "requests sent", other).add(99);

    kc::detail::otlp_encoder enc("producer", "otlp-client", 1000);
    const auto d = kt::decode_otlp(enc.encode(registry.snapshot(), all(), 2000));
    ASSERT_TRUE(d.ok) << d.error;
    EXPECT_EQ(d.resource.at("client_id"), "otlp-client");

    const auto* total = d.find("org.apache.kafka.producer.node.request.total");
    ASSERT_NE(total, nullptr);
    EXPECT_EQ(total->kind, "sum");
    EXPECT_EQ(total->int_value, 5);  // not 99 + 5: the other client's value is not ours
    EXPECT_EQ(total->temporality, 2);
    EXPECT_EQ(total->attributes.at("node_id"), "1");
    EXPECT_EQ(total->start_nanos, 1000u);
    EXPECT_EQ(total->time_nanos, 2000u);

    const auto* in_flight = d.find("org.apache.kafka.producer.node.requests.in.flight");
    ASSERT_NE(in_flight, nullptr);
    EXPECT_EQ(in_flight->kind, "gauge");
    EXPECT_EQ(in_flight->int_value, 2);
    ASSERT_NE(d.find("org.apache.kafka.producer.connection.creation.total"), nullptr);

    const auto* hist = d.find("org.apache.kafka.producer.node.request.latency");
    ASSERT_NE(hist, nullptr);
    EXPECT_EQ(hist->kind, "histogram");
    EXPECT_EQ(hist->count, 3u);
    const auto* avg = d.find("org.apache.kafka.producer.node.request.latency.avg");
    const auto* max = d.find("org.apache.kafka.producer.node.request.latency.max");
    ASSERT_NE(avg, nullptr);
    ASSERT_NE(max, nullptr);
    EXPECT_TRUE(avg->is_double);
    EXPECT_NEAR(avg->double_value, 1.1, 1e-9);  // (100 + 200 + 3000) µs / 3, in ms
    EXPECT_NEAR(max->double_value, 3.0, 1e-9);
    EXPECT_EQ(d.metrics.size(), 6u);
}

TEST_F(OtlpEncoding, OnlyRequestedPrefixes) {
    registry.counter("request-total", "requests sent", mine()).add(1);
    registry.counter("connection-creation-total", "connections", mine()).add(1);
    auto sub = all();
    sub.requested = {"org.apache.kafka.producer.connection."};
    kc::detail::otlp_encoder enc("producer", "otlp-client", 0);
    const auto d = kt::decode_otlp(enc.encode(registry.snapshot(), sub, 1));
    ASSERT_TRUE(d.ok) << d.error;
    ASSERT_EQ(d.metrics.size(), 1u);
    EXPECT_EQ(d.metrics[0].name, "org.apache.kafka.producer.connection.creation.total");
}

TEST_F(OtlpEncoding, DeltaTemporalityCarriesWhatChangedSinceTheLastPush) {
    auto& c = registry.counter("request-total", "requests sent", mine());
    c.add(5);
    auto sub = all();
    sub.delta = true;
    kc::detail::otlp_encoder enc("consumer", "otlp-client", 100);
    auto d = kt::decode_otlp(enc.encode(registry.snapshot(), sub, 200));
    ASSERT_TRUE(d.ok) << d.error;
    ASSERT_NE(d.find("org.apache.kafka.consumer.node.request.total"), nullptr);
    EXPECT_EQ(d.find("org.apache.kafka.consumer.node.request.total")->int_value, 5);
    c.add(3);
    d = kt::decode_otlp(enc.encode(registry.snapshot(), sub, 300));
    ASSERT_TRUE(d.ok) << d.error;
    const auto* m = d.find("org.apache.kafka.consumer.node.request.total");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->int_value, 3);
    EXPECT_EQ(m->temporality, 1);
    EXPECT_EQ(m->start_nanos, 200u);  // since the previous push
    EXPECT_EQ(m->time_nanos, 300u);
}

TEST_F(OtlpEncoding, StaysWithinTelemetryMaxBytes) {
    for (int b = 1; b <= 40; ++b) registry.counter("request-total", "requests sent", mine(b)).add(1);
    auto sub = all();
    kc::detail::otlp_encoder enc("producer", "otlp-client", 0);
    const auto whole = enc.encode(registry.snapshot(), sub, 1);
    sub.max_bytes = static_cast<std::int32_t>(whole.size() / 2);
    const auto half = enc.encode(registry.snapshot(), sub, 2);
    EXPECT_LE(half.size(), whole.size() / 2);
    EXPECT_GT(enc.dropped(), 10u);
    const auto d = kt::decode_otlp(half);
    ASSERT_TRUE(d.ok) << d.error;
    EXPECT_EQ(d.metrics.size() + enc.dropped(), 40u);
}

// --- a producer against the scripted brokers -----------------------------------------------

/// Runs `io` until `done` (or `limit` passes); support_checker.hpp's, with a default limit.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    return kt::run_until(io, done, limit);
}

kwire::protocol::bytes_view bv(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::int16_t code(kwire::kafka_errc e) { return kwire::wire_code(e); }

struct TelemetryPush : ::testing::Test {
    kt::rules_cluster rules{1};
    boost::asio::io_context io;

    void SetUp() override { rules.add_topic("t", 1); }

    kwire::producer_config config() {
        kwire::producer_config cfg;
        cfg.bootstrap_servers = rules.cluster().addresses();
        cfg.client_id = "kip714-producer";
        cfg.linger = 1ms;
        return cfg;
    }
    void produce(kwire::producer& p, int n) {
        int done = 0;
        for (int i = 0; i < n; ++i)
            p.send({.topic = "t", .value = bv("v" + std::to_string(i)), .partition = 0},
                   [&](std::error_code ec, kwire::delivery) { done += !ec; });
        ASSERT_TRUE(run_until(io, [&] { return done == n; }));
    }
    void close(kwire::producer& p) {
        bool closed = false;
        p.close([&](boost::system::error_code) { closed = true; });
        ASSERT_TRUE(run_until(io, [&] { return closed; }));
    }
    std::size_t telemetry_requests() {
        return rules.cluster().requests(71).size() + rules.cluster().requests(72).size();
    }
};

TEST_F(TelemetryPush, PushesTheRequestedMetricsAtTheIntervalCompressedAndTerminatesOnClose) {
    kt::telemetry_broker tb(rules.cluster(), {.requested = {"org.apache.kafka.producer.node.request"},
                                              .compression = {4, 3},
                                              .push_interval_ms = 200});
    kwire::producer p(io.get_executor(), config());
    const auto start = std::chrono::steady_clock::now();
    produce(p, 20);
    ASSERT_TRUE(run_until(io, [&] { return tb.pushes().size() >= 4; }));
    close(p);
    ASSERT_TRUE(run_until(io, [&] { return !tb.pushes().empty() && tb.pushes().back().terminating; }, 5s));

    const auto requests = tb.subscription_requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_TRUE(requests[0].is_zero());  // the first request asks for an id
    const auto pushes = tb.pushes();
    for (std::size_t i = 0; i < pushes.size(); ++i) {
        SCOPED_TRACE("push " + std::to_string(i));
        const auto& push = pushes[i];
        EXPECT_EQ(push.answered, 0);
        EXPECT_EQ(push.instance_id, kt::telemetry_broker::assigned_id());
        EXPECT_EQ(push.compression, 4);  // zstd: the broker's first choice
        EXPECT_EQ(push.terminating, i + 1 == pushes.size());
        const auto d = kt::decode_otlp(push.metrics);
        ASSERT_TRUE(d.ok) << d.error;
        EXPECT_EQ(d.resource.at("client_id"), "kip714-producer");
        ASSERT_FALSE(d.metrics.empty());
        for (const auto& m : d.metrics) EXPECT_TRUE(m.name.starts_with("org.apache.kafka.producer.node.request")) << m.name;
        const auto* total = d.find("org.apache.kafka.producer.node.request.total");
        ASSERT_NE(total, nullptr);
        EXPECT_GT(total->int_value, 0);  // Metadata, Produce, ... were sent
        EXPECT_EQ(total->attributes.count("node_id"), 1u);
    }
    std::cout << "[ info ] " << pushes.size() << " pushes; the last: " << pushes.back().metrics.size()
              << " bytes of OTLP, " << pushes.back().wire_bytes << " zstd-compressed\n";
    // The first push waits the interval times [0.5, 1.5); the next ones the interval.
    const auto first = std::chrono::duration_cast<std::chrono::milliseconds>(pushes[0].at - start);
    EXPECT_GE(first, 100ms);
    EXPECT_LT(first, 300ms + 500ms);  // + producing and scheduling
    for (std::size_t i = 1; i + 1 < pushes.size(); ++i) {
        const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(pushes[i].at - pushes[i - 1].at);
        EXPECT_GE(gap, 190ms) << i;
        EXPECT_LT(gap, 400ms) << i;
    }
}

TEST_F(TelemetryPush, ChangedSubscriptionIsFetchedAgainAndARefusedCodecIsReplaced) {
    kt::telemetry_broker tb(rules.cluster(), {.compression = {4, 3}, .push_interval_ms = 100});
    kwire::producer p(io.get_executor(), config());
    produce(p, 5);
    ASSERT_TRUE(run_until(io, [&] { return tb.pushes().size() >= 1; }));
    tb.set_subscription({.requested = {"org.apache.kafka.producer.connection"}, .compression = {4, 3},
                         .push_interval_ms = 100});
    ASSERT_TRUE(run_until(io, [&] {
        const auto ps = tb.pushes();
        return std::any_of(ps.begin(), ps.end(), [](const auto& x) { return x.subscription_id == 2 && !x.answered; });
    }));
    tb.fail_next_pushes({code(kwire::kafka_errc::unsupported_compression_type)});
    const auto before = tb.pushes().size();
    ASSERT_TRUE(run_until(io, [&] {
        const auto ps = tb.pushes();
        return ps.size() > before + 1 && ps.back().compression == 3 && !ps.back().answered;
    }));
    close(p);

    const auto requests = tb.subscription_requests();
    ASSERT_GE(requests.size(), 3u);  // first, after UNKNOWN_SUBSCRIPTION_ID, after UNSUPPORTED_COMPRESSION_TYPE
    for (std::size_t i = 1; i < requests.size(); ++i) EXPECT_EQ(requests[i], kt::telemetry_broker::assigned_id());
    const auto pushes = tb.pushes();
    const auto stale = std::find_if(pushes.begin(), pushes.end(), [](const auto& x) { return x.answered != 0; });
    ASSERT_NE(stale, pushes.end());
    EXPECT_EQ(stale->answered, code(kwire::kafka_errc::unknown_subscription_id));
    // After the new subscription, only its metrics.
    const auto& last = pushes.back();
    const auto d = kt::decode_otlp(last.metrics);
    ASSERT_TRUE(d.ok) << d.error;
    ASSERT_FALSE(d.metrics.empty());
    for (const auto& m : d.metrics) EXPECT_TRUE(m.name.starts_with("org.apache.kafka.producer.connection")) << m.name;
}

TEST_F(TelemetryPush, ConsumerPushesUnderItsOwnNamesAndTerminatesOnClose) {
    kt::telemetry_broker tb(rules.cluster(), {.requested = {"org.apache.kafka.consumer."}, .push_interval_ms = 100});
    kwire::consumer_config cfg;
    cfg.bootstrap_servers = rules.cluster().addresses();
    cfg.client_id = "kip714-consumer";
    kwire::consumer c(io.get_executor(), cfg);
    c.assign({{"t", 0, kwire::offset::beginning}});
    std::function<void()> poll = [&] {
        c.poll(100ms, [&](boost::system::error_code ec, kwire::record_batch) {
            if (!ec) poll();
        });
    };
    poll();
    ASSERT_TRUE(run_until(io, [&] { return tb.pushes().size() >= 2; }));
    bool closed = false;
    c.close([&](boost::system::error_code) { closed = true; });
    ASSERT_TRUE(run_until(io, [&] { return closed && tb.pushes().back().terminating; }, 5s));
    for (const auto& push : tb.pushes()) {
        const auto d = kt::decode_otlp(push.metrics);
        ASSERT_TRUE(d.ok) << d.error;
        EXPECT_EQ(d.resource.at("client_id"), "kip714-consumer");
        ASSERT_NE(d.find("org.apache.kafka.consumer.node.request.total"), nullptr);
        for (const auto& m : d.metrics) EXPECT_TRUE(m.name.starts_with("org.apache.kafka.consumer.")) << m.name;
    }
}

TEST_F(TelemetryPush, InvalidRecordStopsPushing) {
    kt::telemetry_broker tb(rules.cluster(), {.push_interval_ms = 50});
    tb.fail_next_pushes({code(kwire::kafka_errc::invalid_record)});
    kwire::producer p(io.get_executor(), config());
    produce(p, 3);
    ASSERT_TRUE(run_until(io, [&] { return tb.pushes().size() >= 1; }));
    run_until(io, [] { return false; }, 400ms);
    close(p);
    run_until(io, [] { return false; }, 100ms);
    EXPECT_EQ(tb.pushes().size(), 1u);  // no more, not even a terminating one
}

TEST_F(TelemetryPush, NothingSentToBrokersWithoutTheApis) {
    kwire::producer p(io.get_executor(), config());
    produce(p, 5);
    run_until(io, [] { return false; }, 300ms);
    close(p);
    EXPECT_EQ(telemetry_requests(), 0u);
}

TEST_F(TelemetryPush, NothingSentWithMetricsPushOff) {
    kt::telemetry_broker tb(rules.cluster(), {.push_interval_ms = 50});
    auto cfg = config();
    std::string what;
    ASSERT_FALSE(kwire::client::apply_properties(cfg, {{"enable.metrics.push", "false"}}, &what)) << what;
    EXPECT_FALSE(cfg.enable_metrics_push);
    kwire::producer p(io.get_executor(), cfg);
    produce(p, 5);
    run_until(io, [] { return false; }, 300ms);
    close(p);
    EXPECT_EQ(telemetry_requests(), 0u);
}

}  // namespace

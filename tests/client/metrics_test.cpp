// Metrics primitives: log-linear histogram buckets and quantiles, the registry (same instrument for
// the same name and labels, totals, snapshots under concurrent recording), the Prometheus text,
// and the statistics JSON's rtt window computed from two histogram snapshots.
#include "kwire/client/metrics.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <random>
#include <thread>
#include <vector>

#include "observe/statistics.hpp"

using namespace kwire::client;

TEST(Histogram, BucketsHoldTheirValuesWithin12Percent) {
    // Every value maps to a bucket whose bounds contain it; buckets are contiguous and increasing.
    std::uint64_t previous_upper = 0;
    for (std::size_t i = 1; i < metric_histogram::bucket_count; ++i) {
        const auto upper = metric_histogram::bucket_upper(i);
        ASSERT_GT(upper, previous_upper) << i;
        ASSERT_EQ(metric_histogram::bucket_of(upper), i);
        ASSERT_EQ(metric_histogram::bucket_of(previous_upper + 1), i);
        const auto lower = previous_upper + 1;
        if (lower >= 8) {
            ASSERT_LE(static_cast<double>(upper - lower + 1) / static_cast<double>(lower), 0.125 + 1e-9);
        }
        previous_upper = upper;
    }
    EXPECT_EQ(metric_histogram::bucket_of(0), 0u);
    EXPECT_EQ(metric_histogram::bucket_of(7), 7u);
    EXPECT_EQ(metric_histogram::bucket_of(~std::uint64_t{0}), metric_histogram::bucket_count - 1);
}

TEST(Histogram, QuantilesMeanAndMax) {
    metric_histogram h;
    for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
    const auto s = h.read();
    EXPECT_EQ(s.count, 1000u);
    EXPECT_EQ(s.sum, 500500u);
    EXPECT_EQ(s.max, 1000u);
    EXPECT_DOUBLE_EQ(s.mean(), 500.5);
    const auto p50 = s.quantile(0.5);
    EXPECT_GE(p50, 500u);
    EXPECT_LE(p50, 500u * 9 / 8);
    const auto p99 = s.quantile(0.99);
    EXPECT_GE(p99, 990u);
    EXPECT_LE(p99, 1000u);  // never above the max
    EXPECT_EQ(s.count_at_most(7), 7u);
}

TEST(Histogram, ConcurrentRecordingLosesNothing) {
    metric_histogram h;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&h, t] {
            std::minstd_rand rng(static_cast<unsigned>(t));
            for (int i = 0; i < 50000; ++i) h.record(rng() % 100000);
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(h.read().count, 200000u);
}

TEST(Registry, SameNameAndLabelsIsTheSameInstrument) {
    metrics_registry r;
    metric_labels b1{.client_id = "p", .broker = 1};
    metric_labels b2{.client_id = "p", .broker = 2};
    auto& c1 = r.counter("request-total", "requests", b1);
    auto& again = r.counter("request-total", "requests", b1);
    auto& c2 = r.counter("request-total", "requests", b2);
    EXPECT_EQ(&c1, &again);
    EXPECT_NE(&c1, &c2);
    c1.add(3);
    c2.add(4);
    EXPECT_EQ(r.total("request-total"), 7);
    EXPECT_EQ(r.total("request-total", {.broker = 2}), 4);
    EXPECT_EQ(r.total("request-total", {.client_id = "other"}), std::nullopt);
    EXPECT_EQ(r.total("no-such-metric"), std::nullopt);
    r.gauge("requests-in-flight", "in flight", b1).set(5);
    const auto snap = r.snapshot();
    ASSERT_EQ(snap.size(), 3u);
    EXPECT_EQ(snap[2].name, "requests-in-flight");
    EXPECT_EQ(snap[2].value, 5);
}

TEST(Prometheus, TextFormatWithEscapedLabelsAndHistogramsInSeconds) {
    metrics_registry r;
    r.counter("outgoing-byte-total", "bytes sent", {.client_id = "a\"b\\c\nd", .broker = -1}).add(42);
    auto& h = r.histogram("request-latency", "latency", {.client_id = "p", .broker = 3});
    h.record(3);     // bucket le=4us
    h.record(1000);  // 1 ms: le=1024us
    const auto text = to_prometheus(r);
    EXPECT_NE(text.find("# TYPE kwire_outgoing_byte_total counter\n"
                        "kwire_outgoing_byte_total{client_id=\"a\\\"b\\\\c\\nd\",broker=\"-1\"} 42\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE kwire_request_latency_seconds histogram\n"), std::string::npos) << text;
    EXPECT_NE(text.find("kwire_request_latency_seconds_bucket{client_id=\"p\",broker=\"3\",le=\"1e-06\"} 0\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("kwire_request_latency_seconds_bucket{client_id=\"p\",broker=\"3\",le=\"4e-06\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("kwire_request_latency_seconds_bucket{client_id=\"p\",broker=\"3\",le=\"+Inf\"} 2\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("kwire_request_latency_seconds_count{client_id=\"p\",broker=\"3\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("kwire_request_latency_seconds_sum{client_id=\"p\",broker=\"3\"} 0.001003\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("kwire_request_latency_max{client_id=\"p\",broker=\"3\"} 1\n"), std::string::npos) << text;
}

TEST(Prometheus, OneBlockPerNameAcrossRegistries) {
    metrics_registry a, b;
    a.counter("request-total", "requests", {.client_id = "a"}).add(1);
    b.counter("request-total", "requests", {.client_id = "b"}).add(2);
    const metrics_registry* both[] = {&a, &b};
    const auto text = to_prometheus(both);
    EXPECT_EQ(text,
              "# HELP kwire_request_total requests\n"
              "# TYPE kwire_request_total counter\n"
              "kwire_request_total{client_id=\"a\"} 1\n"
              "kwire_request_total{client_id=\"b\"} 2\n");
}

TEST(StatisticsWindow, CoversOnlyTheValuesSinceTheLastSnapshot) {
    using kwire::client::detail::window_stats;
    const auto field = [](const boost::json::object& o, const char* key) { return o.at(key).as_int64(); };
    metric_histogram h;
    for (std::uint64_t us : {100, 200, 300}) h.record(us);
    const auto first = h.read();
    const auto w1 = window_stats(first, {}, 0);
    EXPECT_EQ(field(w1, "cnt"), 3);
    EXPECT_EQ(field(w1, "sum"), 600);
    EXPECT_EQ(field(w1, "avg"), 200);
    // Buckets hold a value within 12.5%: min and max are the bounds of the buckets holding them.
    EXPECT_LE(field(w1, "min"), 100);
    EXPECT_GE(field(w1, "min"), 88);
    EXPECT_EQ(field(w1, "max"), 300);
    EXPECT_GE(field(w1, "p50"), 200);
    EXPECT_LE(field(w1, "p50"), 225);

    for (std::uint64_t us : {5000, 7000}) h.record(us);
    const auto second = h.read();
    const auto w2 = window_stats(second, first.buckets, first.sum);
    EXPECT_EQ(field(w2, "cnt"), 2);
    EXPECT_EQ(field(w2, "sum"), 12000);
    EXPECT_EQ(field(w2, "avg"), 6000);
    EXPECT_GE(field(w2, "min"), 4400);  // the window's smallest is 5000, not the run's 100
    EXPECT_LE(field(w2, "min"), 5000);
    EXPECT_EQ(field(w2, "max"), 7000);
    EXPECT_GT(field(w2, "stddev"), 500);
    EXPECT_LT(field(w2, "stddev"), 1500);

    const auto w3 = window_stats(second, second.buckets, second.sum);  // nothing new
    EXPECT_EQ(field(w3, "cnt"), 0);
    EXPECT_EQ(field(w3, "max"), 0);
    for (const char* k : {"min", "max", "avg", "sum", "cnt", "stddev", "p50", "p75", "p90", "p95", "p99", "p99_99"})
        EXPECT_TRUE(w3.contains(k)) << k;
}

// The statistics JSON's parts that need no socket: the rtt window computed from two histogram
// snapshots, and statistics.interval.ms through the settings table.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "kwire/client/config.hpp"
#include "kwire/client/error.hpp"
#include "kwire/client/metrics.hpp"
#include "observe/statistics.hpp"

namespace {

using kwire::client::metric_histogram;
using kwire::client::detail::window_stats;

std::int64_t field(const boost::json::object& o, const char* key) { return o.at(key).as_int64(); }

TEST(StatisticsWindow, CoversOnlyTheValuesSinceTheLastSnapshot) {
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

TEST(StatisticsWindow, IntervalIsAConnectionProperty) {
    kwire::client::producer_config p;
    EXPECT_FALSE(kwire::client::apply_properties(p, {{"statistics.interval.ms", "1500"}}));
    EXPECT_EQ(p.statistics_interval.count(), 1500);
    kwire::client::connection_config c;
    EXPECT_FALSE(kwire::client::apply_properties(c, {{"statistics.interval.ms", "0"}}));
    EXPECT_EQ(c.statistics_interval.count(), 0);
    std::string what;
    EXPECT_EQ(kwire::client::apply_properties(c, {{"statistics.interval.ms", "-5"}}, &what),
              kwire::client::client_errc::invalid_config);
    EXPECT_NE(what.find("statistics.interval.ms"), std::string::npos) << what;
}

}  // namespace

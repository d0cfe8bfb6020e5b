// The group coordinator's lookups back off as KIP-580 says: retry.backoff.ms doubling per
// consecutive failure up to retry.backoff.max.ms, with +-20% jitter, and from the start again
// once the coordinator is found. Made deterministic with a scripted random source.
#include "group/coordinator.hpp"
#include "scripted_random.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <vector>

namespace {

using kwire::client::detail::backoff;
using kwire::client::detail::consumer_core;
using kwire::client::detail::coordinator;
using kwire::client::detail::coordinator_lookup;
using namespace std::chrono_literals;

std::vector<std::chrono::milliseconds> failures(coordinator_lookup& lookup, int n, scripted_random& random) {
    std::vector<std::chrono::milliseconds> out;
    for (int i = 0; i < n; ++i) out.push_back(lookup.failed(random));
    return out;
}

TEST(CoordinatorLookup, FailedLookupsWaitLongerEachTimeUpToTheMax) {
    coordinator_lookup lookup(backoff(100ms, 1000ms));
    scripted_random middle{{50}};
    EXPECT_EQ(failures(lookup, 6, middle),
              (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms}));
    EXPECT_EQ(lookup.failures(), 6);
    EXPECT_EQ(lookup.node(), -1);
}

TEST(CoordinatorLookup, EachWaitIsJitteredByTwentyPercent) {
    coordinator_lookup low(backoff(100ms, 1000ms)), high(backoff(100ms, 1000ms));
    scripted_random lowest{{0}}, highest{{100}};
    EXPECT_EQ(failures(low, 5, lowest), (std::vector<std::chrono::milliseconds>{80ms, 160ms, 320ms, 640ms, 800ms}));
    EXPECT_EQ(failures(high, 5, highest),
              (std::vector<std::chrono::milliseconds>{120ms, 240ms, 480ms, 960ms, 1200ms}));
}

TEST(CoordinatorLookup, FindingTheCoordinatorStartsTheBackoffAgain) {
    coordinator_lookup lookup(backoff(100ms, 1000ms));
    scripted_random middle{{50}};
    failures(lookup, 4, middle);
    lookup.found(3);
    EXPECT_EQ(lookup.node(), 3);
    EXPECT_EQ(lookup.failures(), 0);
    lookup.lost();  // NOT_COORDINATOR from a group request
    EXPECT_EQ(lookup.node(), -1);
    EXPECT_EQ(lookup.failed(middle), 100ms);
    EXPECT_EQ(lookup.failed(middle), 200ms);
}

TEST(CoordinatorLookup, TheConsumerLooksUpWithItsRetryBackoffSettings) {
    kwire::consumer_config cfg;
    EXPECT_EQ(cfg.retry_backoff_max, 1000ms);  // Java's default
    cfg.bootstrap_servers = {"127.0.0.1:1"};
    cfg.group_id = "g";
    cfg.retry_backoff = 30ms;
    cfg.retry_backoff_max = 200ms;
    boost::asio::io_context io;
    consumer_core core(io.get_executor(), cfg);
    const coordinator c(core);
    auto lookup = c.lookup();  // a copy: the coordinator's own is untouched
    scripted_random middle{{50}};
    EXPECT_EQ(failures(lookup, 5, middle), (std::vector<std::chrono::milliseconds>{30ms, 60ms, 120ms, 200ms, 200ms}));
}

}  // namespace

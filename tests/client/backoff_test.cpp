// The one backoff (exponential, capped, with jitter) and the retry-until-deadline schedule,
// made deterministic with a scripted random source.
#include "core/backoff.hpp"
#include "scripted_random.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

using kwire::client::detail::backoff;
using kwire::client::detail::jitter_factor;
using kwire::client::detail::retry_deadline;
using namespace std::chrono_literals;

TEST(Backoff, DoublesFromTheBaseUpToTheCap) {
    const backoff b(100ms, 1000ms);
    EXPECT_EQ(b.delay(1), 100ms);
    EXPECT_EQ(b.delay(2), 200ms);
    EXPECT_EQ(b.delay(3), 400ms);
    EXPECT_EQ(b.delay(4), 800ms);
    EXPECT_EQ(b.delay(5), 1000ms);
    EXPECT_EQ(b.delay(50), 1000ms);
    EXPECT_EQ(b.delay(1'000'000), 1000ms);  // no overflow however many failures
}

TEST(Backoff, EdgeSettings) {
    EXPECT_EQ(backoff(0ms, 1000ms).delay(30), 0ms);    // retry.backoff.ms=0: no wait at all
    EXPECT_EQ(backoff(500ms, 200ms).delay(1), 200ms);  // a cap below the base wins
    EXPECT_EQ(backoff(100ms, 100ms).delay(7), 100ms);  // equal: a constant backoff
}

TEST(Backoff, JitterSpreadsEachWaitByTwentyPercentAfterTheCap) {
    const backoff b(100ms, 1000ms);
    scripted_random lowest{{0}}, middle{{50}}, highest{{100}};
    EXPECT_EQ(b(1, lowest), 80ms);
    EXPECT_EQ(b(1, middle), 100ms);
    EXPECT_EQ(b(1, highest), 120ms);
    EXPECT_EQ(b(4, lowest), 640ms);
    EXPECT_EQ(b(9, highest), 1200ms);  // capped at 1000, then jittered
    EXPECT_EQ(b.delay(5, 1.2), 1200ms);
}

TEST(Backoff, TheRealSourceStaysWithinTheSpread) {
    const backoff b(1000ms, 10000ms);
    for (int i = 0; i < 1000; ++i) {
        const auto d = b(1);
        EXPECT_GE(d, 800ms);
        EXPECT_LE(d, 1200ms);
    }
    std::mt19937 random(7);
    for (int i = 0; i < 1000; ++i) {
        const double f = jitter_factor(random);
        EXPECT_GE(f, 0.8);
        EXPECT_LE(f, 1.2);
    }
}

TEST(RetryDeadline, GrantsGrowingWaitsUntilTheDeadlineThenNone) {
    const auto start = retry_deadline::clock::time_point{} + 1h;
    retry_deadline r(backoff(100ms, 400ms), start + 1s);
    scripted_random middle{{50}};
    EXPECT_EQ(r.next(start, middle), 100ms);
    EXPECT_EQ(r.next(start + 100ms, middle), 200ms);
    EXPECT_EQ(r.next(start + 300ms, middle), 400ms);
    EXPECT_EQ(r.next(start + 700ms, middle), 400ms);
    EXPECT_EQ(r.retries(), 4);
    EXPECT_FALSE(r.expired(start + 999ms));
    EXPECT_TRUE(r.expired(start + 1s));
    EXPECT_EQ(r.next(start + 1s, middle), std::nullopt);
    EXPECT_EQ(r.retries(), 4);  // a refused retry is not counted
}

}  // namespace

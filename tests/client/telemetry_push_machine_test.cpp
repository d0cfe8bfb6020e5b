// The KIP-714 telemetry machine on its own: subscription, first-push jitter, intervals,
// compression choice, the errors KIP-714 names, and the terminating push.
#include <gtest/gtest.h>

#include <set>

#include "kwire/protocol/error.hpp"
#include "observe/telemetry_push_machine.hpp"

namespace kc = kwire::client::detail;
namespace kp = kwire::protocol;
using machine = kc::telemetry_push_machine;
using step = machine::step;
using std::chrono::milliseconds;

namespace {

kp::GetTelemetrySubscriptionsResponse subscription(std::vector<std::string> requested = {"org.apache.kafka."},
                                                   std::vector<std::int8_t> compression = {4, 1}) {
    kp::GetTelemetrySubscriptionsResponse r;
    r.client_instance_id.bytes[0] = 0x42;
    r.subscription_id = 7;
    r.push_interval_ms = 1000;
    r.telemetry_max_bytes = 4096;
    r.accepted_compression_types = std::move(compression);
    r.requested_metrics = std::move(requested);
    return r;
}

std::int16_t code(kwire::kafka_errc e) { return kwire::wire_code(e); }

/// Subscribes `m` at `t0` and runs it to its first push (in flight); returns when that was due.
machine::clock::time_point pushing(machine& m, machine::clock::time_point t0,
                                   const kp::GetTelemetrySubscriptionsResponse& sub = subscription()) {
    EXPECT_EQ(m.next(t0).what, step::get_subscription);
    m.on_subscription(t0, sub);
    const auto a = m.next(t0);
    EXPECT_EQ(a.what, step::wait);
    EXPECT_EQ(m.next(a.until).what, step::push);
    return a.until;
}

struct TelemetryMachine : ::testing::Test {
    machine m{12345};
    machine::clock::time_point t0 = machine::clock::now();

    machine::clock::time_point first_push(const kp::GetTelemetrySubscriptionsResponse& sub = subscription()) {
        return pushing(m, t0, sub);
    }
};

TEST_F(TelemetryMachine, FirstRequestCarriesZeroIdThenTheBrokers) {
    EXPECT_TRUE(m.client_instance_id().is_zero());
    first_push();
    EXPECT_EQ(m.client_instance_id().bytes[0], 0x42);
    EXPECT_EQ(m.subscription().id, 7);
    // A later answer with a zero id keeps the assigned one.
    m.on_push(t0, code(kwire::kafka_errc::unknown_subscription_id));
    ASSERT_EQ(m.next(t0).what, step::get_subscription);
    auto again = subscription();
    again.client_instance_id = {};
    again.subscription_id = 8;
    m.on_subscription(t0, again);
    EXPECT_EQ(m.client_instance_id().bytes[0], 0x42);
    EXPECT_EQ(m.subscription().id, 8);
}

TEST_F(TelemetryMachine, FirstPushIsJitteredWithinHalfToOneAndAHalfIntervals) {
    std::set<std::int64_t> seen;
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
        machine mm(seed);
        ASSERT_EQ(mm.next(t0).what, step::get_subscription);
        mm.on_subscription(t0, subscription());
        const auto a = mm.next(t0);
        ASSERT_EQ(a.what, step::wait);
        const auto ms = std::chrono::duration_cast<milliseconds>(a.until - t0).count();
        EXPECT_GE(ms, 500);
        EXPECT_LT(ms, 1500);
        seen.insert(ms / 100);
    }
    EXPECT_GT(seen.size(), 5u);  // spread out, not one fixed delay
}

TEST_F(TelemetryMachine, LaterPushesFollowTheInterval) {
    const auto t1 = first_push();
    m.on_push(t1, 0);
    const auto a = m.next(t1);
    ASSERT_EQ(a.what, step::wait);
    EXPECT_EQ(a.until - t1, milliseconds(1000));
    EXPECT_EQ(m.next(a.until - milliseconds(1)).what, step::wait);
    EXPECT_EQ(m.next(a.until).what, step::push);
}

TEST_F(TelemetryMachine, NoRequestedMetricsMeansNoPushButAnotherLookLater) {
    ASSERT_EQ(m.next(t0).what, step::get_subscription);
    m.on_subscription(t0, subscription({}));
    const auto a = m.next(t0);
    ASSERT_EQ(a.what, step::wait);
    EXPECT_EQ(a.until - t0, milliseconds(1000));
    EXPECT_EQ(m.next(a.until).what, step::get_subscription);
}

TEST_F(TelemetryMachine, RequestedMetricsArePrefixesStarOrEmptyMeanAll) {
    first_push(subscription({"org.apache.kafka.producer.node.request"}));
    EXPECT_TRUE(m.subscription().wants("org.apache.kafka.producer.node.request.total"));
    EXPECT_FALSE(m.subscription().wants("org.apache.kafka.producer.connection.creation.total"));
    kc::telemetry_subscription s;
    EXPECT_FALSE(s.wants("anything"));
    s.requested = {"*"};
    EXPECT_TRUE(s.wants("org.apache.kafka.consumer.x"));
    s.requested = {""};
    EXPECT_TRUE(s.wants("org.apache.kafka.consumer.x"));
}

TEST_F(TelemetryMachine, CompressionIsTheBrokersFirstChoiceAndARefusedOneIsNotUsedAgain) {
    first_push(subscription({"*"}, {0, 4, 3}));  // none listed first is skipped: zstd
    // (the push in flight used zstd)
    m.on_push(t0, code(kwire::kafka_errc::unsupported_compression_type));
    ASSERT_EQ(m.next(t0).what, step::get_subscription);  // at once
    m.on_subscription(t0, subscription({"*"}, {4, 3}));
    EXPECT_EQ(m.compression(), kwire::codec::compression::lz4);
    const auto a = m.next(t0);
    ASSERT_EQ(m.next(a.until).compression, kwire::codec::compression::lz4);
    m.on_push(a.until, code(kwire::kafka_errc::unsupported_compression_type));
    ASSERT_EQ(m.next(a.until).what, step::get_subscription);
    m.on_subscription(a.until, subscription({"*"}, {4, 3}));
    EXPECT_EQ(m.compression(), kwire::codec::compression::none);
}

TEST_F(TelemetryMachine, UnknownSubscriptionRefetchesAtOnce) {
    const auto t1 = first_push();
    m.on_push(t1, code(kwire::kafka_errc::unknown_subscription_id));
    EXPECT_EQ(m.next(t1).what, step::get_subscription);
}

TEST_F(TelemetryMachine, TooLargeAndThrottledWaitAnInterval) {
    for (const auto e : {kwire::kafka_errc::telemetry_too_large, kwire::kafka_errc::throttling_quota_exceeded}) {
        machine mm(1);
        const auto due = pushing(mm, t0);
        mm.on_push(due, code(e));
        const auto a = mm.next(due);
        ASSERT_EQ(a.what, step::wait);
        EXPECT_EQ(a.until - due, milliseconds(1000));
        EXPECT_EQ(mm.next(a.until).what, step::push);
    }
}

TEST_F(TelemetryMachine, InvalidRequestOrRecordStopsPushing) {
    for (const auto e : {kwire::kafka_errc::invalid_request, kwire::kafka_errc::invalid_record}) {
        machine mm(1);
        const auto due = pushing(mm, t0);
        mm.on_push(due, code(e));
        EXPECT_EQ(mm.next(due + std::chrono::hours(1)).what, step::stopped);
        EXPECT_EQ(mm.stop_error(), code(e));
    }
}

TEST_F(TelemetryMachine, SubscriptionErrorsAreReadTheSameWay) {
    ASSERT_EQ(m.next(t0).what, step::get_subscription);
    auto bad = subscription();
    bad.error_code = code(kwire::kafka_errc::invalid_request);
    m.on_subscription(t0, bad);
    EXPECT_TRUE(m.stopped());
    EXPECT_FALSE(m.has_subscription());
}

TEST_F(TelemetryMachine, LostAnswerRefetchesAfterAPause) {
    const auto t1 = first_push();
    m.on_failure(t1);
    const auto a = m.next(t1);
    ASSERT_EQ(a.what, step::wait);
    EXPECT_EQ(a.until - t1, milliseconds(1000));  // min(pause, interval)
    EXPECT_EQ(m.next(a.until).what, step::get_subscription);
}

TEST_F(TelemetryMachine, CloseSendsOneTerminatingPushAtOnce) {
    ASSERT_EQ(m.next(t0).what, step::get_subscription);
    m.on_subscription(t0, subscription());
    m.close();
    const auto a = m.next(t0);  // not waiting for the interval
    EXPECT_EQ(a.what, step::push);
    EXPECT_TRUE(a.terminating);
    EXPECT_EQ(a.compression, kwire::codec::compression::zstd);
    m.on_push(t0, 0);
    EXPECT_EQ(m.next(t0).what, step::stopped);
}

TEST_F(TelemetryMachine, CloseWhilePushingStillTerminates) {
    first_push();  // in flight
    m.close();
    const auto a = m.next(t0);
    EXPECT_EQ(a.what, step::push);
    EXPECT_TRUE(a.terminating);
}

TEST_F(TelemetryMachine, CloseWithoutSubscriptionOrWhenDisabledSendsNothing) {
    m.close();
    EXPECT_EQ(m.next(t0).what, step::stopped);
    machine mm(1);
    mm.disable();
    mm.close();
    EXPECT_EQ(mm.next(t0).what, step::stopped);
    EXPECT_EQ(mm.current(), machine::state::disabled);
}

}  // namespace

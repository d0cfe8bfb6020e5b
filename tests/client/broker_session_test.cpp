// broker_session without sockets: requests become bytes, bytes become responses matched in order.
#include "net/broker_session.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kwire/client/error.hpp"
#include "kwire/protocol/messages/api_versions.hpp"
#include "kwire/protocol/messages/heartbeat.hpp"
#include "kwire/protocol/messages/metadata.hpp"

namespace kp = kwire::protocol;
using kwire::client::detail::broker_session;
using steady = kwire::client::detail::clock;

namespace {

struct completion {
    std::error_code ec;
    std::vector<std::uint8_t> frame;
    int calls = 0;
};

kwire::client::detail::response_handler record(completion& c) {
    return [&c](std::error_code ec, kp::bytes_view frame) {
        ++c.calls;
        c.ec = ec;
        c.frame.assign(frame.begin(), frame.end());
    };
}

/// Feeds bytes into the session as a socket read would.
std::error_code feed(broker_session& s, const std::vector<std::uint8_t>& bytes) {
    auto span = s.prepare_input(bytes.size());
    std::memcpy(span.data(), bytes.data(), bytes.size());
    return s.input_received(bytes.size());
}

std::vector<std::uint8_t> heartbeat_response(std::int32_t correlation_id, std::int16_t error) {
    kp::HeartbeatResponse resp;
    resp.error_code = error;
    std::vector<std::uint8_t> out;
    kp::encode_response(out, resp, 4, correlation_id);
    return out;
}

const auto far = steady::now() + std::chrono::hours(1);

}  // namespace

TEST(BrokerSession, EncodesRequestsWithIncreasingCorrelationIdsIntoOneBuffer) {
    broker_session s(1 << 20, "test-client");
    completion a, b;
    kp::HeartbeatRequest hb;
    hb.group_id = "g";
    EXPECT_EQ(s.enqueue(hb, 4, far, record(a)), 0);
    EXPECT_EQ(s.enqueue(hb, 4, far, record(b)), 1);
    ASSERT_TRUE(s.has_output());
    std::vector<std::uint8_t> out;
    s.take_output(out);
    EXPECT_FALSE(s.has_output());

    // Two frames back to back, each decodable as a request with its correlation id.
    std::size_t at = 0;
    for (std::int32_t id : {0, 1}) {
        const auto size = kp::load_be<std::int32_t>(out.data() + at);
        kp::HeartbeatRequest back;
        kp::request_header h;
        ASSERT_FALSE(kp::decode_request(kp::bytes_view(out.data() + at + 4, static_cast<std::size_t>(size)), back, &h));
        EXPECT_EQ(h.correlation_id, id);
        EXPECT_EQ(h.client_id, "test-client");
        EXPECT_EQ(back.group_id, "g");
        at += 4 + static_cast<std::size_t>(size);
    }
    EXPECT_EQ(at, out.size());
    EXPECT_EQ(s.in_flight(), 2u);
}

TEST(BrokerSession, MatchesResponsesInOrderEvenWhenTheyArriveInPieces) {
    broker_session s(1 << 20, "c");
    completion a, b;
    kp::HeartbeatRequest hb;
    s.enqueue(hb, 4, far, record(a));
    s.enqueue(hb, 4, far, record(b));
    auto bytes = heartbeat_response(0, 0);
    const auto second = heartbeat_response(1, 27);  // REBALANCE_IN_PROGRESS
    bytes.insert(bytes.end(), second.begin(), second.end());
    for (std::uint8_t byte : bytes) ASSERT_FALSE(feed(s, {byte}));
    ASSERT_EQ(a.calls, 1);
    ASSERT_EQ(b.calls, 1);
    kp::HeartbeatResponse ra, rb;
    ASSERT_FALSE(kp::decode_response(kp::bytes_view(a.frame), 4, ra));
    ASSERT_FALSE(kp::decode_response(kp::bytes_view(b.frame), 4, rb));
    EXPECT_EQ(ra.error_code, 0);
    EXPECT_EQ(rb.error_code, 27);
    EXPECT_EQ(s.in_flight(), 0u);
}

TEST(BrokerSession, AResponseForAnotherRequestBreaksTheStream) {
    broker_session s(1 << 20, "c");
    completion a;
    s.enqueue(kp::HeartbeatRequest{}, 4, far, record(a));
    EXPECT_EQ(feed(s, heartbeat_response(5, 0)), kwire::errc::correlation_mismatch);
    EXPECT_EQ(a.calls, 0);
    s.fail(make_error_code(kwire::client::client_errc::connection_closed));
    EXPECT_EQ(a.calls, 1);
    EXPECT_EQ(a.ec, kwire::client::client_errc::connection_closed);
}

TEST(BrokerSession, FailCompletesEveryRequestOnceOldestFirstAndResets) {
    broker_session s(1 << 20, "c");
    std::vector<int> order;
    for (int i = 0; i < 3; ++i)
        s.enqueue(kp::HeartbeatRequest{}, 4, far, [&order, i](std::error_code ec, kp::bytes_view) {
            EXPECT_TRUE(ec);
            order.push_back(i);
        });
    s.fail(make_error_code(kwire::client::client_errc::request_timed_out));
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_TRUE(s.idle());
    s.fail(make_error_code(kwire::client::client_errc::closed));  // nothing left to complete twice
    EXPECT_EQ(order.size(), 3u);
}

TEST(BrokerSession, DeadlinesAreTheEarliestInFlight) {
    broker_session s(1 << 20, "c");
    const auto now = steady::now();
    EXPECT_FALSE(s.next_deadline());
    s.enqueue(kp::HeartbeatRequest{}, 4, now + std::chrono::seconds(5), [](std::error_code, kp::bytes_view) {});
    s.enqueue(kp::HeartbeatRequest{}, 4, now + std::chrono::seconds(2), [](std::error_code, kp::bytes_view) {});
    EXPECT_EQ(*s.next_deadline(), now + std::chrono::seconds(2));
    EXPECT_FALSE(s.expired(now + std::chrono::seconds(1)));
    EXPECT_TRUE(s.expired(now + std::chrono::seconds(2)));
}

TEST(BrokerSession, RequestsWithoutResponseCompleteWhenTheirBytesAreWritten) {
    broker_session s(1 << 20, "c");
    completion first, second;
    s.enqueue(kp::HeartbeatRequest{}, 4, far, record(first), false);
    std::vector<std::uint8_t> out;
    s.take_output(out);
    s.enqueue(kp::HeartbeatRequest{}, 4, far, record(second), false);  // not yet taken
    s.output_written();
    EXPECT_EQ(first.calls, 1);
    EXPECT_FALSE(first.ec);
    EXPECT_EQ(second.calls, 0);  // its bytes are not on the wire yet
    s.take_output(out);
    s.output_written();
    EXPECT_EQ(second.calls, 1);
    EXPECT_EQ(s.in_flight(), 0u);
}

TEST(BrokerSession, VersionTablePicksTheHighestCommonVersion) {
    kp::ApiVersionsResponse resp;
    auto& produce = resp.api_keys.emplace_back();
    produce.api_key = 0;
    produce.min_version = 0;
    produce.max_version = 7;
    auto& fetch = resp.api_keys.emplace_back();
    fetch.api_key = 1;
    fetch.min_version = 4;
    fetch.max_version = 11;
    kwire::client::detail::api_version_table t;
    t.assign(resp);
    EXPECT_EQ(t.pick(0, 3, 12), 7);   // broker's max below ours
    EXPECT_EQ(t.pick(1, 0, 8), 8);    // ours below the broker's
    EXPECT_EQ(t.pick(1, 0, 3), -1);   // no overlap: the broker's floor is above our ceiling
    EXPECT_EQ(t.pick(3, 0, 12), -1);  // an API the broker does not list
}

TEST(ApiVersionTable, KeepsTheFinalizedFeaturesTransactionsV2IsDecidedBy) {
    kwire::protocol::ApiVersionsResponse resp;
    resp.finalized_features.push_back({"transaction.version", 2, 2, {}});
    resp.finalized_features.push_back({"metadata.version", 21, 1, {}});
    kwire::client::detail::api_version_table t;
    EXPECT_EQ(t.feature("transaction.version"), 0) << "nothing known yet";
    t.assign(resp);
    EXPECT_EQ(t.feature("transaction.version"), 2);
    EXPECT_EQ(t.feature("metadata.version"), 21);
    EXPECT_EQ(t.feature("group.version"), 0);
    t.assign({});
    EXPECT_EQ(t.feature("transaction.version"), 0) << "a new answer replaces the old";
}

TEST(BrokerSession, MetersCountRequestsBytesLatencyAndInFlight) {
    kwire::client::metrics_registry registry;
    kwire::client::detail::broker_meters meters(registry, "c", 7);
    broker_session s(1 << 20, "test-client");
    s.set_meters(&meters);
    completion a, b;
    kp::HeartbeatRequest hb;
    hb.group_id = "g";
    s.enqueue(hb, 4, far, record(a));
    s.enqueue(hb, 4, far, record(b));
    std::vector<std::uint8_t> out;
    s.take_output(out);
    EXPECT_EQ(meters.requests.value(), 2u);
    EXPECT_EQ(meters.bytes_out.value(), out.size());  // every byte written, size prefixes included
    EXPECT_EQ(meters.in_flight.value(), 2);
    const auto response = heartbeat_response(0, 0);
    ASSERT_FALSE(feed(s, response));
    EXPECT_EQ(meters.responses.value(), 1u);
    EXPECT_EQ(meters.bytes_in.value(), response.size());
    EXPECT_EQ(meters.in_flight.value(), 1);
    EXPECT_EQ(meters.latency.read().count, 1u);
    s.fail(make_error_code(kwire::client::client_errc::connection_closed));
    EXPECT_EQ(meters.in_flight.value(), 0);
    EXPECT_EQ(registry.total("request-total", {.client_id = "c", .broker = 7}), 2);
}

// Golden bytes for KIP-714's two APIs, written by hand from Kafka's message specs
// (GetTelemetrySubscriptions key 71 and PushTelemetry key 72, both v0 and flexible): request
// header v2 (client id as a classic nullable string, then a tag buffer), response header v1.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages.hpp"

namespace kp = kwire::protocol;

namespace {

using byte_vec = std::vector<std::uint8_t>;

kp::uuid uuid_of(std::uint8_t first, std::uint8_t last) {
    kp::uuid u{};
    u.bytes[0] = first;
    u.bytes[15] = last;
    return u;
}

TEST(GoldenTelemetry, GetTelemetrySubscriptionsRequestV0) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x1e,  // size = 30
        0x00, 0x47,              // api_key 71
        0x00, 0x00,              // version 0
        0x00, 0x00, 0x00, 0x07,  // correlation id
        0x00, 0x02, 'k', 'w',    // client id
        0x00,                    // header tags
        0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22,  // ClientInstanceId
        0x00,                    // tags
    };
    kp::GetTelemetrySubscriptionsRequest req;
    req.client_instance_id = uuid_of(0x11, 0x22);
    byte_vec out;
    ASSERT_FALSE(kp::encode_request(out, req, 0, 7, "kw"));
    EXPECT_EQ(out, golden);
    kp::GetTelemetrySubscriptionsRequest back;
    ASSERT_FALSE(kp::decode_request(kp::bytes_view(golden.data() + 4, golden.size() - 4), back));
    EXPECT_TRUE(back == req);
}

TEST(GoldenTelemetry, GetTelemetrySubscriptionsResponseV0) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x37,              // size = 55
        0x00, 0x00, 0x00, 0x09,              // correlation id
        0x00,                                // header tags
        0x00, 0x00, 0x00, 0x05,              // ThrottleTimeMs 5
        0x00, 0x00,                          // ErrorCode 0
        0xab, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcd,  // ClientInstanceId
        0x00, 0x00, 0x00, 0x2a,              // SubscriptionId 42
        0x03, 0x04, 0x01,                    // AcceptedCompressionTypes [zstd, gzip]
        0x00, 0x00, 0x03, 0xe8,              // PushIntervalMs 1000
        0x00, 0x10, 0x00, 0x00,              // TelemetryMaxBytes 1 MiB
        0x01,                                // DeltaTemporality true
        0x03,                                // RequestedMetrics: 2 entries
        0x08, 'o', 'r', 'g', '.', 'a', 'p', 'a',
        0x02, '*',
        0x00,                                // tags
    };
    kp::GetTelemetrySubscriptionsResponse resp;
    resp.throttle_time_ms = 5;
    resp.client_instance_id = uuid_of(0xab, 0xcd);
    resp.subscription_id = 42;
    resp.accepted_compression_types = {4, 1};
    resp.push_interval_ms = 1000;
    resp.telemetry_max_bytes = 1 << 20;
    resp.delta_temporality = true;
    resp.requested_metrics = {"org.apa", "*"};
    byte_vec out;
    ASSERT_FALSE(kp::encode_response(out, resp, 0, 9));
    EXPECT_EQ(out, golden);
    kp::GetTelemetrySubscriptionsResponse back;
    ASSERT_FALSE(kp::decode_response(kp::bytes_view(golden.data() + 4, golden.size() - 4), 0, back));
    EXPECT_TRUE(back == resp);
}

TEST(GoldenTelemetry, PushTelemetryRequestAndResponseV0) {
    const byte_vec golden = {
        0x00, 0x00, 0x00, 0x26,  // size = 38
        0x00, 0x48,              // api_key 72
        0x00, 0x00,              // version 0
        0x00, 0x00, 0x00, 0x03,  // correlation id
        0xff, 0xff,              // client id null
        0x00,                    // header tags
        0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,  // ClientInstanceId
        0x00, 0x00, 0x00, 0x2a,  // SubscriptionId 42
        0x01,                    // Terminating
        0x03,                    // CompressionType lz4
        0x04, 0x0a, 0x0b, 0x0c,  // Metrics COMPACT_BYTES, 3 bytes
        0x00,                    // tags
    };
    kp::PushTelemetryRequest req;
    req.client_instance_id = uuid_of(1, 2);
    req.subscription_id = 42;
    req.terminating = true;
    req.compression_type = 3;
    req.metrics = {0x0a, 0x0b, 0x0c};
    byte_vec out;
    ASSERT_FALSE(kp::encode_request(out, req, 0, 3, std::nullopt));
    EXPECT_EQ(out, golden);
    kp::PushTelemetryRequest back;
    ASSERT_FALSE(kp::decode_request(kp::bytes_view(golden.data() + 4, golden.size() - 4), back));
    EXPECT_TRUE(back == req);

    const byte_vec answer = {0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x03, 0x00,
                             0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs 0
                             0x00, 0x75,              // ErrorCode 117 UNKNOWN_SUBSCRIPTION_ID
                             0x00};
    kp::PushTelemetryResponse presp;
    ASSERT_FALSE(kp::decode_response(kp::bytes_view(answer.data() + 4, answer.size() - 4), 0, presp));
    EXPECT_EQ(presp.error_code, 117);
}

}  // namespace

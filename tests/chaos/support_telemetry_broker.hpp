// KIP-714 on the scripted brokers (tests/admin/scripted_broker.hpp): advertises
// GetTelemetrySubscriptions and PushTelemetry v0 in ApiVersions and answers them as Kafka's
// ClientMetricsManager does: a zero client instance id gets one assigned; a push must name the
// current subscription id (a subscription changed since -- set_subscription -- answers
// UNKNOWN_SUBSCRIPTION_ID) and an accepted compression type (else
// UNSUPPORTED_COMPRESSION_TYPE); a payload over telemetry_max_bytes answers TELEMETRY_TOO_LARGE.
// A test may make the next pushes fail with errors of its choice. Every push is kept, its
// metrics decompressed (by the codec the push names) for support_otlp_decode.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "scripted_broker.hpp"

namespace kwire::test {

struct telemetry_subscription_spec {
    std::vector<std::string> requested{"*"};
    std::vector<std::int8_t> compression{};  ///< accepted types, in preference order
    std::int32_t push_interval_ms = 200;
    std::int32_t max_bytes = 1 << 20;
    bool delta = false;
};

struct received_push {
    int node = 0;
    kp::uuid instance_id{};
    std::int32_t subscription_id = 0;
    bool terminating = false;
    std::int8_t compression = 0;
    std::size_t wire_bytes = 0;          ///< the payload as sent (compressed)
    std::vector<std::uint8_t> metrics;   ///< decompressed
    std::int16_t answered = 0;           ///< the error code the broker answered
    std::chrono::steady_clock::time_point at{};
};

class telemetry_broker {
public:
    explicit telemetry_broker(scripted_cluster& c, telemetry_subscription_spec spec = {});

    /// Changes the subscription (a new subscription id): pushes naming the old one fail.
    void set_subscription(telemetry_subscription_spec spec);
    /// The next pushes answer these errors, one each, in order.
    void fail_next_pushes(std::vector<std::int16_t> errors);

    std::vector<received_push> pushes() const;
    /// The client instance ids the GetTelemetrySubscriptions requests carried, in order.
    std::vector<kp::uuid> subscription_requests() const;
    /// The id this broker assigns.
    static kp::uuid assigned_id();

private:
    std::optional<std::vector<std::uint8_t>> get_subscription(const scripted_request& r);
    std::optional<std::vector<std::uint8_t>> push(const scripted_request& r);

    mutable std::mutex mutex_;
    telemetry_subscription_spec spec_;
    std::int32_t subscription_id_ = 1;
    std::deque<std::int16_t> failures_;
    std::vector<received_push> pushes_;
    std::vector<kp::uuid> requests_;
};

}  // namespace kwire::test

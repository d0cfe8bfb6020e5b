// The KIP-714 client telemetry machine, sans-I/O: when to fetch the broker's subscription
// (GetTelemetrySubscriptions), when to push metrics (PushTelemetry), with which compression,
// and what each answer or failure means. The Asio side (telemetry_push.hpp) asks next(), sends
// what it says, and reports back; this file decides.
//
// The rules, as KIP-714 and the Java client's ClientTelemetryReporter have them:
// - The first request carries a zero client instance id; the broker's answer assigns one, kept
//   for the client's life (a later answer that names one replaces it).
// - A subscription with no requested metrics means "push nothing": the subscription is fetched
//   again after its push interval, to see whether that changed.
// - The first push after the first subscription waits the push interval times a jitter drawn
//   from [0.5, 1.5), so that a fleet of clients started together does not push together; later
//   pushes follow the interval.
// - The compression is the first of the broker's accepted types (its order of preference) that
//   this build has and the broker has not refused; none if there is no such type.
// - Push errors: UNKNOWN_SUBSCRIPTION_ID (the subscription changed) fetches the subscription at
//   once; UNSUPPORTED_COMPRESSION_TYPE does too, and never uses that type again;
//   TELEMETRY_TOO_LARGE and THROTTLING_QUOTA_EXCEEDED wait one interval before the next push;
//   INVALID_REQUEST, INVALID_RECORD, UNSUPPORTED_VERSION and any error KIP-714 does not name stop
//   telemetry for good. GetTelemetrySubscriptions errors are read the same way.
// - A failed request (connection lost, timed out) fetches the subscription again after a pause.
// - close() makes the next push the terminating one, sent at once (a push in flight is not
//   waited for); once it is answered, or when there is no subscription to push to, it is over.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/codec/compression.hpp"
#include "kwire/protocol/messages/get_telemetry_subscriptions.hpp"

namespace kwire::client::detail {

/// What the broker asked for.
struct telemetry_subscription {
    std::int32_t id = 0;
    std::vector<std::int8_t> accepted_compression;  ///< the broker's order of preference
    std::chrono::milliseconds push_interval{300000};
    std::int32_t max_bytes = 0;  ///< the largest payload the broker takes; 0: no limit stated
    bool delta = false;          ///< deltas since the last push, else cumulative since start
    std::vector<std::string> requested;  ///< metric name prefixes

    /// Whether a metric (its OTLP name, "org.apache.kafka.producer...") is subscribed: a prefix
    /// matches, or one is "*" (the empty prefix matches everything too); an empty list: none.
    bool wants(std::string_view metric) const noexcept;
    bool wants_any() const noexcept { return !requested.empty(); }
};

class telemetry_push_machine {
public:
    using clock = std::chrono::steady_clock;
    /// Kafka's default push interval, for a subscription that names none.
    static constexpr std::chrono::milliseconds default_interval{300000};
    /// How long a failed request (no answer at all) waits before the subscription is fetched again.
    static constexpr std::chrono::milliseconds failure_pause{5000};

    enum class state {
        subscription_needed,
        subscription_in_flight,
        push_needed,
        push_in_flight,
        terminating_push_needed,
        terminating_push_in_flight,
        terminated,
        disabled,
    };
    enum class step { idle, wait, get_subscription, push, stopped };
    struct action {
        step what = step::idle;
        clock::time_point until{};  ///< step::wait: ask again then
        bool terminating = false;   ///< step::push
        codec::compression compression = codec::compression::none;  ///< step::push
    };

    /// `seed`: for the first push's jitter (tests fix it).
    explicit telemetry_push_machine(std::uint64_t seed = std::random_device{}());

    /// What to do now. A request step moves to its in-flight state: answer it with
    /// on_subscription / on_push, or on_failure.
    action next(clock::time_point now);

    void on_subscription(clock::time_point now, const protocol::GetTelemetrySubscriptionsResponse& resp);
    void on_push(clock::time_point now, std::int16_t error_code);
    /// The request in flight got no answer (connection lost, timed out, not sent).
    void on_failure(clock::time_point now);
    /// The broker does not speak both APIs: nothing is ever sent.
    void disable() noexcept { state_ = state::disabled; }
    /// The client is closing: a terminating push next if there is a subscription pushed to,
    /// else terminated.
    void close();

    state current() const noexcept { return state_; }
    bool stopped() const noexcept { return state_ == state::terminated || state_ == state::disabled; }
    bool has_subscription() const noexcept { return has_subscription_; }
    const telemetry_subscription& subscription() const noexcept { return subscription_; }
    /// Zero until the broker assigns one.
    const protocol::uuid& client_instance_id() const noexcept { return instance_id_; }
    /// The compression pushes use now.
    codec::compression compression() const noexcept;
    /// Why telemetry stopped (the error name), when it did for an error.
    std::int16_t stop_error() const noexcept { return stop_error_; }

private:
    /// Reads an error of either API; true when it was handled (anything but success).
    bool handle_error(clock::time_point now, std::int16_t error_code);
    void schedule(state s, clock::time_point at) noexcept {
        state_ = s;
        due_ = at;
    }

    state state_ = state::subscription_needed;
    clock::time_point due_{};  // when the *_needed state acts
    bool has_subscription_ = false;
    bool pushed_before_ = false;  // the first push's jitter is drawn once
    codec::compression in_flight_compression_ = codec::compression::none;
    std::vector<std::int8_t> refused_compression_;
    telemetry_subscription subscription_;
    protocol::uuid instance_id_{};
    std::int16_t stop_error_ = 0;
    std::mt19937_64 random_;
};

}  // namespace kwire::client::detail

// The KIP-714 telemetry machine (observe/telemetry_push_machine.hpp): subscription, push timing,
// compression choice and error handling, without I/O.
#include "observe/telemetry_push_machine.hpp"

#include <algorithm>

#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

bool telemetry_subscription::wants(std::string_view metric) const noexcept {
    return std::any_of(requested.begin(), requested.end(),
                       [&](const std::string& prefix) { return prefix == "*" || metric.starts_with(prefix); });
}

telemetry_push_machine::telemetry_push_machine(std::uint64_t seed) : random_(seed) {}

codec::compression telemetry_push_machine::compression() const noexcept {
    for (const auto id : subscription_.accepted_compression) {
        if (id <= 0 || !codec::is_known_compression(static_cast<unsigned>(id))) continue;
        if (std::find(refused_compression_.begin(), refused_compression_.end(), id) != refused_compression_.end())
            continue;
        const auto c = static_cast<codec::compression>(id);
        if (codec::compression_available(c)) return c;
    }
    return codec::compression::none;
}

telemetry_push_machine::action telemetry_push_machine::next(clock::time_point now) {
    switch (state_) {
        case state::subscription_needed:
            if (now < due_) return {step::wait, due_};
            state_ = state::subscription_in_flight;
            return {step::get_subscription};
        case state::push_needed:
            if (now < due_) return {step::wait, due_};
            state_ = state::push_in_flight;
            in_flight_compression_ = compression();
            return {step::push, {}, false, in_flight_compression_};
        case state::terminating_push_needed:
            state_ = state::terminating_push_in_flight;
            in_flight_compression_ = compression();
            return {step::push, {}, true, in_flight_compression_};
        case state::subscription_in_flight:
        case state::push_in_flight:
        case state::terminating_push_in_flight: return {step::idle};
        case state::terminated:
        case state::disabled: break;
    }
    return {step::stopped};
}

bool telemetry_push_machine::handle_error(clock::time_point now, std::int16_t error_code) {
    if (error_code == 0) return false;
    if (error_code == wire_code(kafka_errc::unknown_subscription_id)) {
        schedule(state::subscription_needed, now);
    } else if (error_code == wire_code(kafka_errc::unsupported_compression_type)) {
        if (in_flight_compression_ != codec::compression::none)
            refused_compression_.push_back(static_cast<std::int8_t>(in_flight_compression_));
        schedule(state::subscription_needed, now);
    } else if (error_code == wire_code(kafka_errc::telemetry_too_large) ||
               error_code == wire_code(kafka_errc::throttling_quota_exceeded)) {
        schedule(has_subscription_ ? state::push_needed : state::subscription_needed,
                 now + subscription_.push_interval);
    } else {
        // INVALID_REQUEST, INVALID_RECORD, UNSUPPORTED_VERSION, and whatever KIP-714 does not
        // name: retrying cannot help.
        state_ = state::disabled;
        stop_error_ = error_code;
    }
    return true;
}

void telemetry_push_machine::on_subscription(clock::time_point now,
                                             const protocol::GetTelemetrySubscriptionsResponse& resp) {
    if (state_ != state::subscription_in_flight) return;
    if (handle_error(now, resp.error_code)) return;
    if (!resp.client_instance_id.is_zero()) instance_id_ = resp.client_instance_id;
    subscription_.id = resp.subscription_id;
    subscription_.accepted_compression = resp.accepted_compression_types;
    subscription_.push_interval =
        resp.push_interval_ms > 0 ? std::chrono::milliseconds(resp.push_interval_ms) : default_interval;
    subscription_.max_bytes = std::max(resp.telemetry_max_bytes, 0);
    subscription_.delta = resp.delta_temporality;
    subscription_.requested = resp.requested_metrics;
    has_subscription_ = true;
    if (!subscription_.wants_any()) {
        schedule(state::subscription_needed, now + subscription_.push_interval);
        return;
    }
    auto wait = subscription_.push_interval;
    if (!pushed_before_) {
        std::uniform_real_distribution<double> jitter(0.5, 1.5);
        wait = std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(wait.count()) * jitter(random_)));
        pushed_before_ = true;
    }
    schedule(state::push_needed, now + wait);
}

void telemetry_push_machine::on_push(clock::time_point now, std::int16_t error_code) {
    // While terminating, the first answer is the end: on one connection, the answer of a push
    // made before close() comes first, and nothing is pushed after the terminating one anyway.
    if (state_ == state::terminating_push_in_flight) {
        state_ = state::terminated;
        return;
    }
    if (state_ != state::push_in_flight) return;
    if (!handle_error(now, error_code)) schedule(state::push_needed, now + subscription_.push_interval);
}

void telemetry_push_machine::on_failure(clock::time_point now) {
    switch (state_) {
        case state::terminating_push_in_flight: state_ = state::terminated; return;
        case state::subscription_in_flight:
        case state::push_in_flight:
            schedule(state::subscription_needed, now + std::min(failure_pause, subscription_.push_interval));
            return;
        default: return;
    }
}

void telemetry_push_machine::close() {
    switch (state_) {
        // A push in flight is not waited for: the terminating push follows it at once (on the
        // same connection, the broker reads them in order).
        case state::push_needed:
        case state::push_in_flight: state_ = state::terminating_push_needed; return;
        case state::terminating_push_needed:
        case state::terminating_push_in_flight:
        case state::disabled: return;
        default: state_ = state::terminated; return;  // no subscription to push to (yet)
    }
}

}  // namespace kwire::client::detail

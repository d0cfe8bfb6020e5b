// KIP-714's two APIs on the scripted brokers (support_telemetry_broker.hpp).
#include "support_telemetry_broker.hpp"

#include <algorithm>

#include "kwire/codec/compression.hpp"
#include "kwire/protocol/error.hpp"
#include "kwire/protocol/messages/get_telemetry_subscriptions.hpp"
#include "kwire/protocol/messages/push_telemetry.hpp"

namespace kwire::test {

telemetry_broker::telemetry_broker(scripted_cluster& c, telemetry_subscription_spec spec) : spec_(std::move(spec)) {
    c.with_api(kp::GetTelemetrySubscriptionsRequest::api_key, 0, 0);
    c.with_api(kp::PushTelemetryRequest::api_key, 0, 0);
    c.on(kp::GetTelemetrySubscriptionsRequest::api_key, [this](const scripted_request& r) { return get_subscription(r); });
    c.on(kp::PushTelemetryRequest::api_key, [this](const scripted_request& r) { return push(r); });
}

kp::uuid telemetry_broker::assigned_id() {
    kp::uuid id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::uint8_t>(0xa0 + i);
    return id;
}

void telemetry_broker::set_subscription(telemetry_subscription_spec spec) {
    std::lock_guard lock(mutex_);
    spec_ = std::move(spec);
    ++subscription_id_;
}

void telemetry_broker::fail_next_pushes(std::vector<std::int16_t> errors) {
    std::lock_guard lock(mutex_);
    failures_.insert(failures_.end(), errors.begin(), errors.end());
}

std::vector<received_push> telemetry_broker::pushes() const {
    std::lock_guard lock(mutex_);
    return pushes_;
}

std::vector<kp::uuid> telemetry_broker::subscription_requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::optional<std::vector<std::uint8_t>> telemetry_broker::get_subscription(const scripted_request& r) {
    const auto req = r.decode<kp::GetTelemetrySubscriptionsRequest>();
    std::lock_guard lock(mutex_);
    requests_.push_back(req.client_instance_id);
    kp::GetTelemetrySubscriptionsResponse resp;
    if (req.client_instance_id.is_zero()) resp.client_instance_id = assigned_id();
    resp.subscription_id = subscription_id_;
    resp.accepted_compression_types = spec_.compression;
    resp.push_interval_ms = spec_.push_interval_ms;
    resp.telemetry_max_bytes = spec_.max_bytes;
    resp.delta_temporality = spec_.delta;
    resp.requested_metrics = spec_.requested;
    return scripted_cluster::respond(r, resp);
}

std::optional<std::vector<std::uint8_t>> telemetry_broker::push(const scripted_request& r) {
    const auto req = r.decode<kp::PushTelemetryRequest>();
    std::lock_guard lock(mutex_);
    received_push p;
    p.node = r.node;
    p.instance_id = req.client_instance_id;
    p.subscription_id = req.subscription_id;
    p.terminating = req.terminating;
    p.compression = req.compression_type;
    p.wire_bytes = req.metrics.size();
    p.at = std::chrono::steady_clock::now();
    const auto accepted = std::find(spec_.compression.begin(), spec_.compression.end(), req.compression_type);
    if (req.subscription_id != subscription_id_) {
        p.answered = wire_code(kafka_errc::unknown_subscription_id);
    } else if (req.compression_type != 0 && accepted == spec_.compression.end()) {
        p.answered = wire_code(kafka_errc::unsupported_compression_type);
    } else if (static_cast<std::int64_t>(req.metrics.size()) > spec_.max_bytes) {
        p.answered = wire_code(kafka_errc::telemetry_too_large);
    } else if (!failures_.empty()) {
        p.answered = failures_.front();
        failures_.pop_front();
    }
    const auto codec = static_cast<codec::compression>(req.compression_type);
    if (codec == codec::compression::none) p.metrics = req.metrics;
    else if (codec::decompress(codec, kp::bytes_view(req.metrics.data(), req.metrics.size()), p.metrics, 64 << 20))
        p.answered = wire_code(kafka_errc::invalid_record);
    kp::PushTelemetryResponse resp;
    resp.error_code = p.answered;
    pushes_.push_back(std::move(p));
    return scripted_cluster::respond(r, resp);
}

}  // namespace kwire::test

// KIP-714 telemetry pushes over the cluster's connections (observe/telemetry_push.hpp).
#include "observe/telemetry_push.hpp"

#include "kwire/protocol/messages/get_telemetry_subscriptions.hpp"
#include "kwire/protocol/messages/push_telemetry.hpp"
#include "net/cluster.hpp"

namespace kwire::client::detail {

namespace {

std::uint64_t unix_nanos() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

bool speaks_telemetry(const broker_connection& c) {
    const auto& v = c.versions();
    return v.pick(protocol::GetTelemetrySubscriptionsRequest::api_key, 0, 0) >= 0 &&
           v.pick(protocol::PushTelemetryRequest::api_key, 0, 0) >= 0;
}

}  // namespace

telemetry_push::telemetry_push(cluster& c, std::string kind, metrics_registry& registry)
    : cluster_(&c), registry_(&registry), encoder_(std::move(kind), c.config().client_id, unix_nanos()),
      timer_(c.get_executor()) {}

std::shared_ptr<broker_connection> telemetry_push::ready_connection() {
    if (auto c = last_.lock(); c && c->ready()) return c;
    auto c = cluster_->any_broker();
    return c && c->ready() ? c : nullptr;
}

void telemetry_push::kick() {
    if (started_ || closed_ || !ready_connection()) return;
    started_ = true;
    run();
}

void telemetry_push::run() {
    if (closed_) return;
    const auto now = telemetry_push_machine::clock::now();
    const auto a = machine_.next(now);
    switch (a.what) {
        case telemetry_push_machine::step::wait:
            timer_.expires_at(a.until);
            timer_.async_wait([w = weak_from_this()](std::error_code ec) {
                if (auto self = w.lock(); self && !ec) self->run();
            });
            return;
        case telemetry_push_machine::step::get_subscription:
        case telemetry_push_machine::step::push: {
            auto conn = ready_connection();
            if (!conn) conn = cluster_->any_broker();  // connects: the client is busy anyway
            if (!conn) {
                machine_.on_failure(now);
                return run();
            }
            last_ = conn;
            if (a.what == telemetry_push_machine::step::get_subscription) get_subscription(conn);
            else push(conn, false, a.compression);
            return;
        }
        case telemetry_push_machine::step::idle:
        case telemetry_push_machine::step::stopped: return;
    }
}

void telemetry_push::get_subscription(const std::shared_ptr<broker_connection>& conn) {
    if (conn->ready() && !speaks_telemetry(*conn)) {
        KWIRE_LOG(cluster_->log(), log_level::debug, log_context::broker,
                  "telemetry: broker " + std::to_string(conn->node_id()) +
                      " speaks no KIP-714 (GetTelemetrySubscriptions, PushTelemetry): metrics push off");
        machine_.disable();
        return;
    }
    protocol::GetTelemetrySubscriptionsRequest req;
    req.client_instance_id = machine_.client_instance_id();
    conn->request(std::move(req), [w = weak_from_this(), wc = std::weak_ptr(conn)](
                                      std::error_code ec, protocol::GetTelemetrySubscriptionsResponse resp, std::int16_t) {
        auto self = w.lock();
        if (!self || self->closed_) return;
        const auto now = telemetry_push_machine::clock::now();
        const auto c = wc.lock();
        if (ec == client_errc::unsupported_version || (!ec && c && !speaks_telemetry(*c))) self->machine_.disable();
        else if (ec) self->machine_.on_failure(now);
        else self->machine_.on_subscription(now, resp);
        if (self->machine_.stopped() && self->machine_.stop_error())
            KWIRE_LOG(self->cluster_->log(), log_level::warn, log_context::broker,
                      "telemetry: GetTelemetrySubscriptions failed with Kafka error " +
                          std::to_string(self->machine_.stop_error()) + ": metrics push off");
        self->run();
    });
}

std::vector<std::uint8_t> telemetry_push::payload(codec::compression& compression) {
    auto raw = encoder_.encode(registry_->snapshot(), machine_.subscription(), unix_nanos());
    if (encoder_.dropped())
        KWIRE_LOG_LIMITED(cluster_->log(), log_level::warn, log_context::broker, "telemetry too large",
                          "telemetry: " + std::to_string(encoder_.dropped()) +
                              " metrics left out of a push to stay within the broker's telemetry_max_bytes");
    if (compression == codec::compression::none) return raw;
    std::vector<std::uint8_t> packed;
    if (!codec::compress(compression, protocol::bytes_view(raw.data(), raw.size()), packed)) return packed;
    compression = codec::compression::none;
    return raw;
}

void telemetry_push::push(const std::shared_ptr<broker_connection>& conn, bool terminating,
                          codec::compression compression) {
    protocol::PushTelemetryRequest req;
    req.client_instance_id = machine_.client_instance_id();
    req.subscription_id = machine_.subscription().id;
    req.terminating = terminating;
    req.metrics = payload(compression);
    req.compression_type = static_cast<std::int8_t>(compression);
    conn->request(std::move(req), [w = weak_from_this(), wc = std::weak_ptr(conn), terminating](
                                      std::error_code ec, protocol::PushTelemetryResponse resp, std::int16_t) {
        auto self = w.lock();
        if (terminating) {
            // The cluster left this connection open for the terminating push: its job is done.
            if (auto c = wc.lock()) c->close();
        }
        if (!self) return;
        const auto now = telemetry_push_machine::clock::now();
        if (ec) self->machine_.on_failure(now);
        else self->machine_.on_push(now, resp.error_code);
        if (self->machine_.stopped() && self->machine_.stop_error())
            KWIRE_LOG(self->cluster_ && !self->closed_ ? self->cluster_->log() : nullptr, log_level::warn,
                      log_context::broker,
                      "telemetry: PushTelemetry failed with Kafka error " + std::to_string(self->machine_.stop_error()) +
                          ": metrics push off");
        self->run();
    });
}

std::shared_ptr<broker_connection> telemetry_push::close() {
    if (closed_) return nullptr;
    timer_.cancel();
    machine_.close();
    const auto a = machine_.next(telemetry_push_machine::clock::now());
    std::shared_ptr<broker_connection> conn;
    if (a.what == telemetry_push_machine::step::push && (conn = ready_connection())) push(conn, true, a.compression);
    closed_ = true;
    return conn;
}

}  // namespace kwire::client::detail

// A client's telemetry (observe/telemetry.hpp): the logger, per-broker instruments and the last
// connection errors.
#include "observe/telemetry.hpp"

#include <algorithm>

namespace kwire::client::detail {

namespace {
metric_labels broker_labels(const std::string& client_id, std::int32_t node_id) {
    metric_labels l;
    l.client_id = client_id;
    l.broker = node_id;
    return l;
}
}  // namespace

broker_meters::broker_meters(metrics_registry& r, const std::string& client_id, std::int32_t node_id)
    : requests(r.counter("request-total", "requests sent", broker_labels(client_id, node_id))),
      responses(r.counter("response-total", "responses received", broker_labels(client_id, node_id))),
      bytes_out(r.counter("outgoing-byte-total", "bytes of requests sent", broker_labels(client_id, node_id))),
      bytes_in(r.counter("incoming-byte-total", "bytes of responses received", broker_labels(client_id, node_id))),
      latency(r.histogram("request-latency", "from a request written to its response read",
                          broker_labels(client_id, node_id))),
      in_flight(r.gauge("requests-in-flight", "requests sent and not yet answered", broker_labels(client_id, node_id))),
      attempts(r.counter("connection-attempt-total", "connection attempts", broker_labels(client_id, node_id))),
      created(r.counter("connection-creation-total", "connections established (ready for requests)",
                        broker_labels(client_id, node_id))),
      failed(r.counter("connection-failure-total", "connection attempts that failed before the connection was ready",
                       broker_labels(client_id, node_id))),
      closed(r.counter("connection-close-total", "established connections lost or closed",
                       broker_labels(client_id, node_id))),
      auth_failed(r.counter("failed-authentication-total", "SASL authentications that failed",
                            broker_labels(client_id, node_id))) {}

telemetry::telemetry(const connection_config& cfg)
    : client_id_(cfg.client_id), log_(cfg.log, cfg.client_id), metrics_(cfg.metrics) {}

std::unique_ptr<broker_meters> telemetry::meters_for(std::int32_t node_id) const {
    if (!metrics_) return nullptr;
    return std::make_unique<broker_meters>(*metrics_, client_id_, node_id);
}

void telemetry::record_connection_error(connection_error e) {
    std::lock_guard lock(mutex_);
    const auto it = std::find_if(per_broker_.begin(), per_broker_.end(),
                                 [&](const connection_error& x) { return x.node_id == e.node_id; });
    if (it != per_broker_.end()) *it = e;
    else per_broker_.push_back(e);
    last_ = std::move(e);
}

std::optional<connection_error> telemetry::last_error() const {
    std::lock_guard lock(mutex_);
    return last_;
}

std::optional<connection_error> telemetry::last_error(std::int32_t node_id) const {
    std::lock_guard lock(mutex_);
    for (const auto& e : per_broker_)
        if (e.node_id == node_id) return e;
    return std::nullopt;
}

}  // namespace kwire::client::detail

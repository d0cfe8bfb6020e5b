// KIP-714 client telemetry on the cluster's executor: drives telemetry_push_machine (which
// decides), sends GetTelemetrySubscriptions and PushTelemetry over the cluster's connections,
// and builds each push from the client's metrics registry (otlp.hpp), compressed as the
// subscription allows. One per client whose enable.metrics.push is on (cluster::push_metrics).
//
// It begins when the cluster first has a connection up (kick(), after a Metadata answer) and
// stops quietly when that broker does not speak both APIs (older brokers, the C client's mock cluster):
// then nothing is ever sent. It prefers the connection it used last, else any ready one.
//
// Lifetime: the cluster owns it; its timer and requests hold it weakly, so a cluster destroyed
// with a request in flight leaves nothing behind. close() sends the terminating push and hands
// its connection back to the cluster to leave open; the push's answer (or failure) closes it.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>

#include "kwire/client/metrics.hpp"
#include "observe/otlp.hpp"
#include "observe/telemetry_push_machine.hpp"

namespace kwire::client::detail {

class cluster;
class broker_connection;

class telemetry_push : public std::enable_shared_from_this<telemetry_push> {
public:
    /// `kind`: "producer", "consumer" or "admin" (the metric names' second part).
    telemetry_push(cluster& c, std::string kind, metrics_registry& registry);

    /// Begins once a connection is ready (idempotent; the cluster calls it after metadata).
    void kick();
    /// The client is closing: sends the terminating push if there is a subscription, and returns
    /// the connection it went out on (null if none), which the caller must leave open.
    std::shared_ptr<broker_connection> close();

    const telemetry_push_machine& machine() const noexcept { return machine_; }

private:
    void run();
    void get_subscription(const std::shared_ptr<broker_connection>& conn);
    void push(const std::shared_ptr<broker_connection>& conn, bool terminating, codec::compression compression);
    /// The connection to use now: the last one if it is ready, else any ready one.
    std::shared_ptr<broker_connection> ready_connection();
    std::vector<std::uint8_t> payload(codec::compression& compression);

    cluster* cluster_;  // valid until close()
    metrics_registry* registry_;  // the cluster's telemetry's, which outlives this
    telemetry_push_machine machine_;
    otlp_encoder encoder_;
    boost::asio::steady_timer timer_;
    std::weak_ptr<broker_connection> last_;
    bool started_ = false;
    bool closed_ = false;
};

}  // namespace kwire::client::detail

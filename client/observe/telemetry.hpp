// What a client's cluster and its broker connections share to be seen from outside: the logger,
// the metrics registry (null when metrics are off) and the last connection error, with its
// human description, so that a client's timeout can say why ("last error: connection to
// 127.0.0.1:1 refused").
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

#include "kwire/client/config.hpp"
#include "kwire/client/metrics.hpp"
#include "observe/logger.hpp"

namespace kwire::client::detail {

/// A connection that failed: to which broker, the error, and what it means in words.
struct connection_error {
    std::int32_t node_id = -1;
    std::string address;      ///< "host:port" as advertised (or as in bootstrap.servers)
    std::error_code code;
    std::string description;  ///< "connection to 127.0.0.1:1 refused"
    std::chrono::steady_clock::time_point when{};
};

/// One broker connection's instruments (labels: client id, broker), made when the connection is.
struct broker_meters {
    broker_meters(metrics_registry& r, const std::string& client_id, std::int32_t node_id);

    metric_counter& requests;          ///< request-total
    metric_counter& responses;         ///< response-total
    metric_counter& bytes_out;         ///< outgoing-byte-total
    metric_counter& bytes_in;          ///< incoming-byte-total
    metric_histogram& latency;         ///< request-latency (µs): request written to answer read
    metric_gauge& in_flight;           ///< requests-in-flight
    metric_counter& attempts;          ///< connection-attempt-total
    metric_counter& created;           ///< connection-creation-total: connections that became ready
    metric_counter& failed;            ///< connection-failure-total: attempts that never became ready
    metric_counter& closed;            ///< connection-close-total: ready connections that were lost
    metric_counter& auth_failed;       ///< failed-authentication-total
};

class telemetry {
public:
    explicit telemetry(const connection_config& cfg);

    logger* log() noexcept { return &log_; }
    /// Null when metrics are off.
    metrics_registry* metrics() const noexcept { return metrics_.get(); }
    const std::string& client_id() const noexcept { return client_id_; }

    /// The instruments of one broker's connection, or null when metrics are off.
    std::unique_ptr<broker_meters> meters_for(std::int32_t node_id) const;

    void record_connection_error(connection_error e);
    /// The most recent connection failure of any broker of this client.
    std::optional<connection_error> last_error() const;
    /// The most recent connection failure of one broker.
    std::optional<connection_error> last_error(std::int32_t node_id) const;

private:
    std::string client_id_;
    logger log_;
    std::shared_ptr<metrics_registry> metrics_;
    mutable std::mutex mutex_;  // the errors: read by whoever reports a timeout
    std::optional<connection_error> last_;
    std::vector<connection_error> per_broker_;  // one per node id (few: a cluster's brokers)
};

}  // namespace kwire::client::detail

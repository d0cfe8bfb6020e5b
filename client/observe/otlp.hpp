// OTLP metrics (OpenTelemetry's protobuf encoding, opentelemetry/proto/collector/metrics/v1:
// ExportMetricsServiceRequest), written by hand from a registry snapshot for KIP-714's
// PushTelemetry: one ResourceMetrics (resource attribute client_id) with one ScopeMetrics
// holding a Metric per instrument the subscription asks for.
//
// Names follow KIP-714's mapping of the Java client's metrics: "org.apache.kafka." + the client
// kind ("producer", "consumer", "admin") + "." + the Java name with '-' as '.', and per-broker
// request instruments under "node." as the Java client's *-node-metrics groups
// (org.apache.kafka.producer.node.request.latency.avg). Labels become data point attributes
// (node_id, topic, partition).
//
// Counters are monotonic Sums, gauges Gauges, and each µs histogram `x` is an OTLP Histogram
// `x` in milliseconds (bounds at powers of 4 µs) plus the Java client's gauges `x.avg` and
// `x.max` (ms). With delta temporality a Sum or Histogram carries what changed since the
// previous encode() (start time: then); cumulative ones count from the encoder's creation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/client/metrics.hpp"

namespace kwire::client::detail {

struct telemetry_subscription;

/// KIP-714's name of a kwire instrument of a client of this kind.
std::string otlp_metric_name(std::string_view kind, const metrics_registry::sample& s);

class otlp_encoder {
public:
    /// `kind`: "producer", "consumer" or "admin"; `now_unix_nanos`: the cumulative start time.
    otlp_encoder(std::string kind, std::string client_id, std::uint64_t now_unix_nanos);

    /// The ExportMetricsServiceRequest of the instruments of `samples` that belong to this
    /// client (its client_id label) and that `sub` asks for, at most `sub.max_bytes` long
    /// (metrics that would not fit are left out and counted in dropped()). Moves the delta
    /// baseline to `now_unix_nanos` and these values.
    std::vector<std::uint8_t> encode(const std::vector<metrics_registry::sample>& samples,
                                     const telemetry_subscription& sub, std::uint64_t now_unix_nanos);
    /// How many metrics the last encode() left out to stay within the size limit.
    std::size_t dropped() const noexcept { return dropped_; }

private:
    struct baseline {
        std::int64_t value = 0;
        metric_histogram::snapshot histogram;
    };

    std::string kind_;
    std::string client_id_;
    std::uint64_t start_nanos_;
    std::uint64_t last_nanos_;
    std::vector<baseline> previous_;  // by the sample's index in the snapshot (creation order)
    std::size_t dropped_ = 0;
};

}  // namespace kwire::client::detail

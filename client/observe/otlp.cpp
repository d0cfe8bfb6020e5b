// OTLP metrics encoding for KIP-714 (observe/otlp.hpp): a minimal protobuf writer and the
// mapping of registry samples onto ExportMetricsServiceRequest.
#include "observe/otlp.hpp"

#include <cstring>

#include "observe/telemetry_push_machine.hpp"

namespace kwire::client::detail {

namespace {

// Protobuf wire types.
constexpr unsigned varint_type = 0, fixed64_type = 1, length_type = 2;

/// A protobuf message being written. Nested messages are written into their own pb and appended
/// whole (their length must precede them); pushes are rare, so the copies do not matter.
struct pb {
    std::string out;

    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out += static_cast<char>((v & 0x7f) | 0x80);
            v >>= 7;
        }
        out += static_cast<char>(v);
    }
    void key(unsigned field, unsigned type) { varint((std::uint64_t{field} << 3) | type); }
    void bytes(unsigned field, std::string_view s) {
        key(field, length_type);
        varint(s.size());
        out += s;
    }
    void message(unsigned field, const pb& m) { bytes(field, m.out); }
    void raw64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
    }
    void fixed64(unsigned field, std::uint64_t v) {
        key(field, fixed64_type);
        raw64(v);
    }
    void float64(unsigned field, double d) {
        std::uint64_t v;
        std::memcpy(&v, &d, sizeof v);
        fixed64(field, v);
    }
    void uint(unsigned field, std::uint64_t v) {
        key(field, varint_type);
        varint(v);
    }
};

// Field numbers of opentelemetry/proto/{common,resource,metrics}/v1.
namespace f {
constexpr unsigned export_resource_metrics = 1;
constexpr unsigned resource_metrics_resource = 1, resource_metrics_scope_metrics = 2;
constexpr unsigned resource_attributes = 1;
constexpr unsigned scope_metrics_scope = 1, scope_metrics_metrics = 2;
constexpr unsigned scope_name = 1;
constexpr unsigned key_value_key = 1, key_value_value = 2;
constexpr unsigned any_value_string = 1;
constexpr unsigned metric_name = 1, metric_description = 2, metric_unit = 3, metric_gauge = 5, metric_sum = 7,
                   metric_histogram = 9;
constexpr unsigned data_points = 1;  // Gauge, Sum, Histogram
constexpr unsigned sum_temporality = 2, sum_monotonic = 3, histogram_temporality = 2;
constexpr unsigned number_start = 2, number_time = 3, number_double = 4, number_int = 6, number_attributes = 7;
constexpr unsigned hist_start = 2, hist_time = 3, hist_count = 4, hist_sum = 5, hist_buckets = 6, hist_bounds = 7,
                   hist_attributes = 9, hist_max = 12;
}  // namespace f

constexpr std::uint64_t temporality_delta = 1, temporality_cumulative = 2;

void attribute(pb& m, unsigned field, std::string_view k, std::string_view v) {
    pb value;
    value.bytes(f::any_value_string, v);
    pb kv;
    kv.bytes(f::key_value_key, k);
    kv.message(f::key_value_value, value);
    m.message(field, kv);
}

void label_attributes(pb& point, unsigned field, const metric_labels& l) {
    if (l.broker) attribute(point, field, "node_id", std::to_string(*l.broker));
    if (!l.topic.empty()) attribute(point, field, "topic", l.topic);
    if (l.partition) attribute(point, field, "partition", std::to_string(*l.partition));
}

bool per_node(const metrics_registry::sample& s) {
    const std::string_view n = s.name;
    return s.labels.broker && (n.starts_with("request") || n.starts_with("response") || n.ends_with("byte-total"));
}

struct times {
    std::uint64_t start;
    std::uint64_t now;
};

/// A Metric with one number data point (Sum or Gauge).
pb number_metric(std::string_view name, std::string_view help, std::string_view unit,
                 const metrics_registry::sample& s, times t, bool sum, std::uint64_t temporality,
                 std::int64_t int_value, const double* double_value = nullptr) {
    pb point;
    point.fixed64(f::number_start, t.start);
    point.fixed64(f::number_time, t.now);
    if (double_value) point.float64(f::number_double, *double_value);
    else point.fixed64(f::number_int, static_cast<std::uint64_t>(int_value));  // sfixed64
    label_attributes(point, f::number_attributes, s.labels);
    pb body;
    body.message(f::data_points, point);
    pb m;
    m.bytes(f::metric_name, name);
    m.bytes(f::metric_description, help);
    if (!unit.empty()) m.bytes(f::metric_unit, unit);
    if (sum) {
        body.uint(f::sum_temporality, temporality);
        body.uint(f::sum_monotonic, 1);
        m.message(f::metric_sum, body);
    } else {
        m.message(f::metric_gauge, body);
    }
    return m;
}

/// Bucket bounds of the pushed histograms: powers of 4 µs, 4 µs .. 4^12 µs (about 16.8 s).
constexpr int bound_count = 12;
std::uint64_t bound_us(int i) { return std::uint64_t{4} << (2 * i); }

pb histogram_metric(std::string_view name, std::string_view help, const metrics_registry::sample& s,
                    const metric_histogram::snapshot& h, times t, std::uint64_t temporality) {
    pb point;
    point.fixed64(f::hist_start, t.start);
    point.fixed64(f::hist_time, t.now);
    point.fixed64(f::hist_count, h.count);
    point.float64(f::hist_sum, static_cast<double>(h.sum) / 1000.0);
    pb buckets, bounds;
    std::uint64_t below = 0;
    for (int i = 0; i < bound_count; ++i) {
        const auto at_most = h.count_at_most(bound_us(i));
        buckets.raw64(at_most - below);
        below = at_most;
        std::uint64_t v;
        const double ms = static_cast<double>(bound_us(i)) / 1000.0;
        std::memcpy(&v, &ms, sizeof v);
        bounds.raw64(v);
    }
    buckets.raw64(h.count - below);
    point.bytes(f::hist_buckets, buckets.out);  // packed repeated fixed64
    point.bytes(f::hist_bounds, bounds.out);    // packed repeated double
    label_attributes(point, f::hist_attributes, s.labels);
    point.float64(f::hist_max, static_cast<double>(h.max) / 1000.0);
    pb body;
    body.message(f::data_points, point);
    body.uint(f::histogram_temporality, temporality);
    pb m;
    m.bytes(f::metric_name, name);
    m.bytes(f::metric_description, help);
    m.bytes(f::metric_unit, "ms");
    m.message(f::metric_histogram, body);
    return m;
}

metric_histogram::snapshot minus(const metric_histogram::snapshot& now, const metric_histogram::snapshot& before) {
    if (before.buckets.size() != now.buckets.size()) return now;
    metric_histogram::snapshot d = now;
    for (std::size_t i = 0; i < d.buckets.size(); ++i) d.buckets[i] -= before.buckets[i];
    d.count -= before.count;
    d.sum -= before.sum;
    return d;  // max stays the all-time max: the histogram keeps no per-interval maximum
}

}  // namespace

std::string otlp_metric_name(std::string_view kind, const metrics_registry::sample& s) {
    std::string out = "org.apache.kafka.";
    out += kind;
    out += per_node(s) ? ".node." : ".";
    for (const char c : s.name) out += c == '-' ? '.' : c;
    return out;
}

otlp_encoder::otlp_encoder(std::string kind, std::string client_id, std::uint64_t now_unix_nanos)
    : kind_(std::move(kind)), client_id_(std::move(client_id)), start_nanos_(now_unix_nanos),
      last_nanos_(now_unix_nanos) {}

std::vector<std::uint8_t> otlp_encoder::encode(const std::vector<metrics_registry::sample>& samples,
                                               const telemetry_subscription& sub, std::uint64_t now_unix_nanos) {
    const times t{sub.delta ? last_nanos_ : start_nanos_, now_unix_nanos};
    const auto temporality = sub.delta ? temporality_delta : temporality_cumulative;
    previous_.resize(std::max(previous_.size(), samples.size()));

    pb resource;
    attribute(resource, f::resource_attributes, "client_id", client_id_);
    pb scope;
    scope.bytes(f::scope_name, "kwire");
    // What wraps the metrics: the three enclosing messages' keys and lengths, at most 6 bytes
    // each, beside the resource and scope.
    const std::size_t overhead = resource.out.size() + scope.out.size() + 3 * 6 + 2 * 6;
    const std::size_t limit = sub.max_bytes > 0 ? static_cast<std::size_t>(sub.max_bytes) : SIZE_MAX;

    pb metrics;
    metrics.message(f::scope_metrics_scope, scope);
    dropped_ = 0;
    const auto add = [&](const pb& m) {
        if (overhead + metrics.out.size() + m.out.size() + 6 > limit) {
            ++dropped_;
            return;
        }
        metrics.message(f::scope_metrics_metrics, m);
    };
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const auto& s = samples[i];
        auto& before = previous_[i];
        if (s.labels.client_id != client_id_) continue;
        const auto name = otlp_metric_name(kind_, s);
        switch (s.type) {
            case metric_type::counter:
                if (sub.wants(name)) add(number_metric(name, s.help, {}, s, t, true, temporality,
                                                       sub.delta ? s.value - before.value : s.value));
                before.value = s.value;
                break;
            case metric_type::gauge:
                if (sub.wants(name)) add(number_metric(name, s.help, {}, s, t, false, 0, s.value));
                break;
            case metric_type::histogram: {
                const auto h = sub.delta ? minus(s.histogram, before.histogram) : s.histogram;
                if (sub.wants(name)) add(histogram_metric(name, s.help, s, h, t, temporality));
                const double avg = h.mean() / 1000.0, max = static_cast<double>(h.max) / 1000.0;
                if (const auto n = name + ".avg"; sub.wants(n)) add(number_metric(n, s.help, "ms", s, t, false, 0, 0, &avg));
                if (const auto n = name + ".max"; sub.wants(n)) add(number_metric(n, s.help, "ms", s, t, false, 0, 0, &max));
                before.histogram = s.histogram;
                break;
            }
        }
    }
    last_nanos_ = now_unix_nanos;

    pb resource_metrics;
    resource_metrics.message(f::resource_metrics_resource, resource);
    resource_metrics.message(f::resource_metrics_scope_metrics, metrics);
    pb request;
    request.message(f::export_resource_metrics, resource_metrics);
    return {request.out.begin(), request.out.end()};
}

}  // namespace kwire::client::detail

// Metrics: counters, gauges and log-linear microsecond histograms, lock-free (relaxed atomics), in
// a registry the application owns and hands to one or more clients (connection_config::metrics).
// Instruments are created when a client first needs them (a broker connection, a partition),
// never per record; recording is one relaxed atomic add. With no registry configured the clients
// record nothing: each recording site is a null pointer check.
//
// Names are the Java client's (`request-total`, `outgoing-byte-total`, `request-latency-avg`, ...)
// and labels say whose a value is: the client id, the broker (node id; bootstrap connections
// count down from -1), the topic and the partition. snapshot() reads everything at once (each
// value atomically, the set not as one transaction); to_prometheus() writes the Prometheus text
// exposition format (metrics_server.hpp serves it over HTTP).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kwire::client {

class metric_counter {
public:
    void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

class metric_gauge {
public:
    void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(std::int64_t d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

/// What a histogram's values are. The log-linear buckets suit any of them; the unit decides how
/// the Prometheus text shows them (microseconds as `_seconds`, bytes as `_bytes`, permille as a
/// `_ratio`, counts as they are).
enum class metric_unit { microseconds, bytes, count, permille };

/// Values (microseconds unless the registry was told otherwise) in log-linear buckets (as HdrHistogram): values below 8 exactly, then 8 linear
/// sub-buckets per power of two, so any value is placed within 12.5% of itself, up to 2^40 µs
/// (12.7 days; larger values land in the last bucket).
class metric_histogram {
public:
    static constexpr unsigned sub_bits = 3;
    static constexpr unsigned max_exponent = 40;
    static constexpr std::size_t bucket_count = (max_exponent - sub_bits + 1) * (1u << sub_bits) + (1u << sub_bits);

    /// The bucket a value falls into.
    static constexpr std::size_t bucket_of(std::uint64_t us) noexcept {
        constexpr std::uint64_t linear = 1u << sub_bits;
        if (us < linear) return static_cast<std::size_t>(us);
        unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(us));  // us >= 8: e >= 3
        if (e > max_exponent) return bucket_count - 1;
        const auto sub = (us >> (e - sub_bits)) & (linear - 1);
        return static_cast<std::size_t>((e - sub_bits + 1) * linear + sub);
    }
    /// The largest value bucket `i` holds (inclusive).
    static constexpr std::uint64_t bucket_upper(std::size_t i) noexcept {
        constexpr std::uint64_t linear = 1u << sub_bits;
        if (i < linear) return i;
        const auto e = static_cast<unsigned>(i / linear) + sub_bits - 1;
        const auto sub = i % linear;
        return ((linear + sub + 1) << (e - sub_bits)) - 1;
    }

    void record(std::uint64_t us) noexcept { record(us, 1); }
    /// `n` values of `us` at once (the records of one batch).
    void record(std::uint64_t us, std::uint64_t n) noexcept {
        buckets_[bucket_of(us)].fetch_add(n, std::memory_order_relaxed);
        sum_.fetch_add(us * n, std::memory_order_relaxed);
        auto seen = max_.load(std::memory_order_relaxed);
        while (us > seen && !max_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
        }
    }

    struct snapshot {
        std::uint64_t count = 0;   ///< the sum of `buckets`
        std::uint64_t sum = 0;     ///< µs
        std::uint64_t max = 0;     ///< µs
        std::vector<std::uint64_t> buckets;  ///< per bucket (bucket_upper(i) is its upper bound)
        double mean() const noexcept { return count ? static_cast<double>(sum) / static_cast<double>(count) : 0.0; }
        /// The upper bound of the bucket holding quantile q (0..1): within 12.5% of the true value.
        std::uint64_t quantile(double q) const noexcept;
        /// How many values were at most `us` (counted by whole buckets: those ending at or below).
        std::uint64_t count_at_most(std::uint64_t us) const noexcept;
    };
    snapshot read() const;

private:
    std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
    std::atomic<std::uint64_t> sum_{0};
    std::atomic<std::uint64_t> max_{0};
};

/// Whose a value is. Empty/unset fields are not labels of the value.
struct metric_labels {
    std::string client_id{};
    std::optional<std::int32_t> broker{};     ///< node id (bootstrap connections: -1, -2, ...)
    std::string topic{};
    std::optional<std::int32_t> partition{};
    std::string error{};                      ///< a Kafka error name ("NOT_LEADER_OR_FOLLOWER"), for errors by kind
    bool operator==(const metric_labels&) const = default;
};

enum class metric_type { counter, gauge, histogram };

class metrics_registry {
public:
    metrics_registry() = default;
    metrics_registry(const metrics_registry&) = delete;
    metrics_registry& operator=(const metrics_registry&) = delete;

    /// The instrument with this name and these labels, created on first use (the same one after:
    /// a reconnecting broker connection keeps counting where it was). `name` and `help` must
    /// outlive the registry (string literals). Thread-safe; takes a lock, so not for hot paths:
    /// keep the reference.
    metric_counter& counter(std::string_view name, std::string_view help, const metric_labels& labels);
    metric_gauge& gauge(std::string_view name, std::string_view help, const metric_labels& labels);
    /// Values in microseconds, or in `unit`.
    metric_histogram& histogram(std::string_view name, std::string_view help, const metric_labels& labels,
                                metric_unit unit = metric_unit::microseconds);

    struct sample {
        std::string_view name;   ///< the Java-style name: "request-total", "request-latency"
        std::string_view help;
        metric_type type;
        metric_labels labels;
        std::int64_t value = 0;  ///< counters and gauges
        metric_histogram::snapshot histogram;  ///< histograms
        metric_unit unit = metric_unit::microseconds;  ///< histograms: what the values are
    };
    /// Every instrument's current value, in creation order.
    std::vector<sample> snapshot() const;

    /// The value of a counter or gauge with this name summed over every label set matching
    /// `where` in the fields `where` sets (an empty `where`: all), or nullopt if there is none.
    std::optional<std::int64_t> total(std::string_view name, const metric_labels& where = {}) const;

private:
    struct entry {
        std::string_view name;
        std::string_view help;
        metric_type type;
        metric_labels labels;
        metric_unit unit = metric_unit::microseconds;
        std::unique_ptr<metric_counter> c;
        std::unique_ptr<metric_gauge> g;
        std::unique_ptr<metric_histogram> h;
    };
    entry& find_or_add(std::string_view name, std::string_view help, metric_type type, const metric_labels& labels);

    mutable std::mutex mutex_;
    std::deque<entry> entries_;
};

/// The Prometheus text exposition format (version 0.0.4) of every registry's metrics, each name
/// prefixed "kwire_" with '-' as '_': counters as counters (`kwire_request_total`), gauges as
/// gauges, and each histogram `x` as `kwire_x_seconds` (a histogram in seconds, buckets at powers
/// of four µs) plus the Java client's gauges `kwire_x_avg` and `kwire_x_max` (milliseconds); a
/// histogram in bytes as `kwire_x_bytes` (avg and max in bytes), in permille as `kwire_x_ratio`
/// (avg and max as ratios), of counts as `kwire_x` (buckets at powers of four).
std::string to_prometheus(std::span<const metrics_registry* const> registries);
inline std::string to_prometheus(const metrics_registry& r) {
    const metrics_registry* one[] = {&r};
    return to_prometheus(one);
}

}  // namespace kwire::client

// The metrics registry and histogram snapshots (kwire/client/metrics.hpp).
#include "kwire/client/metrics.hpp"

#include <cmath>

namespace kwire::client {

metric_histogram::snapshot metric_histogram::read() const {
    snapshot s;
    s.buckets.resize(bucket_count);
    for (std::size_t i = 0; i < bucket_count; ++i) {
        s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
        s.count += s.buckets[i];
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    s.max = max_.load(std::memory_order_relaxed);
    return s;
}

std::uint64_t metric_histogram::snapshot::quantile(double q) const noexcept {
    if (count == 0) return 0;
    q = q < 0 ? 0 : q > 1 ? 1 : q;
    // The rank of the q-th value, 1-based: the smallest rank r with r >= q * count.
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count)));
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        seen += buckets[i];
        if (seen >= rank) return std::min(bucket_upper(i), max);
    }
    return max;
}

std::uint64_t metric_histogram::snapshot::count_at_most(std::uint64_t us) const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < buckets.size() && bucket_upper(i) <= us; ++i) n += buckets[i];
    return n;
}

metrics_registry::entry& metrics_registry::find_or_add(std::string_view name, std::string_view help,
                                                       metric_type type, const metric_labels& labels) {
    for (auto& e : entries_)
        if (e.type == type && e.name == name && e.labels == labels) return e;
    auto& e = entries_.emplace_back();
    e.name = name;
    e.help = help;
    e.type = type;
    e.labels = labels;
    switch (type) {
        case metric_type::counter: e.c = std::make_unique<metric_counter>(); break;
        case metric_type::gauge: e.g = std::make_unique<metric_gauge>(); break;
        case metric_type::histogram: e.h = std::make_unique<metric_histogram>(); break;
    }
    return e;
}

metric_counter& metrics_registry::counter(std::string_view name, std::string_view help, const metric_labels& labels) {
    std::lock_guard lock(mutex_);
    return *find_or_add(name, help, metric_type::counter, labels).c;
}

metric_gauge& metrics_registry::gauge(std::string_view name, std::string_view help, const metric_labels& labels) {
    std::lock_guard lock(mutex_);
    return *find_or_add(name, help, metric_type::gauge, labels).g;
}

metric_histogram& metrics_registry::histogram(std::string_view name, std::string_view help,
                                              const metric_labels& labels, metric_unit unit) {
    std::lock_guard lock(mutex_);
    auto& e = find_or_add(name, help, metric_type::histogram, labels);
    e.unit = unit;
    return *e.h;
}

std::vector<metrics_registry::sample> metrics_registry::snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<sample> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) {
        sample s{e.name, e.help, e.type, e.labels, 0, {}, e.unit};
        switch (e.type) {
            case metric_type::counter: s.value = static_cast<std::int64_t>(e.c->value()); break;
            case metric_type::gauge: s.value = e.g->value(); break;
            case metric_type::histogram: s.histogram = e.h->read(); break;
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::optional<std::int64_t> metrics_registry::total(std::string_view name, const metric_labels& where) const {
    std::lock_guard lock(mutex_);
    std::optional<std::int64_t> sum;
    for (const auto& e : entries_) {
        if (e.name != name || e.type == metric_type::histogram) continue;
        if (!where.client_id.empty() && where.client_id != e.labels.client_id) continue;
        if (where.broker && where.broker != e.labels.broker) continue;
        if (!where.topic.empty() && where.topic != e.labels.topic) continue;
        if (where.partition && where.partition != e.labels.partition) continue;
        if (!where.error.empty() && where.error != e.labels.error) continue;
        sum = sum.value_or(0) + (e.c ? static_cast<std::int64_t>(e.c->value()) : e.g->value());
    }
    return sum;
}

}  // namespace kwire::client

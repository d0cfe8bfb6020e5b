// The statistics JSON (kwire/client/statistics.hpp says which fields, and whose): the emitter a
// client's cluster owns when statistics.interval.ms is set, its timer on the client's executor,
// and the document the client's roles write their own fields into.
//
// The emitter writes what the cluster knows -- the top level, `brokers` (the connections, their
// counters and rtt from the metrics registry), `topics`/`partitions` from the metadata cache --
// then asks each contributor the client registered to add its own: the consumer its partitions'
// offsets and lag, rxmsgs and `cgrp`; the producer (cluster::start_statistics("producer",
// contributor)) its msg_* and txmsgs top-level fields, its partitions' txmsgs/txbytes/msgs and
// `eos`. A contributor reads its values from the registry snapshot the document carries
// (statistics_document::total) or from its own state; it runs on the client's executor, so it
// may read that state freely, and it holds its client weakly (the cluster outlives nothing).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/client/metrics.hpp"

namespace kwire::client::detail {

class cluster;

/// One statistics object being written.
class statistics_document {
public:
    statistics_document(boost::json::object& root, const std::vector<metrics_registry::sample>& samples,
                        std::string_view client_id)
        : root_(root), samples_(samples), client_id_(client_id) {}

    /// The top-level object.
    boost::json::object& top() noexcept { return root_; }
    /// topics.<topic>: made (with "topic" and empty "partitions") if the cache had no such topic.
    boost::json::object& topic(std::string_view name);
    /// topics.<topic>.partitions.<id>: made (with "partition" and "leader": -1) if missing.
    boost::json::object& partition(std::string_view topic, std::int32_t partition);
    /// A top-level object ("cgrp", "eos"), made empty if missing.
    boost::json::object& section(std::string_view name);

    /// This client's counter or gauge `name` summed over the label sets matching those given
    /// (unset: any), or nullopt when it has none.
    std::optional<std::int64_t> total(std::string_view name, std::optional<std::int32_t> broker = {},
                                      std::string_view topic = {}, std::optional<std::int32_t> partition = {}) const;
    /// Every instrument's value at the time of this document (all clients of the registry).
    const std::vector<metrics_registry::sample>& samples() const noexcept { return samples_; }
    const std::string& client_id() const noexcept { return client_id_; }

private:
    boost::json::object& root_;
    const std::vector<metrics_registry::sample>& samples_;
    std::string client_id_;
};

/// Adds a client role's fields to a document.
using statistics_contributor = std::function<void(statistics_document&)>;

/// The C client's window stats object ("rtt") of the values a histogram took between two
/// snapshots: `now` minus `before` (before's buckets may be empty: since the start).
boost::json::object window_stats(const metric_histogram::snapshot& now, const std::vector<std::uint64_t>& before_buckets,
                                 std::uint64_t before_sum);

class statistics_emitter {
public:
    /// `owner`: the cluster (it owns the emitter and outlives every timer callback that uses it).
    statistics_emitter(boost::asio::any_io_executor ex, cluster& owner);

    /// Starts the timer for a client of `type` ("producer", "consumer"). Once; no timer without
    /// connection_config::on_statistics. The owner must be owned by a shared_ptr by now.
    void start(std::string_view type);
    void add(statistics_contributor c) { contributors_.push_back(std::move(c)); }
    /// Stops the timer and drops the contributors (the cluster closes).
    void stop();
    /// One statistics object now (what the timer hands the handler; tests call it directly).
    std::string render();

private:
    void wait();
    void emit();

    cluster& owner_;
    boost::asio::steady_timer timer_;
    std::string type_;
    std::string name_;
    std::chrono::steady_clock::time_point created_;
    std::vector<statistics_contributor> contributors_;
    struct rtt_before {
        std::vector<std::uint64_t> buckets;
        std::uint64_t sum = 0;
    };
    std::map<std::int32_t, rtt_before> rtt_before_;  // per connection node id: the last emit's histogram
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace kwire::client::detail

// What a consumer shows of itself: its instruments in the metrics registry (made when a partition
// is first assigned or the consumer starts, never per record; all null when metrics are off), and
// its fields of the statistics JSON (observe/statistics.hpp: partitions' offsets and lag, rxmsgs,
// `cgrp`).
//
// Per {client, topic, partition}: records-consumed-total, bytes-consumed-total (key and value
// bytes of the records handed to the application, counted once per poll), records-lag (high
// watermark minus the position: the offset after the last record handed out; set per Fetch
// answer and per poll). Per {client, broker}: fetch-total, fetch-latency (µs, Fetch written to
// answered: includes the broker's fetch.max.wait.ms). Per client: records-lag-max (the largest
// records-lag, per Fetch answer), commit-total (OffsetCommit requests answered, failed or not),
// commit-failed-total, commit-latency (µs), rebalance-total (rebalances that ended with partitions
// taken), rebalance-latency (µs, from the join or reconciliation to the partitions taken),
// assigned-partitions.
//
// The log lines of the `group` context about rebalances (info: assigned, revoked, lost) are
// written here too.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/client/consumer.hpp"

#include "kwire/client/metrics.hpp"

namespace kwire::client::detail {

struct consumer_core;
class statistics_document;

struct partition_meters {
    partition_meters(metrics_registry& r, const std::string& client_id, const std::string& topic, std::int32_t partition);

    metric_counter& records;  ///< records-consumed-total
    metric_counter& bytes;    ///< bytes-consumed-total
    metric_gauge& lag;        ///< records-lag
};

/// One broker's fetch instruments.
struct fetch_meters {
    fetch_meters(metrics_registry& r, const std::string& client_id, std::int32_t broker);

    metric_counter& fetches;    ///< fetch-total
    metric_histogram& latency;  ///< fetch-latency
};

/// The consumer's own instruments (labels: the client id).
struct consumer_meters {
    consumer_meters(metrics_registry& r, const std::string& client_id);

    metrics_registry& registry;
    metric_gauge& lag_max;               ///< records-lag-max
    metric_counter& commits;             ///< commit-total
    metric_counter& commits_failed;      ///< commit-failed-total
    metric_histogram& commit_latency;    ///< commit-latency
    metric_counter& rebalances;          ///< rebalance-total
    metric_histogram& rebalance_latency; ///< rebalance-latency
    metric_gauge& assigned;              ///< assigned-partitions
};

/// Sets every ready partition's records-lag and the client's records-lag-max (no-op without
/// metrics). Per Fetch answer: a pass over the slots.
void update_lag(consumer_core& core);

/// A membership starts a rebalance (a join, a reconciliation); ended by rebalance_ended.
void rebalance_began(consumer_core& core);
/// Partitions were taken (the end of a rebalance): counts it, records its duration, logs what
/// was assigned under which generation.
void rebalance_ended(consumer_core& core, const std::vector<topic_partition>& added, std::int32_t generation);
/// Logs partitions given up (revoked, or lost without a commit).
void log_revoked(consumer_core& core, const std::vector<topic_partition>& tps, bool lost);

/// The group's side of the statistics (`cgrp`), as the consumer knows it.
struct group_view {
    bool subscribed = false;
    bool coordinator_known = false;
    std::string_view join_state;  ///< "init", "wait-join", "steady"
    std::uint64_t rebalances = 0;
    std::chrono::steady_clock::time_point last_rebalance{};
};

/// Writes the consumer's fields into `doc`.
void write_consumer_statistics(statistics_document& doc, const consumer_core& core, const group_view& group);

}  // namespace kwire::client::detail

// What a consumer shows of itself: its instruments in the metrics registry (made when a partition
// is first assigned or the consumer starts, never per record; all null when metrics are off), and
// its fields of the statistics JSON (observe/statistics.hpp: partitions' offsets and lag, rxmsgs,
// `cgrp`).
//
// Per {client, topic, partition}: records-consumed-total, bytes-consumed-total (key and value
// bytes of the records handed to the application, counted once per poll), records-lag (high
// watermark minus the position, set when a Fetch answer brings the high watermark).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

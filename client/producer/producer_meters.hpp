// The producer's instruments (kwire/client/metrics.hpp), made only when a registry is configured:
// the producer's own (labels: client id) once, a partition's (client id, topic, partition) when
// the partition is first known. Recording is then a null check and a relaxed add on a reference
// held here -- never a registry lookup per record. The one lookup on a record's path is for a
// failure (record-error-total by error name), which is rare and already slow.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "kwire/client/metrics.hpp"

namespace kwire::client::detail {

/// One partition's instruments.
struct partition_send_meters {
    partition_send_meters(metrics_registry& r, const std::string& client_id, const std::string& topic, std::int32_t partition);

    metric_counter& sent;        ///< record-send-total: records acknowledged
    metric_counter& bytes;       ///< byte-total: bytes of acknowledged batches (as sent)
    metric_counter& retries;     ///< record-retry-total: records sent again
    metric_histogram& duration;  ///< messaging.client.operation.duration (µs): send to acknowledgement
    metrics_registry& registry;
    metric_labels labels;

    /// record-error-total{error=NAME} += records.
    void failed(std::error_code ec, std::uint64_t records);
};

/// The producer's own instruments.
struct producer_meters {
    producer_meters(metrics_registry& r, std::string client_id);

    metrics_registry& registry;
    std::string client_id;
    metric_gauge& queued;                ///< records-queued: accepted, not yet completed
    metric_gauge& buffered;              ///< buffered-bytes: buffer.memory in use
    metric_histogram& queue_time;        ///< record-queue-time (µs): a batch's first record to its first send
    metric_histogram& batch_size;        ///< batch-size (bytes, as sent)
    metric_histogram& records_per_batch; ///< records-per-batch
    metric_histogram& compression_rate;  ///< compression-rate (permille: compressed / uncompressed)
    metric_histogram& throttle;          ///< produce-throttle-time (µs) per Produce answer
    metric_counter& epoch_bumps;         ///< epoch-bump-total: the epoch moved under the same producer id
    metric_gauge& producer_id;           ///< producer-id (-1: none)
    metric_gauge& producer_epoch;        ///< producer-epoch (-1: none)

    /// record-error-total{error=NAME} of records that failed before they had a partition.
    void failed(std::error_code ec, std::uint64_t records);
};

/// The `error` label of a failure: Kafka's name for a Kafka error, otherwise a short upper-case
/// name of kwire's own ("DELIVERY_TIMEOUT", ...).
std::string error_label(std::error_code ec);

}  // namespace kwire::client::detail

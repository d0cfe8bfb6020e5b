// Which of Kafka's error codes say "the partition's leader may have moved", so that the metadata
// is refreshed before a retry. One list for the producer and the consumer, which add the codes
// only their own requests can return.
#pragma once

#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

/// Produce, Fetch, ListOffsets: the broker asked is not (or no longer) the partition's leader, or
/// does not know the partition or its leader epoch.
constexpr bool leadership_may_have_moved(kafka_errc error) noexcept {
    switch (error) {
        case kafka_errc::unknown_topic_or_partition:
        case kafka_errc::leader_not_available:
        case kafka_errc::not_leader_or_follower:
        case kafka_errc::kafka_storage_error:
        case kafka_errc::fenced_leader_epoch:
        case kafka_errc::unknown_leader_epoch: return true;
        default: return false;
    }
}

/// Fetch and ListOffsets add a replica that is not there, and an offset its leader cannot give yet
/// (a new leader still catching up: OFFSET_NOT_AVAILABLE).
constexpr bool read_leadership_may_have_moved(kafka_errc error) noexcept {
    return leadership_may_have_moved(error) || error == kafka_errc::replica_not_available ||
           error == kafka_errc::offset_not_available;
}

}  // namespace kwire::client::detail

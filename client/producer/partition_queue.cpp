#include "producer/partition_queue.hpp"

#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

namespace {
constexpr std::int16_t out_of_order_sequence = 45;
constexpr std::int16_t duplicate_sequence = 46;
constexpr std::int16_t unknown_producer_id = 59;

bool leadership_may_have_moved(std::int16_t error) noexcept {
    // UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR,
    // FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH
    return error == 3 || error == 5 || error == 6 || error == 56 || error == 74 || error == 75;
}
}  // namespace

batch_outcome classify_produce_result(std::int16_t error, bool transport_failed, bool idempotent,
                                      bool first_outstanding) noexcept {
    // A lost connection or timeout: the outcome is unknown, the leader may be gone. Retrying
    // with the same sequence numbers is safe: the broker drops a batch it already has.
    if (transport_failed) return batch_outcome::retry_after_metadata;
    if (error == 0 || error == duplicate_sequence) return batch_outcome::delivered;
    if (idempotent && error == out_of_order_sequence)
        // Out of order behind an earlier batch of ours that is not written yet: wait for it.
        // With nothing earlier outstanding, the gap is real.
        return first_outstanding ? batch_outcome::bump_epoch_and_retry : batch_outcome::retry;
    if (idempotent && error == unknown_producer_id) return batch_outcome::bump_epoch_and_retry;
    if (is_retriable(error))
        return leadership_may_have_moved(error) ? batch_outcome::retry_after_metadata : batch_outcome::retry;
    return batch_outcome::failed;
}

}  // namespace kwire::client::detail

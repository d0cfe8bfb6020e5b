// classify_produce_result: what a partition's queue does with a Produce answer for one batch
// (see partition_queue.hpp; partition_queue itself is a template, all in the header).
#include "producer/partition_queue.hpp"

#include "core/leadership_errors.hpp"
#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

batch_outcome classify_produce_result(std::int16_t code, bool transport_failed, bool idempotent,
                                      bool first_outstanding) noexcept {
    const auto error = to_kafka_errc(code);
    // A lost connection or timeout: the outcome is unknown, the leader may be gone. Retrying
    // with the same sequence numbers is safe: the broker drops a batch it already has.
    if (transport_failed) return batch_outcome::retry_after_metadata;
    if (error == kafka_errc::none || error == kafka_errc::duplicate_sequence_number) return batch_outcome::delivered;
    if (idempotent && error == kafka_errc::out_of_order_sequence_number)
        // Out of order behind an earlier batch of ours that is not written yet: wait for it.
        // With nothing earlier outstanding, the gap is real.
        return first_outstanding ? batch_outcome::bump_epoch_and_retry : batch_outcome::retry;
    if (idempotent && error == kafka_errc::unknown_producer_id) return batch_outcome::bump_epoch_and_retry;
    if (is_retriable(error))
        return leadership_may_have_moved(error) ? batch_outcome::retry_after_metadata : batch_outcome::retry;
    return batch_outcome::failed;
}

}  // namespace kwire::client::detail

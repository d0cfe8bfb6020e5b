// Kafka's idempotent-producer rules for one partition (see the header for the specification).
#include "support_producer_state.hpp"

#include <algorithm>
#include <limits>

namespace kwire::test {

namespace {
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();
}  // namespace

std::int32_t producer_state_table::last_sequence(std::int32_t first_seq, std::int32_t record_count) {
    const std::int32_t increment = record_count - 1;
    // DefaultRecordBatch.incrementSequence: sequences wrap from INT32_MAX to 0.
    if (first_seq > int32_max - increment) return increment - (int32_max - first_seq) - 1;
    return first_seq + increment;
}

bool producer_state_table::in_sequence(std::int32_t last, std::int32_t next) {
    // In 64 bits, as Kafka compares (nextSeq == lastSeq + 1L): INT32_MAX + 1 is no int32.
    return std::int64_t{next} == std::int64_t{last} + 1 || (next == 0 && last == int32_max);
}

produce_verdict producer_state_table::check(std::int64_t producer_id, std::int16_t epoch, std::int32_t first_seq,
                                            std::int32_t last_seq) const {
    static const producer_entry unknown;  // ProducerStateEntry.empty: no epoch, no batches
    const auto* found = find(producer_id);
    const producer_entry& entry = found ? *found : unknown;

    // 1. ProducerStateEntry.findDuplicateBatch: same epoch, exactly a retained batch's range.
    if (epoch == entry.epoch) {
        const auto dup = std::find_if(entry.batches.begin(), entry.batches.end(), [&](const retained_batch& b) {
            return b.first_seq == first_seq && b.last_seq == last_seq;
        });
        if (dup != entry.batches.end()) return {kafka_error::none, *dup};
    }
    // 2. ProducerAppendInfo.checkProducerEpoch (data batch: TV_UNKNOWN, so strictly lower fails).
    if (epoch < entry.epoch) return {kafka_error::invalid_producer_epoch, {}};
    // 3./4. ProducerAppendInfo.checkSequence (client origin, no KIP-890 verification entry).
    if (epoch != entry.epoch) {
        if (first_seq != 0 && entry.epoch != -1) return {kafka_error::out_of_order_sequence, {}};
    } else {
        // An entry with an epoch but no batch (not reachable through commit alone) has last
        // sequence -1, so it must start at 0, as RecordBatch.NO_SEQUENCE does in Kafka.
        const std::int32_t last = entry.batches.empty() ? -1 : entry.batches.back().last_seq;
        if (!(entry.epoch == -1 || in_sequence(last, first_seq))) return {kafka_error::out_of_order_sequence, {}};
    }
    return {};
}

void producer_state_table::commit(std::int64_t producer_id, std::int16_t epoch, const retained_batch& batch) {
    auto& entry = entries_[producer_id];
    // ProducerStateEntry.addBatch -> maybeUpdateProducerEpoch: a new epoch forgets the old batches.
    if (entry.epoch != epoch) {
        entry.batches.clear();
        entry.epoch = epoch;
    }
    if (entry.batches.size() == batches_retained) entry.batches.pop_front();
    entry.batches.push_back(batch);
}

void producer_state_table::end_marker(std::int64_t producer_id, std::int16_t epoch) {
    auto& entry = entries_[producer_id];
    if (entry.epoch != epoch) {
        entry.batches.clear();
        entry.epoch = epoch;
    }
}

const producer_entry* producer_state_table::find(std::int64_t producer_id) const {
    const auto it = entries_.find(producer_id);
    return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace kwire::test

// Where an assigned partition starts: its committed offset through OffsetFetch (from the group
// coordinator), else auto.offset.reset through ListOffsets (from the leader), which also serves
// seeks to the beginning or end and positions found out of range. Failed lookups are retried
// after retry.backoff.ms, doubling up to retry.backoff.max.ms while they keep failing.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "consumer/consumer_core.hpp"
#include "core/backoff.hpp"

namespace kwire::client::detail {

class coordinator;

class start_offsets {
public:
    /// `changed`: some partitions got their position, or an error for the next poll.
    start_offsets(consumer_core& core, coordinator& coord, std::function<void()> changed)
        : core_(core),
          coordinator_(coord),
          changed_(std::move(changed)),
          backoff_(core.cfg.retry_backoff, core.cfg.retry_backoff_max) {}

    /// Resolves every assigned partition waiting for its start (committed or reset).
    void resolve();
    /// Resets `slots` per their reset_to (beginning or end) through ListOffsets.
    void list_offsets(std::vector<std::uint32_t> slots);

private:
    void fetch_committed(std::vector<std::uint32_t> slots);
    /// resolve() again after the backoff.
    void resolve_later();
    /// An answer came back: `retry` if some partitions must be asked again.
    void answered(bool retry);

    consumer_core& core_;
    coordinator& coordinator_;
    std::function<void()> changed_;
    backoff backoff_;
    int failures_ = 0;  // consecutive answers that left something to retry
};

}  // namespace kwire::client::detail

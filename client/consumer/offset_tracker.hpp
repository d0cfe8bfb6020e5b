// Which offset a consumer may commit for one partition: the one after the highest record that
// has been acknowledged together with every record fetched before it. Acknowledgements may come
// in any order; a gap in the offsets (compaction, control batches, aborted transactions) has no
// record to wait for. No I/O: the consumer feeds it what it fetched and what was acknowledged.
//
// Representation: one bit per offset in [base, end) -- set while a fetched record there is not
// yet acknowledged. `base` is the committable offset: it only moves forward, past offsets whose
// bits are clear. Memory is one bit per offset in flight between fetch and acknowledgement.
#pragma once

#include <cstdint>
#include <deque>

namespace kwire::client::detail {

class offset_tracker {
public:
    /// Starts tracking at `position` (the committed offset, or wherever consumption starts).
    explicit offset_tracker(std::int64_t position = 0) noexcept : base_(position), end_(position) {}

    /// A record at `offset` was handed to the application. Offsets must increase across calls;
    /// the offsets skipped between them hold no record and never need acknowledging.
    void fetched(std::int64_t offset);
    /// Everything before `next` has been fetched (e.g. a batch ended with offsets that carry no
    /// record, like a transaction marker): those offsets need no acknowledgement either.
    void fetched_up_to(std::int64_t next);
    /// The application finished the record at `offset`. Unknown or repeated offsets are ignored.
    void ack(std::int64_t offset) noexcept;

    /// The offset a commit may name now (never past an unacknowledged record).
    std::int64_t committable() const noexcept { return base_; }
    /// The next offset to fetch.
    std::int64_t end() const noexcept { return end_; }
    /// Records fetched and not yet acknowledged.
    std::int64_t pending() const noexcept { return pending_; }

    /// Starts over at `position` (seek, or a new assignment with its committed offset).
    void reset(std::int64_t position) noexcept;

private:
    bool is_pending(std::int64_t offset) const noexcept;
    void advance() noexcept;

    std::int64_t base_;                 // committable: every offset below is done
    std::int64_t end_;                  // one past the last offset fetched
    std::int64_t pending_ = 0;
    std::deque<std::uint64_t> words_;   // bit (offset - base_aligned_) set: fetched, not acked
    std::int64_t base_aligned_ = 0;     // offset of bit 0 of words_.front()
};

}  // namespace kwire::client::detail

// The fetcher: which partitions are fetched from which broker, and when. It owns one fetch
// source per leader broker (source.hpp); a fetch round places every fetchable partition in the
// source of its current leader -- a leader move moves the partition between sources -- and lets
// each source without a Fetch in flight send one for its partitions. Partitions whose leader is
// unknown get a metadata refresh; partitions backing off after an error get a timer.
//
// Prefetching: a partition is fetched again while one chunk of its records still waits for the
// application (at most two chunks buffered), so poll rarely waits on the network.
//
// The fetcher also keeps the decompression buffers of handed-out chunks for reuse (recycle), so a
// steady consumer allocates none per batch.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "consumer/consumer_core.hpp"
#include "consumer/source.hpp"

namespace kwire::client::detail {

class fetcher {
public:
    /// `reset`: partitions whose position is out of range, to be reset per auto.offset.reset.
    fetcher(consumer_core& core, std::function<void(std::vector<std::uint32_t>)> reset);

    /// A round soon (posted): positions changed, buffers emptied, partitions resumed.
    void schedule();
    /// Ends every broker's fetch session (best effort), then `then`.
    void close(std::function<void()> then);
    void cancel();  // the consumer shuts down: timers

    /// Drops the records buffered for `s` (revoked, seeked), keeping their buffers for reuse.
    void drop_buffered(partition_slot& s);
    /// A handed-out chunk is done with: its decompression buffers are reused.
    void recycle(fetched_chunk& c);

    // For the sources.
    std::vector<std::vector<std::uint8_t>>& spare_buffers() noexcept { return spare_; }
    void reset_offsets(std::vector<std::uint32_t> slots) { reset_(std::move(slots)); }
    /// Fetching from `slots` failed as a whole: back off, and learn their leaders again.
    void backoff_and_refresh(const std::vector<std::uint32_t>& slots);

private:
    void round();
    source& source_for(std::int32_t leader);
    /// Places slot `i` in the source of `leader` (taking it out of the one it was in).
    void place(std::uint32_t i, std::int32_t leader);
    void retry_at(clock::time_point at);

    consumer_core& core_;
    std::function<void(std::vector<std::uint32_t>)> reset_;
    std::map<std::int32_t, std::unique_ptr<source>> sources_;  // by leader broker
    std::map<std::int32_t, std::vector<std::uint32_t>> eligible_;  // scratch for round
    std::vector<std::vector<std::uint8_t>> spare_;   // decompression buffers to reuse
    bool scheduled_ = false;
    net::steady_timer retry_timer_;
    bool retry_armed_ = false;
};

}  // namespace kwire::client::detail

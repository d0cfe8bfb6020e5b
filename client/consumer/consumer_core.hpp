// What the consumer's parts share: the partition slots (a partition's fetch position, buffered
// records, offset tracker, commit state), the configuration, the cluster, and the consumer-wide
// state every part reads (closing, closed, the error the next poll reports, the fatal error).
//
// The parts -- consumer_impl (the application side), fetcher and its per-broker sources,
// start_offsets, coordinator, committer and the membership -- each own their own state and see
// only this core and the narrow interfaces of the parts they call. They live inside the
// consumer_impl object; a callback they give to I/O holds the consumer through keep(), so the
// part it calls back into is alive when it runs (and checks `closed` first).
//
// A partition's life: assigned (a slot, with a new incarnation) -> its start offset resolved
// (committed offset, else auto.offset.reset through ListOffsets) -> fetched by the source of its
// leader (chunks of decoded record views, pointing into the Fetch response copied once) -> handed
// out by poll (the offset_tracker learns each record) -> acknowledged -> committed. Revocation
// commits what is marked, then frees the slot (acknowledgements of its old records are ignored).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "consumer/consumer_observe.hpp"
#include "consumer/offset_tracker.hpp"
#include "core/completion.hpp"
#include "kwire/client/consumer.hpp"
#include "net/cluster.hpp"

namespace kwire::client::detail {

/// One partition's records from one Fetch response, decoded into views.
struct fetched_chunk {
    std::shared_ptr<const std::vector<std::uint8_t>> frame;  // the response the views point into
    std::vector<std::vector<std::uint8_t>> inflated;         // decompressed batches, likewise
    std::vector<consumer_record> records;
    std::size_t next = 0;         // the next record to hand out
    std::int64_t end_offset = 0;  // the offset after everything this chunk covers
};

struct partition_slot {
    std::string topic;
    std::int32_t partition = 0;
    std::uint32_t incarnation = 0;   // bumps on (re)assignment and seek: older acks are ignored
    std::uint32_t ownership = 0;     // bumps when assigned or removed: a revocation or commit that
                                     // began in one ownership never touches the next
    bool assigned = false;
    bool paused = false;
    enum class start { ready, committed, reset, resolving } state = start::committed;
    std::int64_t reset_to = offset::end;  // for start::reset: beginning or end
    std::int64_t fetch_offset = -1;       // the next offset to fetch
    offset_tracker tracker;
    std::int64_t committed = -1;          // last offset known committed for the group
    std::int64_t high_watermark = -1;
    std::int32_t leader_epoch = -1;
    std::int32_t source = -1;             // the leader whose fetch source holds it (-1: none)
    std::deque<fetched_chunk> buffered;
    bool fetching = false;
    clock::time_point not_before{};  // backoff after an error
    std::unique_ptr<partition_meters> meters;  // null when metrics are off; made on first assignment

    /// Ready to hand out records from, and to commit for.
    bool ready() const noexcept { return assigned && state == start::ready; }
};

/// The slots, by index (stable for the consumer's life: records and fetch sessions name them so)
/// and by topic-partition.
class slot_table {
public:
    std::uint32_t slot_for(const std::string& topic, std::int32_t partition);
    partition_slot* find(const topic_partition& tp);
    const partition_slot* find(const topic_partition& tp) const;
    /// The index of `tp`'s slot, if it has one.
    std::optional<std::uint32_t> index_of(const topic_partition& tp) const;
    partition_slot& operator[](std::uint32_t i) { return *slots_[i]; }
    const partition_slot& operator[](std::uint32_t i) const { return *slots_[i]; }
    std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(slots_.size()); }
    /// The partitions assigned now.
    std::vector<topic_partition> owned() const;

private:
    std::vector<std::unique_ptr<partition_slot>> slots_;
    std::map<topic_partition, std::uint32_t> slot_index_;
};

struct consumer_core {
    consumer_core(net::any_io_executor executor, consumer_config config);

    net::any_io_executor ex;
    consumer_config cfg;
    std::shared_ptr<cluster> brokers;  // connections and the metadata cache
    slot_table slots;
    bool subscribed = false;       // subscribe() (group management) rather than assign()
    bool closing = false;
    bool closed = false;
    std::error_code deferred_error;  // reported by the next poll
    std::error_code fatal;           // reported by every poll from now on
    std::unique_ptr<consumer_meters> meters;  // null when metrics are off (consumer_observe.hpp)
    bool rebalancing = false;                 // since rebalance_began()
    clock::time_point rebalance_start{};

    /// What a callback given to I/O holds: the consumer, alive until the callback is gone.
    std::shared_ptr<void> keep() const { return anchor.lock(); }
    std::weak_ptr<void> anchor;

    /// A poll waiting may complete now (records, an error): consumer_impl::try_complete_poll.
    std::function<void()> wake_poll;

    /// The member may do nothing more (fenced, a fatal group error): every poll reports `ec`.
    void set_fatal(std::error_code ec) {
        if (!fatal) fatal = ec;
        if (wake_poll) wake_poll();
    }
};

}  // namespace kwire::client::detail

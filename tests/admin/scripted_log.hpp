// The data side of a scripted cluster: partitions holding record batches (built with kwire's
// batch builder, or raw ones written by another client), transactions with their control
// markers, and a Fetch that behaves like a Kafka broker's, fetch sessions (KIP-227) included.
//
// Fetch: a partition is answered from the batch holding its fetch offset, whole batches, up to
// its max bytes (at least one batch); past the high watermark, or below the log start, it is
// OFFSET_OUT_OF_RANGE; at the wrong broker NOT_LEADER_OR_FOLLOWER. Under read_committed nothing
// at or past the last stable offset (the first offset of the oldest open transaction) is
// returned, and AbortedTransactions lists the aborted transactions the returned range overlaps,
// as a broker does. Without records to return the answer waits up to MaxWaitMs for an append.
//
// Sessions, as Kafka's FetchManager keeps them: a full Fetch (epoch 0) closes the session it
// names and opens a new one (session id in the answer) holding the listed partitions; epoch -1
// closes without opening one. An incremental Fetch must name a live session (else
// FETCH_SESSION_ID_NOT_FOUND) at its current epoch (else INVALID_FETCH_SESSION_EPOCH); its listed
// partitions are added or updated, its forgotten ones removed, and the session's epoch moves
// on. The broker fetches every partition of the session at the offset last listed for it, and
// answers only those with records, a changed high watermark / last stable offset / log start,
// or an error. Every Fetch is recorded for the test to inspect.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "scripted_broker.hpp"

namespace kwire::test {

class scripted_log : public std::enable_shared_from_this<scripted_log> {
public:
    /// Serves Fetch and ListOffsets for `cluster`'s topics (its built-in Metadata names the
    /// leaders: partition p on broker p % n + 1, unless set_leader moved it). The cluster's
    /// scripts keep it alive.
    static std::shared_ptr<scripted_log> start(scripted_cluster& cluster, int brokers);
    explicit scripted_log(int brokers) : brokers_(brokers) {}

    /// Appends one batch with these values (keys: none) and returns its base offset.
    std::int64_t append(const std::string& topic, int partition, const std::vector<std::string>& values);
    /// Appends a batch written by someone else (a RecordBatch v2 as fetched from another broker):
    /// its base offset is rewritten to the log's end (not covered by the CRC). A transactional
    /// batch opens its producer's transaction as above. Returns the base offset.
    std::int64_t append_raw(const std::string& topic, int partition, std::vector<std::uint8_t> bytes);
    /// Writes the control marker (COMMIT or ABORT, with the producer epoch given) ending
    /// `producer_id`'s transaction on the partition -- also where it wrote nothing. Returns the
    /// marker's offset.
    std::int64_t end_transaction(const std::string& topic, int partition, std::int64_t producer_id, bool commit,
                                 std::int16_t epoch = 0);

    /// The partition's batches as stored (base offsets rewritten), oldest first.
    std::vector<std::vector<std::uint8_t>> batches(const std::string& topic, int partition) const;

    std::int64_t high_watermark(const std::string& topic, int partition) const;
    std::int64_t last_stable_offset(const std::string& topic, int partition) const;

    // --- sessions ---------------------------------------------------------------------------

    /// Whether full Fetches open sessions (a broker whose session cache is full does not).
    void set_sessions_enabled(bool on);
    /// Forgets every session, as a broker evicting them or restarting: the next incremental
    /// Fetch of each gets FETCH_SESSION_ID_NOT_FOUND.
    void evict_sessions();
    /// The next incremental Fetch is answered with `error` (e.g. INVALID_FETCH_SESSION_EPOCH),
    /// as if its epoch were wrong; the session stays as it was.
    void fail_next_incremental(std::int16_t error);
    std::size_t live_sessions() const;

    /// One Fetch as received and answered.
    struct fetch_seen {
        int node = 0;
        std::int16_t version = 0;
        std::int32_t session_id = 0;
        std::int32_t epoch = 0;
        std::int8_t isolation = 0;
        std::vector<std::pair<std::string, std::int32_t>> listed;      ///< topic, partition
        std::vector<std::int64_t> listed_offsets;                     ///< fetch offset of each listed
        std::vector<std::pair<std::string, std::int32_t>> forgotten;
        std::int16_t error = 0;                                        ///< top-level
        std::int32_t answered_session_id = 0;
        std::vector<std::pair<std::string, std::int32_t>> answered;    ///< partitions in the answer
        int relisted_unchanged = 0;  ///< listed in an incremental Fetch with nothing changed
    };
    std::vector<fetch_seen> fetches() const;

private:
    struct batch {
        std::int64_t base = 0;
        std::int64_t last = 0;
        std::vector<std::uint8_t> bytes;
    };
    struct aborted_txn {
        std::int64_t producer_id;
        std::int64_t first;
        std::int64_t marker;
    };
    struct partition_log {
        std::vector<batch> batches;
        std::int64_t end = 0;
        std::map<std::int64_t, std::int64_t> open;  // producer id -> first offset of its open transaction
        std::vector<aborted_txn> aborted;
        std::int64_t lso() const { return open.empty() ? end : std::min(end, first_open()); }
        std::int64_t first_open() const;
    };
    using tp = std::pair<std::string, std::int32_t>;
    struct cached_partition {
        std::int64_t fetch_offset = 0;
        std::int32_t max_bytes = 0;
        std::int32_t leader_epoch = -1;
        std::int64_t hwm = -1, lso = -1, log_start = -1;  // as last answered
    };
    struct session {
        std::int32_t epoch = 1;
        std::vector<std::pair<tp, cached_partition>> partitions;  // in the order first listed
    };

    std::optional<std::vector<std::uint8_t>> fetch(const scripted_request& req);
    std::optional<std::vector<std::uint8_t>> list_offsets(const scripted_request& req);
    std::int64_t append_locked(const std::string& topic, int partition, std::vector<std::uint8_t> bytes);
    int leader_of(const std::string& topic, int partition) const {
        return cluster_ ? cluster_->leader_of(topic, partition) : partition % brokers_ + 1;
    }

    int brokers_;
    const scripted_cluster* cluster_ = nullptr;  // set by start(): only its threads call fetch()
    mutable std::mutex mutex_;
    std::condition_variable appended_;
    std::map<tp, partition_log> logs_;
    std::map<std::int32_t, session> sessions_;
    std::int32_t next_session_id_ = 1000;
    bool sessions_enabled_ = true;
    std::optional<std::int16_t> fail_next_;
    std::vector<fetch_seen> seen_;
};

}  // namespace kwire::test

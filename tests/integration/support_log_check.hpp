// Checking a producer's work against what the broker stored: a ledger of every send (value,
// partition, how and how often it completed) and a reader that fetches every batch of a
// partition back from its leader with kwire's codecs, then compares the two.
//
// Against librdkafka's mock the comparison has to know one thing the mock does not do: it never
// checks an idempotent producer's sequence numbers (only a transactional one's), so a batch the
// producer re-sends after its first attempt was written but not acknowledged (a timed-out
// request, a cut connection) is stored twice, where a real broker would have answered
// DUPLICATE_SEQUENCE_NUMBER / returned the first copy. The checker therefore replays the stored
// batches through the broker's idempotence rules (KIP-98: per producer id and epoch, a batch
// must continue the sequence; one of the last five batches again is a duplicate and not stored;
// a new epoch starts at sequence 0) to get the log a real broker would hold, and checks that:
//  - every send completed exactly once;
//  - every acknowledged record is, in that log, exactly once, and the stored copy at the offset
//    its delivery reported is that record;
//  - every failed send carries an error the test allows, and (unless the test says its outcome
//    is unknown) was not stored at all;
//  - within a partition, the log holds the records in the order they were sent;
//  - no batch breaks the sequence rules (a real broker would have rejected it, so the producer's
//    view of what was written would be wrong);
//  - copies a real broker would drop (duplicates) or reject (out of sequence: the mock processes
//    requests pipelined behind one whose connection it closed) occur only where the test allows
//    them, and no send is acknowledged at such a copy.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"

namespace kwire::test {

using test_clock = std::chrono::steady_clock;

/// One RecordBatch as the broker stored it.
struct stored_batch {
    std::int64_t base_offset = 0;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::vector<std::string> values;  ///< record i sits at base_offset + i
};

/// Fetches every batch of `topic`/`partition` from its current leader, offset 0 to the high
/// watermark (plain blocking connections, kwire's codecs). Throws std::runtime_error.
std::vector<stored_batch> read_partition(const peers::mock_cluster& mc, const std::string& topic,
                                         std::int32_t partition);

struct sent_record {
    std::size_t index = 0;  ///< global send order
    std::string topic;
    std::int32_t partition = -1;
    std::string value;
    int completions = 0;
    std::error_code ec;
    delivery d;
    test_clock::time_point sent_at{};
    test_clock::time_point completed_at{};
};

/// Every send of a test. Values are "<topic>/p<partition>-<n>", n counting per partition.
/// Must outlive the producer (its handlers run when the producer is destroyed).
class send_ledger {
public:
    std::size_t send(producer& p, const std::string& topic, std::int32_t partition);
    /// Sends one record to each of `partitions`.
    void wave(producer& p, const std::string& topic, std::int32_t partitions);

    const std::vector<std::unique_ptr<sent_record>>& records() const noexcept { return records_; }
    const sent_record& operator[](std::size_t i) const { return *records_.at(i); }
    std::size_t size() const noexcept { return records_.size(); }
    std::size_t completed() const noexcept { return completed_; }
    bool all_completed() const noexcept { return completed_ == records_.size() && extra_completions_ == 0; }
    std::size_t failed() const;
    std::size_t acked() const;
    /// Completions beyond the first, over all records (must stay 0).
    std::size_t extra_completions() const noexcept { return extra_completions_; }

private:
    std::vector<std::unique_ptr<sent_record>> records_;
    std::map<std::pair<std::string, std::int32_t>, int> next_;
    std::size_t completed_ = 0;
    std::size_t extra_completions_ = 0;
};

struct log_expectations {
    /// Failed sends whose outcome is unknown (a timed-out or cut request): they may be stored,
    /// at most once in the deduplicated log.
    bool failed_may_be_stored = false;
    /// Stored copies a real broker would have deduplicated (same producer id, epoch and
    /// sequence as a batch before them) or rejected as out of sequence (processed by the mock
    /// after an earlier request on its connection was dropped): expected only where attempts
    /// have unknown outcomes (lost answers, cut connections).
    bool allow_deduplicable_copies = false;
    /// Whether a failed send's error is what the test expects; unset: no send may fail.
    std::function<bool(const sent_record&)> failure_allowed;
};

struct log_report {
    std::size_t stored_batches = 0;
    std::size_t deduplicable_copies = 0;  ///< stored by the mock, dropped by a real broker
    std::size_t rejected_copies = 0;      ///< stored by the mock out of sequence after an ambiguous attempt
    std::size_t sequence_violations = 0;  ///< batches a real broker would have rejected, where no attempt was ambiguous
    std::size_t acked = 0;
    std::size_t failed = 0;
    std::size_t producer_ids = 0;         ///< distinct (producer id, epoch) pairs seen
};

/// Reads back every partition the ledger sent to on `topic` and checks it (gtest failures).
log_report check_log(const peers::mock_cluster& mc, const std::string& topic, const send_ledger& ledger,
                     const log_expectations& expect);

/// Runs `io` until `pred` holds or `limit` passes; returns pred().
bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
               std::chrono::milliseconds limit = std::chrono::seconds(20));
/// Runs `io` for `d`.
void run_for(boost::asio::io_context& io, std::chrono::milliseconds d);

}  // namespace kwire::test

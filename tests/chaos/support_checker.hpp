// The producer side of the chaos suite's checker (Jepsen-style): a ledger of every send, and a
// comparison of it with what the broker stored, reported as counts per anomaly class rather
// than a bare pass/fail.
//
// Every record's value names it uniquely ("<key>#<n>", n counting per key), so a stored copy can
// be traced to its send. Anomaly classes:
//  - unfinished:   a send whose handler never ran (the promise: every send completes once);
//  - repeated:     a handler that ran more than once;
//  - lost:         acknowledged, but not in the log;
//  - misplaced:    acknowledged at an offset that holds another record (or a different partition);
//  - duplicated:   stored more than once;
//  - reordered:    within a partition, a record stored after one that was sent after it (only an
//                  anomaly for an idempotent producer, which promises send order; counted always);
//  - phantom:      a record the ledger never sent (a corrupted or foreign copy);
//  - unexplained:  a send that failed with an error the scenario does not allow.
// Failed sends whose outcome is unknown (a delivery timeout while the batch was in flight) may or
// may not be stored: counted as failed_stored, not an anomaly -- but they must not be stored out
// of order either, which `reordered` sees.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/client/producer.hpp"

namespace kwire::test {

/// Runs `io` until `pred` holds or `limit` passes; returns whether `pred` held.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred, std::chrono::milliseconds limit);

/// One record as the broker stored it: its offset and value.
struct stored_record {
    std::int64_t offset = 0;
    std::string value;
};
/// A partition's log, in offset order, per (topic, partition).
using stored_logs = std::map<std::pair<std::string, std::int32_t>, std::vector<stored_record>>;

struct ledger_entry {
    std::size_t index = 0;  ///< global send order
    std::string topic;
    std::string key;
    std::string value;
    std::optional<std::int32_t> partition;  ///< as asked (nullopt: the partitioner's choice)
    int completions = 0;
    std::error_code ec;
    delivery d;
};

/// Every send of a scenario. Must outlive the producer (its handlers run until it is destroyed).
class produce_ledger {
public:
    /// Sends one record with this key (value "<key>#<n>").
    void send(producer& p, const std::string& topic, const std::string& key,
              std::optional<std::int32_t> partition = std::nullopt);
    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t completed() const noexcept { return completed_; }
    std::size_t acknowledged() const noexcept;
    bool all_completed() const noexcept { return completed_ == entries_.size(); }
    const std::vector<std::unique_ptr<ledger_entry>>& entries() const noexcept { return entries_; }

private:
    std::vector<std::unique_ptr<ledger_entry>> entries_;
    std::map<std::string, std::size_t> next_per_key_;
    std::size_t completed_ = 0;
};

struct anomaly_counts {
    std::size_t unfinished = 0, repeated = 0, lost = 0, misplaced = 0, duplicated = 0, reordered = 0, phantom = 0,
                unexplained = 0;
    // Not anomalies: what happened.
    std::size_t acknowledged = 0, failed = 0, failed_stored = 0, stored = 0;

    /// Anomalies that break the promises of a producer with these settings.
    std::size_t violations(bool idempotent) const noexcept {
        return unfinished + repeated + lost + misplaced + phantom + unexplained +
               (idempotent ? duplicated + reordered : 0);
    }
};
std::ostream& operator<<(std::ostream& os, const anomaly_counts& a);

struct check_options {
    /// Errors a failed send may carry in this scenario (e.g. delivery_timed_out); any other
    /// failure is `unexplained`.
    std::vector<std::error_code> allowed_errors;
    /// Prints the first few anomalies of each class on this stream (nullptr: none).
    std::ostream* details = nullptr;
};

class rules_cluster;
/// The records of every partition of `topic`, in offset order, as a rules_cluster stored them.
stored_logs stored(const rules_cluster& rc, const std::string& topic, int partitions);

/// Compares the ledger with the logs. Call once every send has completed (or the scenario gave up).
anomaly_counts check(const produce_ledger& ledger, const stored_logs& logs, const check_options& options = {});

}  // namespace kwire::test

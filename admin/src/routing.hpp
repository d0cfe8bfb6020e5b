// The admin client's decisions, without I/O: what to do about an error code, how long to back off,
// which broker gets which partitions, and the ConsumerProtocol assignment bytes. Tested alone
// (tests/admin/routing_test.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <system_error>
#include <vector>

#include "kwire/admin/admin.hpp"

namespace kwire::admin::detail {

/// What an item's error asks for.
enum class next_step {
    done,              ///< success, or an error that a retry will not fix: report it
    retry,             ///< try again after the backoff (COORDINATOR_LOAD_IN_PROGRESS, ...)
    refresh_metadata,  ///< a leader moved: refresh metadata, then retry (NOT_LEADER_OR_FOLLOWER, ...)
    find_controller,   ///< NOT_CONTROLLER: learn the controller again, then retry
    find_coordinator,  ///< NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE: FindCoordinator again
};

/// For a Kafka error code. UNKNOWN_TOPIC_OR_PARTITION is retriable in Kafka's table, but for an
/// admin call it usually means what it says (deleting or describing a missing topic): it is
/// final unless `unknown_topic_retriable` (a leader that does not know a topic metadata
/// reported, which a new topic can cause for a moment).
next_step classify(std::int16_t error, bool unknown_topic_retriable = false) noexcept;
/// For an error of the request as a whole (a lost connection, a timeout): retriable ones retry
/// elsewhere after a metadata refresh.
next_step classify(std::error_code ec) noexcept;


/// Partitions grouped by leader. `leader_of` returns the leader's node id, or an error (the
/// topic or partition is unknown, or has no leader now).
struct leader_routes {
    std::map<std::int32_t, std::vector<topic_partition>> by_leader;
    std::vector<std::pair<topic_partition, std::int16_t>> unroutable;  ///< with the Kafka error
};
leader_routes route_by_leader(const std::vector<topic_partition>& partitions,
                              const std::function<std::pair<std::int32_t, std::int16_t>(const topic_partition&)>& leader_of);

/// Decodes a ConsumerProtocol assignment (the SyncGroup / DescribeGroups MemberAssignment bytes:
/// INT16 version, then [STRING topic, [INT32 partition]], then nullable BYTES user data) with the
/// consumer's decoder, which checks every length against what remains. An empty input is an
/// empty assignment. Returns the partitions sorted, or an error.
std::error_code decode_consumer_assignment(std::span<const std::uint8_t> bytes, std::vector<topic_partition>& out);

/// Follows each item of a call through its attempts: the items still to ask about, and the final
/// results. An item whose error classifies as `done` is final; others stay pending for another
/// attempt, unless the deadline has passed, when the last error is their result.
template <class Key, class Result>
class item_tracker {
public:
    void add(Key k) { pending_.insert(std::move(k)); }
    const std::set<Key>& pending() const noexcept { return pending_; }
    bool finished() const noexcept { return pending_.empty(); }

    /// Records an answer for `k`. Returns the step the error asks for (done when it is final).
    next_step answer(const Key& k, Result r, std::int16_t error, bool deadline_passed, bool unknown_topic_retriable = false) {
        return record(k, std::move(r), classify(error, unknown_topic_retriable), deadline_passed);
    }
    /// A failure of the request carrying `k` (or no route for it).
    next_step fail(const Key& k, Result r, std::error_code ec, bool deadline_passed) {
        return record(k, std::move(r), classify(ec), deadline_passed);
    }
    /// The deadline passed: every pending item gets its last answer, or `fallback(k)`.
    template <class Fallback> void give_up(Fallback fallback) {
        for (const auto& k : pending_) {
            auto it = last_.find(k);
            results_.insert_or_assign(k, it != last_.end() ? std::move(it->second) : fallback(k));
        }
        pending_.clear();
    }
    std::map<Key, Result>& results() noexcept { return results_; }

private:
    next_step record(const Key& k, Result r, next_step step, bool deadline_passed) {
        if (step == next_step::done || deadline_passed) {
            pending_.erase(k);
            results_.insert_or_assign(k, std::move(r));
            return next_step::done;
        }
        last_.insert_or_assign(k, std::move(r));
        return step;
    }

    std::set<Key> pending_;
    std::map<Key, Result> last_;
    std::map<Key, Result> results_;
};

}  // namespace kwire::admin::detail

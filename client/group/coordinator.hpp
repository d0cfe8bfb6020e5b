// The group coordinator, shared by the membership, the committer and the start offsets: finding
// it (FindCoordinator), forgetting it when a group request says it moved, and the waits between
// lookups that fail.
//
// coordinator_lookup is the decision, without I/O: which node is the coordinator, and how long to
// wait after the n-th consecutive failed lookup -- retry.backoff.ms doubling up to
// retry.backoff.max.ms, with +-20% jitter (KIP-580; core/backoff.hpp). A lookup that finds the
// coordinator starts the count again.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>
#include <vector>

#include "consumer/consumer_core.hpp"
#include "core/backoff.hpp"

namespace kwire::client::detail {

class broker_connection;

class coordinator_lookup {
public:
    explicit coordinator_lookup(backoff b) noexcept : backoff_(b) {}

    /// The coordinator's node id; -1 while unknown.
    std::int32_t node() const noexcept { return node_; }
    /// Consecutive failed lookups since the coordinator was last found.
    int failures() const noexcept { return failures_; }

    void found(std::int32_t node) noexcept {
        node_ = node;
        failures_ = 0;
    }
    /// A group request said the coordinator moved (or its connection is gone).
    void lost() noexcept { node_ = -1; }
    /// A lookup failed: the wait before the next one, jittered by `random`.
    template <class Random>
    backoff::milliseconds failed(Random& random) {
        return backoff_(++failures_, random);
    }
    backoff::milliseconds failed() { return backoff_(++failures_); }

private:
    backoff backoff_;
    std::int32_t node_ = -1;
    int failures_ = 0;
};

class coordinator {
public:
    explicit coordinator(consumer_core& core);

    /// Runs `then` once the coordinator is known and connected: with no error, or the fatal one
    /// (which the consumer reports too), or closed.
    void with(std::function<void(std::error_code)> then);
    /// Forgets it: the next with() looks it up again.
    void lost() noexcept { lookup_.lost(); }
    /// Its node id; -1 while unknown.
    std::int32_t node() const noexcept { return lookup_.node(); }
    /// Its connection (valid inside a with() continuation that got no error).
    std::shared_ptr<broker_connection> broker() const;
    void cancel();  // the consumer shuts down
    /// The lookup state (tests read its backoff).
    const coordinator_lookup& lookup() const noexcept { return lookup_; }

private:
    void find();
    void retry_later();
    void release();

    consumer_core& core_;
    coordinator_lookup lookup_;
    bool finding_ = false;
    std::int32_t last_found_ = -1;  // the coordinator last found (for the log line when it moves)
    std::vector<std::function<void(std::error_code)>> waiters_;
    net::steady_timer retry_timer_;
};

}  // namespace kwire::client::detail

// The one backoff every retry in kwire waits by, and the one "retry until a deadline" schedule.
//
// backoff: exponential with jitter and a cap, as KIP-580 specifies retry.backoff.ms and
// retry.backoff.max.ms (and the same shape for reconnect.backoff.ms / .max.ms): the n-th
// consecutive retry waits min(base * 2^(n-1), max), scaled by a random factor in [0.8, 1.2] so
// that clients that failed together do not all come back in the same millisecond. The jitter
// applies after the cap, so a wait may exceed `max` by up to 20%.
//
// retry_deadline: counts the attempts of one operation that retries until its deadline
// (default.api.timeout.ms, delivery.timeout.ms, ...), and says after each failure how long to
// wait, or that no time is left. Sans-I/O: the caller arms its own timer.
//
// Both take the random source as a parameter (any UniformRandomBitGenerator), so a test can make
// the jitter deterministic; the overloads without one use a per-thread generator.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace kwire::client::detail {

/// A factor in [1 - spread, 1 + spread] from one draw of `random`.
template <class Random>
double jitter_factor(Random& random, double spread = 0.2) {
    const auto lo = static_cast<double>(Random::min());
    const auto span = static_cast<double>(Random::max()) - lo;
    const double unit = span > 0 ? (static_cast<double>(random()) - lo) / span : 0.5;  // [0, 1]
    return 1.0 - spread + 2.0 * spread * unit;
}

/// A factor from kwire's per-thread random source.
double jitter_factor();

class backoff {
public:
    using milliseconds = std::chrono::milliseconds;

    constexpr backoff(milliseconds base, milliseconds max) noexcept : base_(base), max_(max) {}

    /// The wait before retry number `attempt` (1 for the first), scaled by `factor`.
    constexpr milliseconds delay(int attempt, double factor = 1.0) const noexcept {
        auto d = base_;
        for (int i = 1; i < attempt && d < max_ && d.count() > 0; ++i) d *= 2;
        if (d > max_) d = max_;
        return milliseconds(static_cast<std::int64_t>(static_cast<double>(d.count()) * factor));
    }

    /// The wait before retry number `attempt`, with the jitter drawn from `random`.
    template <class Random>
    milliseconds operator()(int attempt, Random& random) const {
        return delay(attempt, jitter_factor(random));
    }

    /// The wait before retry number `attempt`, with the jitter from the per-thread source.
    milliseconds operator()(int attempt) const { return delay(attempt, jitter_factor()); }

private:
    milliseconds base_;
    milliseconds max_;
};

/// One operation retried with `backoff` until `deadline`.
class retry_deadline {
public:
    using clock = std::chrono::steady_clock;

    retry_deadline(backoff b, clock::time_point deadline) noexcept : backoff_(b), deadline_(deadline) {}

    clock::time_point deadline() const noexcept { return deadline_; }
    bool expired(clock::time_point now) const noexcept { return now >= deadline_; }
    /// How many retries next() has granted.
    int retries() const noexcept { return retries_; }

    /// After a failed attempt: the wait before the next one, or nothing when the deadline has
    /// passed. (A wait that ends beyond the deadline is still granted: the caller's deadline
    /// timer ends the operation then, with what it has.)
    template <class Random>
    std::optional<backoff::milliseconds> next(clock::time_point now, Random& random) {
        if (expired(now)) return std::nullopt;
        return backoff_(++retries_, random);
    }
    std::optional<backoff::milliseconds> next(clock::time_point now) {
        if (expired(now)) return std::nullopt;
        return backoff_(++retries_);
    }

private:
    backoff backoff_;
    clock::time_point deadline_;
    int retries_ = 0;
};

}  // namespace kwire::client::detail

// A fetch session (KIP-227) with one broker, without I/O: what each Fetch to that broker says,
// and what its answer means for the next one. The consumer keeps one per broker it fetches from
// and never has more than one Fetch in flight to a broker, so a session has at most one request
// outstanding.
//
// A full Fetch (epoch 0) lists every partition wanted; the broker answers with all of them and,
// if it can, a session id. From then on Fetches are incremental (epoch 1, 2, ...): they list only
// partitions that are new to the session or whose fetch position changed, and name the ones to
// drop in ForgottenTopicsData; the broker answers only for partitions with records or changed
// metadata, and the ones it leaves out keep their state. The epoch goes up by one per answered
// request and wraps from INT32_MAX to 1 (0 means "full" and is never reused).
//
// The session holds exactly what the last Fetch wanted: a partition not wanted this time (revoked,
// paused, still holding unread records, backing off after an error) is forgotten, and sent again
// in full when it is wanted again. This is what the Java client does (its fetchable partitions
// exclude paused and buffered ones, and FetchSessionHandler drops whatever a request omits):
// keeping a paused partition in the session would make the broker keep returning its records.
//
// Falling back to full fetches loses nothing, because positions move only with records the
// consumer accepted:
//   - a broker that creates no session (session id 0 in the answer to a full Fetch, or a version
//     before 7) gets full Fetches every time;
//   - FETCH_SESSION_ID_NOT_FOUND (70): the next Fetch is full, with no session id;
//   - INVALID_FETCH_SESSION_EPOCH (71), any other top-level error, a request that failed or timed
//     out, or an answer naming partitions the session does not hold: the next Fetch is full and
//     names the old session id with epoch 0, which makes the broker close it and open a new one.
//   An answer carrying a top-level error holds no partitions; nothing of a discarded answer is
//   used.
// A reconnect alone changes nothing: sessions live in the broker's session cache, not in the
// connection (a request in flight when the connection drops fails, which resets the session).
// close() gives the Fetch that ends the session on the broker (epoch -1, nothing listed), so that
// a closing consumer frees its slot in the broker's cache instead of waiting for eviction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kwire::client::detail {

/// What a partition is fetched with; a change to any of it is sent again in an incremental Fetch.
struct fetch_position {
    std::int64_t fetch_offset = 0;
    std::int32_t current_leader_epoch = -1;
    std::int32_t max_bytes = 0;
    std::int64_t log_start_offset = -1;  ///< consumers send -1
    friend bool operator==(const fetch_position&, const fetch_position&) = default;
};

/// A partition wanted in the next Fetch. `id` is the caller's name for the partition (the
/// consumer's slot index), stable for as long as the session lives.
struct fetch_want {
    std::uint32_t id = 0;
    fetch_position position;
    friend bool operator==(const fetch_want&, const fetch_want&) = default;
};

/// The next Fetch to a broker.
struct fetch_plan {
    std::int32_t session_id = 0;
    std::int32_t epoch = 0;             ///< 0: full (creates a session); -1: close; > 0: incremental
    bool full = true;
    std::vector<fetch_want> send;       ///< the partitions to list in the request
    std::vector<std::uint32_t> forget;  ///< ForgottenTopicsData (incremental only)
};

/// What to do with a Fetch answer.
enum class fetch_verdict {
    use,      ///< its partitions are valid (partitions it leaves out keep their state)
    discard,  ///< use nothing of it; fetch again (the next Fetch is full)
};

class fetch_session {
public:
    static constexpr std::int32_t initial_epoch = 0;
    static constexpr std::int32_t final_epoch = -1;
    /// The first Fetch version with sessions.
    static constexpr std::int16_t min_version = 7;
    /// The id of a partition the caller does not know (in an answer): the session never holds it.
    static constexpr std::uint32_t unknown_partition = 0xffffffffu;

    /// The epoch after `epoch`: +1, wrapping from INT32_MAX to 1; -1 stays -1.
    static std::int32_t next_epoch(std::int32_t epoch) noexcept;

    /// Plans the next Fetch for `wanted`, every partition wanted from this broker now, in the
    /// order a full Fetch should list them (a broker fills the answer in that order). The
    /// session now holds exactly `wanted`. `out` is overwritten (its buffers reused).
    void plan(std::span<const fetch_want> wanted, fetch_plan& out);

    /// The answer to the last planned Fetch: the version it was sent at, its top-level error
    /// code and session id, and the ids of the partitions it carries (unknown_partition for any
    /// the caller could not name). Updates the session for the next Fetch.
    fetch_verdict on_response(std::int16_t version, std::int16_t error, std::int32_t session_id,
                              std::span<const std::uint32_t> partitions);

    /// The last planned Fetch got no usable answer (connection lost, timeout, undecodable).
    void on_failure() noexcept;

    /// The Fetch that closes the session on the broker, if there is one; the session is then
    /// empty and the next Fetch would be full without a session id.
    std::optional<fetch_plan> close();

    std::int32_t session_id() const noexcept { return session_id_; }
    /// The epoch the next Fetch carries (0: full).
    std::int32_t epoch() const noexcept { return epoch_; }
    bool incremental() const noexcept { return epoch_ > 0; }
    /// The partitions the broker holds for this session (as of the last plan), by id.
    std::span<const fetch_want> partitions() const noexcept { return partitions_; }

private:
    void restart(bool keep_id) noexcept;

    std::int32_t session_id_ = 0;
    std::int32_t epoch_ = initial_epoch;
    bool planned_full_ = true;            // what the request in flight was
    std::vector<fetch_want> partitions_;  // the session's partitions, sorted by id
    std::vector<fetch_want> sorted_;      // scratch: the wanted partitions sorted by id
    std::vector<std::uint32_t> seen_;     // scratch: an answer's partition ids, sorted
};

}  // namespace kwire::client::detail

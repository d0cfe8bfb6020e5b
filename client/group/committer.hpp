// The committer: OffsetCommit per the commit policy, and what waits on commits.
//   - when: interval(0) (as soon as records are acknowledged; one commit in flight, later
//     acknowledgements coalesce into the next), interval(d) (a timer), on_poll, manual;
//   - what: every ready partition's committable offset (offset_tracker: the first record not
//     finished) above what is known committed, under the ownership it was read in -- a partition
//     lost and perhaps assigned again meanwhile never gets its previous ownership's offset;
//   - under which membership: the generation or member epoch the membership gives
//     (membership::identity), and what an error means is the membership's call too
//     (membership::on_commit_error); retries wait retry.backoff.ms doubling up to
//     retry.backoff.max.ms, with jitter;
//   - who waits: commit() and close() (the next commit round), revocations (likewise: the marked
//     offsets go before the partitions do), ack_and_wait (until its record is committed), and
//     committed() (OffsetFetch for the application).
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <span>
#include <vector>

#include "consumer/consumer_core.hpp"
#include "core/backoff.hpp"
#include "kwire/protocol/messages/offset_commit.hpp"

namespace kwire::client::detail {

class coordinator;
class membership;

using commit_handler = net::any_completion_handler<commit_signature>;
using committed_handler = net::any_completion_handler<committed_signature>;

class committer {
public:
    committer(consumer_core& core, coordinator& coord, membership& member);

    /// Records of `s` were acknowledged: under interval(0), commit soon.
    void on_acked(const partition_slot& s);
    /// poll() was called: under on_poll, the last poll's records count as acknowledged, and are
    /// committed if the interval has passed.
    void on_poll(std::span<const consumer_record> handed_out);
    /// Under interval(0): commit what is marked soon (posted: one handler run, one commit).
    void schedule();
    /// Under interval(d): the timer.
    void arm_timer();
    /// One commit round of what is marked now (or the next round, if one is in flight).
    void commit_marked();
    /// commit_marked(), and `then` with the outcome of the round that carries what is marked now.
    void commit_marked_then(std::function<void(std::error_code)> then);
    /// commit(): explicit offsets, or (all_marked) what is marked.
    void commit(std::vector<partition_offset> offsets, bool all_marked, commit_handler h);
    void committed(std::vector<topic_partition> tps, committed_handler h);
    /// ack_and_wait: `done` once the record at `offset` of slot `slot` (in `incarnation`) is
    /// committed, or fails.
    void wait_for(std::uint32_t slot, std::uint32_t incarnation, std::int64_t offset,
                  completion<commit_signature> done);
    /// Completes the ack waiters whose record is committed or revoked (all of them with `ec`).
    void complete_ack_waiters(std::error_code ec);
    std::uint64_t commits_sent() const noexcept { return commits_sent_; }
    /// The consumer shuts down: every waiter fails with operation_aborted.
    void cancel();

private:
    using offsets_by_slot = std::map<std::uint32_t, std::int64_t>;
    using ownerships_by_slot = std::map<std::uint32_t, std::uint32_t>;
    /// Sends `offsets` (attempt number `attempt`, 1 for the first) while each slot's ownership
    /// is still the one it was read in; `done` with the outcome, retries included.
    void send(offsets_by_slot offsets, int attempt, std::function<void(std::error_code)> done);
    void send(offsets_by_slot offsets, ownerships_by_slot ownerships, int attempt,
              std::function<void(std::error_code)> done);
    /// The first partition error of an answer (0: none), recording what was committed.
    std::int16_t take_answer(const offsets_by_slot& offsets,
                             const std::vector<std::pair<std::uint32_t, std::uint32_t>>& sent, std::error_code ec,
                             const protocol::OffsetCommitResponse& resp);
    /// After the backoff: what is still marked under the same ownerships, sent again.
    void retry_later(offsets_by_slot offsets, ownerships_by_slot ownerships, int attempt,
                     std::function<void(std::error_code)> done);

    consumer_core& core_;
    coordinator& coordinator_;
    membership& member_;
    backoff backoff_;
    bool scheduled_ = false;
    bool in_flight_ = false;
    bool again_ = false;
    std::uint64_t round_ = 0;  // commit rounds begun (the one in flight, if any, included)
    std::uint64_t commits_sent_ = 0;
    struct round_waiter {
        std::uint64_t round;  // the first commit round begun after the request (round_ + 1):
                              // completes when that round does
        std::function<void(std::error_code)> handler;
    };
    std::list<round_waiter> round_waiters_;
    struct ack_waiter {
        std::uint32_t slot;
        std::uint32_t incarnation;
        std::int64_t offset;  // completes when committed > offset
        completion<commit_signature> done;
    };
    std::list<ack_waiter> ack_waiters_;
    clock::time_point last_poll_commit_{};
    net::steady_timer timer_;
    bool timer_armed_ = false;
};

}  // namespace kwire::client::detail

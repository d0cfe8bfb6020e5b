// One partition's sealed batches on their way to the broker, and the rules that keep them in
// order and deduplicable: sequence numbers, in-flight limits, retries, epoch bumps. No I/O, no
// clock of its own (times are passed in), no Asio: the producer drives it, and tests drive it
// directly with a stand-in batch type.
//
// The guarantees, step by step:
//  - batches get sequence numbers in the order they are sealed, wrapping from INT32_MAX to 0;
//  - up to `max_in_flight` are sent in that order, on one connection, which the broker handles
//    in order -- but a numbered batch is pipelined behind another only once the broker has
//    acknowledged one of this partition's batches under the current producer id and epoch.
//    Before that the broker may hold no state for the producer, and then it accepts a batch at
//    any sequence number (KIP-360): were the first batch lost (a retriable error, a dead
//    connection) while the second got through, the second would be stored first, and the first,
//    now out of sequence, only after an epoch bump, behind it;
//  - a batch whose bytes are not final yet (its records are being compressed on another thread)
//    holds back every batch sealed after it, even ones that are ready: it keeps its place and
//    its sequence numbers, and the partition sends nothing until it is ready;
//  - a batch that must be retried goes back to its place among the sealed ones (by seal order),
//    and the partition sends nothing until every batch still in flight has answered: the ones
//    behind it failed too (same connection, or OUT_OF_ORDER_SEQUENCE_NUMBER because their
//    predecessor was not written), and must go out again behind it, with their old numbers, so
//    that the broker can drop whatever it had in fact written;
//  - when numbers can no longer be made contiguous (the broker lost our producer state, or a
//    batch was given up), the producer bumps its epoch once nothing is in flight, and every
//    sealed batch is renumbered from 0 under the new epoch (KIP-360) -- but never a batch the
//    broker may already hold: one whose request died with its connection (or timed out) before
//    an answer came. Renumbered, it would be a new batch to the broker and be stored twice. So
//    such a batch, at the front of its partition, is first sent again under its old numbers
//    (`needs_resolving`): the broker answers it as a duplicate (it had it), or as out of
//    sequence (it did not, and it can be renumbered); only then does the epoch move on.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <vector>

namespace kwire::client::detail {

/// What to do with a batch after the broker's answer.
enum class batch_outcome {
    delivered,             ///< acknowledged (or DUPLICATE_SEQUENCE_NUMBER: the broker already had it)
    retry,                 ///< send again after a backoff
    retry_after_metadata,  ///< send again once metadata is refreshed (leadership moved)
    bump_epoch_and_retry,  ///< a real sequence gap: new epoch, renumber, then send again
    failed,                ///< a non-retriable error: the records fail with it
};

/// Decides a batch's fate from the partition's error code (ignored when `transport_failed`).
/// `first_outstanding`: no batch sealed before this one is still waiting for an answer.
batch_outcome classify_produce_result(std::int16_t error, bool transport_failed, bool idempotent,
                                      bool first_outstanding) noexcept;

/// Kafka's sequence arithmetic: (seq + n) mod 2^31.
constexpr std::int32_t advance_sequence(std::int32_t seq, std::int64_t n) noexcept {
    return static_cast<std::int32_t>((static_cast<std::int64_t>(seq) + n) & 0x7fffffff);
}

/// Batch must have: std::uint64_t order; std::int32_t base_sequence; std::int64_t producer_id;
/// std::int16_t producer_epoch; int attempts; bool maybe_written (an attempt's outcome is unknown:
/// the broker may hold it); std::chrono::steady_clock::time_point deadline;
/// std::size_t record_count() const; bool ready() const (its bytes are final and may be sent);
/// void set_producer_state(pid, epoch, seq) (also called on a batch that is not ready: it must
/// then keep the numbers and write them into its bytes once they are final).
template <class Batch> class partition_queue {
public:
    using clock = std::chrono::steady_clock;
    using batch_ptr = std::unique_ptr<Batch>;

    /// Appends a sealed batch. With a producer id (idempotence), numbers it.
    void push_sealed(batch_ptr b, std::int64_t producer_id, std::int16_t epoch) {
        b->order = next_order_++;
        if (producer_id >= 0) {
            b->set_producer_state(producer_id, epoch, next_sequence_);
            next_sequence_ = advance_sequence(next_sequence_, static_cast<std::int64_t>(b->record_count()));
        }
        sealed_.push_back(std::move(b));
    }

    /// Whether the front sealed batch may be sent now.
    bool can_send(clock::time_point now, int max_in_flight) const noexcept {
        if (sealed_.empty() || !sealed_.front()->ready() || now < backoff_until_) return false;
        if (retrying_ && !in_flight_.empty()) return false;  // resend only behind a clean slate
        if (!confirmed_ && sealed_.front()->base_sequence >= 0 && !in_flight_.empty()) return false;
        return static_cast<int>(in_flight_.size()) < max_in_flight;
    }

    /// The broker acknowledged `b` (or answered it as a duplicate): it knows this producer id and
    /// epoch on the partition now, so batches may be pipelined.
    void acknowledged(const Batch& b) noexcept {
        if (b.base_sequence >= 0) confirmed_ = true;
    }
    bool confirmed() const noexcept { return confirmed_; }

    /// Whether the front sealed batch may already be on the broker under its current numbers
    /// (see the header comment): an epoch bump must wait until it is sent again and answered.
    bool needs_resolving() const noexcept { return !sealed_.empty() && sealed_.front()->maybe_written; }

    /// Moves the front sealed batch in flight and returns it.
    Batch* send_front() {
        in_flight_.push_back(std::move(sealed_.front()));
        sealed_.pop_front();
        retrying_ = false;
        auto* b = in_flight_.back().get();
        ++b->attempts;
        return b;
    }

    /// Takes a batch out of flight (answered or failed); nullptr if it is not there.
    batch_ptr take(const Batch* b) {
        for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
            if (it->get() != b) continue;
            auto owned = std::move(*it);
            in_flight_.erase(it);
            return owned;
        }
        return nullptr;
    }

    /// The batch in flight with this seal order, or nullptr (it expired, or the queue was reset):
    /// answers are matched by order, not address, since a freed batch's address can be reused.
    Batch* find_in_flight(std::uint64_t order) const noexcept {
        for (const auto& b : in_flight_)
            if (b->order == order) return b.get();
        return nullptr;
    }

    /// The sealed (not yet sent) batch with this seal order, or nullptr: it expired, failed or
    /// was aborted meanwhile.
    Batch* find_sealed(std::uint64_t order) const noexcept {
        for (const auto& b : sealed_)
            if (b->order == order) return b.get();
        return nullptr;
    }

    /// Takes a batch out of the sealed ones (one that can never be sent); nullptr if it is not there.
    batch_ptr take_sealed(const Batch* b) {
        for (auto it = sealed_.begin(); it != sealed_.end(); ++it) {
            if (it->get() != b) continue;
            auto owned = std::move(*it);
            sealed_.erase(it);
            return owned;
        }
        return nullptr;
    }

    /// Removes every in-flight batch whose delivery deadline has passed (their answers, if they
    /// come, find nothing), and returns them.
    std::vector<batch_ptr> take_expired_in_flight(clock::time_point now) {
        std::vector<batch_ptr> out;
        for (auto it = in_flight_.begin(); it != in_flight_.end();) {
            if ((*it)->deadline <= now) {
                out.push_back(std::move(*it));
                it = in_flight_.erase(it);
            } else {
                ++it;
            }
        }
        return out;
    }

    /// Whether nothing sealed before `b` is still waiting for an answer.
    bool first_outstanding(const Batch* b) const noexcept {
        const bool first_in_flight = !in_flight_.empty() && in_flight_.front().get() == b;
        const bool none_earlier_sealed = sealed_.empty() || sealed_.front()->order > b->order;
        return first_in_flight && none_earlier_sealed;
    }

    /// Puts a taken batch back among the sealed ones, in its original place, not to be sent
    /// before `not_before` nor while anything is still in flight.
    void requeue(batch_ptr b, clock::time_point not_before) {
        auto pos = std::find_if(sealed_.begin(), sealed_.end(), [&](const batch_ptr& s) { return s->order > b->order; });
        sealed_.insert(pos, std::move(b));
        retrying_ = true;
        backoff_until_ = std::max(backoff_until_, not_before);
    }

    /// Renumbers every sealed batch from 0 under a new producer id/epoch. Only valid with
    /// nothing in flight (the producer waits for that before bumping).
    void resequence(std::int64_t producer_id, std::int16_t epoch) {
        next_sequence_ = 0;
        confirmed_ = false;  // a new epoch or id: the broker has seen none of it yet
        for (auto& b : sealed_) {
            b->set_producer_state(producer_id, epoch, next_sequence_);
            next_sequence_ = advance_sequence(next_sequence_, static_cast<std::int64_t>(b->record_count()));
        }
    }

    /// The front sealed batch if its delivery deadline has passed (removed), else nullptr.
    batch_ptr pop_expired(clock::time_point now) {
        if (sealed_.empty() || sealed_.front()->deadline > now) return nullptr;
        auto b = std::move(sealed_.front());
        sealed_.pop_front();
        return b;
    }

    std::deque<batch_ptr>& sealed() noexcept { return sealed_; }
    std::list<batch_ptr>& in_flight() noexcept { return in_flight_; }
    const std::deque<batch_ptr>& sealed() const noexcept { return sealed_; }
    const std::list<batch_ptr>& in_flight() const noexcept { return in_flight_; }
    std::int32_t next_sequence() const noexcept { return next_sequence_; }
    void set_next_sequence(std::int32_t s) noexcept { next_sequence_ = s; }  // tests: near the wrap
    clock::time_point backoff_until() const noexcept { return backoff_until_; }
    bool retrying() const noexcept { return retrying_; }

private:
    std::deque<batch_ptr> sealed_;    // waiting to be sent, in seal order
    std::list<batch_ptr> in_flight_;  // sent, awaiting answers, in send order
    std::int32_t next_sequence_ = 0;
    std::uint64_t next_order_ = 0;
    clock::time_point backoff_until_{};
    bool retrying_ = false;
    bool confirmed_ = false;  // a batch numbered under the current producer id/epoch was acknowledged
};

}  // namespace kwire::client::detail

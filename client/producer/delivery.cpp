// A record's end: completing records and batches (delivery reports, memory coming free),
// delivery.timeout.ms expiry, flush, cancellation of a send, close and abort. Accumulating is in
// producer_impl.cpp, the produce path in sink.cpp; see producer_impl.hpp for a batch's life.
#include "producer/producer_impl.hpp"
#include "kwire/client/transaction.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <functional>
#include <utility>

namespace kwire::client::detail {

namespace {

/// Completes a send: posted from inside send() (an initiating function never completes
/// inline), else here (see complete_here: no per-record dispatch for a plain callback).
void invoke(const net::any_io_executor& ex, send_handler h, std::error_code ec, delivery d, bool from_initiation) {
    if (from_initiation) return complete_posted(ex, std::move(h), api_error(ec), d);
    complete_here(std::move(h), api_error(ec), d);
}

}  // namespace

void producer_impl::forget(std::uint64_t generation, std::size_t n) noexcept {
    records_pending_ -= static_cast<std::int64_t>(n);
    if (meters_) meters_->queued.set(records_pending_);
    if (auto it = outstanding_.find(generation); it != outstanding_.end()) {
        it->second -= std::min(it->second, n);
        if (it->second == 0) outstanding_.erase(it);
    }
}

void producer_impl::fail_now(record_done& r, std::error_code ec) {
    forget(r.generation, 1);
    // A record refused inside a transaction fails the transaction (as Java's send does), unless
    // it was refused because no transaction could take it.
    if (txn_ && ec.category() != txn_category()) txn_->record_failed(ec, false);
    invoke(ex_, std::move(r.handler), ec, {}, true);
}

void producer_impl::complete(record_done& r, std::error_code ec, delivery d) {
    forget(r.generation, 1);
    if (ec) {
        // A record that never joined a batch (it waited for metadata or buffer.memory).
        if (meters_) meters_->failed(ec, 1);
        KWIRE_LOG_LIMITED(cluster_->log(), log_level::warn, log_context::producer, "failed " + ec.message(),
                          "a record failed: " + describe(ec, {}, -1));
    }
    if (ec && txn_ && ec != txn_errc::aborted) txn_->record_failed(ec, false);
    if (r.handler) call_handler(std::move(r.handler), ec, d);
}

void producer_impl::call_handler(send_handler h, std::error_code ec, delivery d) {
    ++in_callbacks_;
    struct leave {
        int& depth;
        ~leave() { --depth; }
    } on_exit{in_callbacks_};
    invoke(ex_, std::move(h), ec, d, initiating_);
}

void producer_impl::complete_batch(produce_batch& b, std::error_code ec, partition_state& p,
                                   std::int64_t base_offset, std::int64_t log_append_time) {
    memory_used_ -= std::min<std::uint64_t>(memory_used_, b.memory);
    b.memory = 0;
    meter_memory();
    if (ec && !b.records.empty()) {
        if (p.meters) p.meters->failed(ec, b.records.size());
        // Once per burst of the same error (the logger's rate limit counts the rest).
        KWIRE_LOG_LIMITED(cluster_->log(), log_level::warn, log_context::producer, "failed " + ec.message(),
                          std::to_string(b.records.size()) + " record" + (b.records.size() == 1 ? "" : "s") + " of " +
                              p.topic->name + "-" + std::to_string(p.id) +
                              " failed: " + describe(ec, p.topic->name, p.id));
    }
    // A batch that failed inside a transaction fails the transaction; if it had sequence numbers
    // that were never written, the abort is followed by an epoch bump (KIP-360).
    if (ec && txn_ && ec != txn_errc::aborted && !b.records.empty()) txn_->record_failed(ec, b.base_sequence >= 0);
    // The flush bookkeeping first, one update per run of records of the same generation (a
    // batch almost always holds one), then the handlers.
    for (std::size_t i = 0; i < b.records.size();) {
        const auto gen = b.records[i].generation;
        std::size_t j = i;
        while (j < b.records.size() && b.records[j].generation == gen) ++j;
        forget(gen, j - i);
        i = j;
    }
    for (std::size_t i = 0; i < b.records.size(); ++i) {
        auto& r = b.records[i];
        delivery d;
        d.partition = p.id;
        d.offset = (ec || base_offset < 0) ? -1 : base_offset + static_cast<std::int64_t>(i);
        d.timestamp = log_append_time >= 0 ? log_append_time : r.timestamp;
        if (r.handler) call_handler(std::move(r.handler), ec, d);
    }
    b.records.clear();
    // Memory came free: let waiting sends in, in order.
    while (!memory_waiters_.empty() && memory_used_ + memory_waiters_.front().first.memory <= cfg_.buffer_memory) {
        auto [o, name] = std::move(memory_waiters_.front());
        memory_waiters_.pop_front();
        memory_used_ += o.memory;
        append_parked(*topic(name), std::move(o));
    }
}

void producer_impl::arm_expiry_timer() {
    if (expiry_armed_ || shut_down_) return;
    expiry_armed_ = true;
    expiry_timer_.expires_after(std::chrono::milliseconds(100));
    expiry_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        self->expiry_armed_ = false;
        if (ec) return;
        self->expire(clock::now());
        if (!self->outstanding_.empty()) self->arm_expiry_timer();
    });
}

void producer_impl::list_waiting(topic_state& t) {
    if (t.listed_waiting) return;
    t.listed_waiting = true;
    waiting_topics_.push_back(&t);
}

void producer_impl::watch_deadline(partition_state& p, clock::time_point deadline) {
    // One live entry per partition, at its earliest deadline (batches mostly join in deadline
    // order, so this is rarely a new entry); an entry whose time is not the partition's key is
    // stale and skipped.
    if (deadline >= p.expiry_key) return;
    p.expiry_key = deadline;
    deadlines_.push_back({deadline, &p});
    std::push_heap(deadlines_.begin(), deadlines_.end(), std::greater<>{});
}

void producer_impl::expire(clock::time_point now) {
    // delivery.timeout.ms bounds the time from send() to its completion. Batches in flight wait
    // for their response (or request timeout); everything else past its deadline fails here.
    // A tick looks only at what is due: topics with records waiting for metadata, and the
    // partitions whose earliest deadline has come.
    if (!waiting_topics_.empty()) {
        const auto topics = std::move(waiting_topics_);  // complete() may park records again
        waiting_topics_.clear();
        for (auto* t : topics) {
            t->listed_waiting = false;
            expire_waiting(*t, now);
            if (!t->waiting.empty()) list_waiting(*t);
        }
    }
    while (!deadlines_.empty() && deadlines_.front().at <= now) {
        std::pop_heap(deadlines_.begin(), deadlines_.end(), std::greater<>{});
        const auto due = deadlines_.back();
        deadlines_.pop_back();
        if (due.at != due.partition->expiry_key) continue;  // stale: the partition has an earlier entry
        expire_partition(*due.partition, now);
    }
    while (!memory_waiters_.empty() && memory_waiters_.front().first.deadline <= now) {
        auto o = std::move(memory_waiters_.front().first);
        memory_waiters_.pop_front();
        if (o.cancelled) continue;
        record_done r{std::move(o.handler), o.timestamp, o.generation};
        complete(r, make_error_code(client_errc::delivery_timed_out), {});
    }
    // Partitions waiting for a leader (or a broker's address) ask again: a refresh that failed
    // changed nothing, so nothing else would wake their sinks.
    if (std::exchange(metadata_wanted_, false)) sinks_.wake_all();
    check_flushes();
    if (bump_needed_ || sinks_.any_woken()) schedule_drain();
}

void producer_impl::expire_waiting(topic_state& t, clock::time_point now) {
    while (!t.waiting.empty() && t.waiting.front().deadline <= now) {
        auto o = std::move(t.waiting.front());
        t.waiting.pop_front();
        if (o.cancelled) continue;
        memory_used_ -= std::min<std::uint64_t>(memory_used_, o.memory);
        record_done r{std::move(o.handler), o.timestamp, o.generation};
        // A topic that never showed up is named as such; anything else is a timeout.
        const bool unknown = t.last_error == kafka_errc::unknown_topic_or_partition;
        complete(r, unknown ? t.last_error : make_error_code(client_errc::delivery_timed_out), {});
    }
    if (!t.waiting.empty() && now >= t.next_metadata) request_metadata(t);
}

void producer_impl::expire_partition(partition_state& p, clock::time_point now) {
    p.expiry_key = clock::time_point::max();
    // In flight past the deadline too (as the Java client does): the answer may never come in
    // time. Its outcome is unknown, so the idempotent producer must renumber.
    for (auto& b : p.queue.take_expired_in_flight(now)) {
        if (cfg_.idempotent()) bump_needed_ = true;
        complete_batch(*b, make_error_code(client_errc::delivery_timed_out), p, -1, -1);
        const auto order = b->order;
        expired_in_flight_.push_back({&p, order, std::move(b)});
    }
    while (auto b = p.queue.pop_expired(now)) {
        if (cfg_.idempotent() && b->base_sequence >= 0) bump_needed_ = true;  // a sequence gap
        complete_batch(*b, make_error_code(client_errc::delivery_timed_out), p, -1, -1);
    }
    if (p.open && p.open->deadline <= now) {
        p.builder.abort();
        auto b = std::move(p.open);
        complete_batch(*b, make_error_code(client_errc::delivery_timed_out), p, -1, -1);
    }
    // What is left may be sendable now (in flight no more); and its earliest deadline is watched.
    if (!p.queue.sealed().empty()) mark_ready(p);
    auto next = clock::time_point::max();
    for (const auto& b : p.queue.in_flight()) next = std::min(next, b->deadline);
    for (const auto& b : p.queue.sealed()) next = std::min(next, b->deadline);
    if (p.open) next = std::min(next, p.open->deadline);
    // A sealed batch past its deadline behind one that is not (a record that waited for
    // metadata brings an older deadline) fails once it is at the front: look again next tick.
    if (next != clock::time_point::max()) watch_deadline(p, std::max(next, now + std::chrono::milliseconds(1)));
}

void producer_impl::flush(std::optional<std::chrono::milliseconds> timeout, flush_handler h) {
    flush(timeout, completion(ex_, std::move(h), stop_waiting));
}

void producer_impl::flush(std::optional<std::chrono::milliseconds> timeout, completion<flush_signature> done) {
    const auto gen = generation_++;
    for (auto& [name, t] : topics_)
        for (auto& p : t->partitions) {
            if (!p.open) continue;
            seal(*t, p);
            mark_ready(p);
        }
    schedule_drain();
    flush_waiters_.push_back(flush_waiter{gen, std::move(done), nullptr});
    if (timeout) {
        auto timer = std::make_shared<net::steady_timer>(ex_, *timeout);
        flush_waiters_.back().timer = timer;
        timer->async_wait([self = shared_from_this(), timer](std::error_code ec) {
            if (ec) return;
            for (auto fw = self->flush_waiters_.begin(); fw != self->flush_waiters_.end(); ++fw) {
                if (fw->timer != timer) continue;
                auto waiter = std::move(*fw);
                self->flush_waiters_.erase(fw);
                waiter.done(make_error_code(client_errc::request_timed_out));
                return;
            }
        });
    }
    // Completes through check_flushes; a completion posts: never inside flush() itself.
    net::post(ex_, [self = shared_from_this()] { self->check_flushes(); });
}

void producer_impl::check_flushes() {
    meter_memory();
    // A commit or an abort waits for the records of its transaction.
    if (txn_ && txn_->pending() != txn_operation::none && outstanding_.empty()) txn_pump();
    for (auto it = flush_waiters_.begin(); it != flush_waiters_.end();) {
        if (outstanding_.empty() || outstanding_.begin()->first > it->generation) {
            auto waiter = std::move(*it);
            if (waiter.timer) waiter.timer->cancel();
            it = flush_waiters_.erase(it);
            waiter.done(std::error_code{});
        } else {
            ++it;
        }
    }
}

void producer_impl::close(flush_handler h) {
    // New sends fail from now on; what is pending still runs its course (metadata retries,
    // delivery timeouts) until the flush completes. Only then does everything stop. A
    // cancelled close stops only the waiting.
    closed_ = true;
    completion<flush_signature> user(ex_, std::move(h), stop_waiting);
    flush(std::nullopt, completion<flush_signature>(ex_, flush_handler([self = shared_from_this(), user](
                                                                           boost::system::error_code ec) {
              self->shut_down();
              user(ec);
          })));
}

void producer_impl::cancel_send(std::uint64_t id) {
    // Only a record nobody has seen can be taken back: one parked (waiting for metadata or for
    // buffer.memory), or the last one appended to an open batch. Anything sealed has, or may
    // get, sequence numbers the broker relies on, and completes with its real outcome.
    auto aborted = [this](send_handler h, std::uint64_t generation) {
        forget(generation, 1);
        complete_posted(ex_, std::move(h), operation_aborted(), delivery{});
        check_flushes();
    };
    auto take_parked = [&](owned_record& o) {
        o.cancelled = true;
        send_handler h(std::move(o.handler));
        aborted(std::move(h), o.generation);
    };
    for (auto& [name, t] : topics_) {
        for (auto& o : t->waiting) {
            if (o.cancel_id != id || o.cancelled) continue;
            memory_used_ -= std::min<std::uint64_t>(memory_used_, o.memory);
            o.memory = 0;
            return take_parked(o);
        }
        for (auto& p : t->partitions) {
            if (!p.open || p.last_cancel_id != id || !p.builder.drop_last()) continue;
            p.last_cancel_id = 0;
            auto& b = *p.open;
            send_handler h(std::move(b.records.back().handler));
            const auto generation = b.records.back().generation;
            b.records.pop_back();
            b.memory -= std::min(b.memory, p.last_memory);
            memory_used_ -= std::min<std::uint64_t>(memory_used_, p.last_memory);
            if (b.records.empty()) {
                p.builder.abort();
                p.open.reset();
            }
            return aborted(std::move(h), generation);
        }
    }
    for (auto& [o, name] : memory_waiters_) {
        if (o.cancel_id != id || o.cancelled) continue;
        o.memory = 0;  // never charged: it waited for memory
        return take_parked(o);
    }
}

void producer_impl::shut_down() {
    shut_down_ = true;
    if (txn_timer_) txn_timer_->cancel();
    cluster_->close();
    linger_timer_.cancel();
    expiry_timer_.cancel();
}

bool producer_impl::fail_unsent(std::error_code ec, bool in_flight_too) {
    bool sequenced = false;
    for (auto& [name, t] : topics_) {
        for (auto& o : t->waiting) {
            if (o.cancelled) continue;
            memory_used_ -= std::min<std::uint64_t>(memory_used_, o.memory);
            o.memory = 0;
            record_done r{std::move(o.handler), o.timestamp, o.generation};
            complete(r, ec, {});
        }
        t->waiting.clear();
        for (auto& p : t->partitions) {
            if (p.open) {
                p.builder.abort();
                complete_batch(*p.open, ec, p, -1, -1);
                p.open.reset();
            }
            for (auto& b : p.queue.sealed()) {
                sequenced = sequenced || b->base_sequence >= 0;
                complete_batch(*b, ec, p, -1, -1);
            }
            p.queue.sealed().clear();
            if (!in_flight_too) continue;
            for (auto& b : p.queue.in_flight()) complete_batch(*b, ec, p, -1, -1);
            p.queue.in_flight().clear();
        }
    }
    for (auto& [o, name] : memory_waiters_) {
        if (o.cancelled) continue;
        record_done r{std::move(o.handler), o.timestamp, o.generation};
        complete(r, ec, {});
    }
    memory_waiters_.clear();
    return sequenced;
}

void producer_impl::abort(std::error_code ec) {
    closed_ = true;
    aborted_ = true;
    shut_down_ = true;
    linger_timer_.cancel();
    expiry_timer_.cancel();
    fail_unsent(ec, true);
    for (auto& w : flush_waiters_) {
        if (w.timer) w.timer->cancel();
        w.done(ec);
    }
    flush_waiters_.clear();
    // A transactional call waiting (init, commit, abort, offsets) completes too, exactly once.
    if (txn_timer_) txn_timer_->cancel();
    auto txn_waiters = std::move(txn_waiters_);
    txn_waiters_.clear();
    for (auto& w : txn_waiters) w(ec);
    // Batches being compressed were failed above; their results are dropped, and no worker
    // posts to our executor from now on.
    if (compression_) compression_->close();
    cluster_->close();
}

}  // namespace kwire::client::detail

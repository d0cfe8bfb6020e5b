// Accumulating: records into per-partition batches (partitioning, batch.size, linger, sealing,
// compression offload, buffer.memory), topic metadata and auto-creation; and the public
// kwire::producer object. A record's end (completion, expiry, flush, close) is in delivery.cpp.
#include "producer/producer_impl.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <functional>
#include <utility>

namespace kwire::client::detail {

namespace {

std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<std::vector<std::uint8_t>> copy(const std::optional<protocol::bytes_view>& v) {
    if (!v) return std::nullopt;
    return std::vector<std::uint8_t>(v->begin(), v->end());
}

std::optional<protocol::bytes_view> view(const std::optional<std::vector<std::uint8_t>>& v) {
    if (!v) return std::nullopt;
    return protocol::bytes_view(v->data(), v->size());
}

bool is_retriable_creation_error(std::error_code ec) noexcept {
    if (ec.category() == kafka_category()) return is_retriable(static_cast<std::int16_t>(ec.value())) ||
                                                  ec == kafka_errc::not_controller;
    return ec == client_errc::connection_closed || ec == client_errc::request_timed_out ||
           ec == client_errc::no_brokers;
}

}  // namespace

producer_impl::producer_impl(net::any_io_executor ex, producer_config cfg)
    : ex_(ex),
      cfg_(std::move(cfg)),
      cluster_(std::make_shared<cluster>(ex, cfg_)),
      linger_timer_(ex),
      expiry_timer_(ex),
      compresses_elsewhere_(cfg_.compression_executor && cfg_.compression != codec::compression::none) {
    if (auto* registry = cluster_->observe().metrics())
        meters_ = std::make_unique<producer_meters>(*registry, cfg_.client_id);
    cluster_->push_metrics("producer");  // KIP-714 (enable.metrics.push)
    if (cfg_.transactional())
        txn_ = std::make_unique<transaction_machine>(
            transaction_machine::options{cfg_.transactional_id, cfg_.transaction_timeout});
}

producer_impl::~producer_impl() = default;

topic_state* producer_impl::topic(std::string_view name, std::optional<bool> autoflush) {
    auto it = topics_.find(name);
    if (it == topics_.end()) {
        auto t = std::make_unique<topic_state>();
        t->name = std::string(name);
        t->linger = cfg_.linger;
        it = topics_.emplace(t->name, std::move(t)).first;
    }
    if (autoflush) it->second->linger = *autoflush ? std::chrono::milliseconds(0) : cfg_.linger;
    return it->second.get();
}

void producer_impl::send(const record& r, send_handler h, topic_state* t) {
    const auto gen = generation_;
    ++outstanding_[gen];
    ++records_pending_;
    if (meters_) meters_->queued.set(records_pending_);  // one writer: a store, no atomic add
    // Cancellation (see producer::send): only a send whose handler has a connected slot gets an
    // id and a canceller; a plain send pays one check.
    std::uint64_t cancel_id = 0;
    if (net::get_associated_cancellation_slot(h).is_connected()) {
        cancel_id = ++next_cancel_id_;
        on_cancel(h, undone, [weak = weak_from_this(), cancel_id] {
            if (auto self = weak.lock()) self->cancel_send(cancel_id);
        });
    }
    record_done done{std::move(h), 0, gen};
    if (closed_) return fail_now(done, make_error_code(client_errc::closed));
    if (txn_)
        if (auto ec = txn_->check_send()) return fail_now(done, ec);  // no transaction open, or it failed
    if (!t) t = topic(r.topic);

    const auto memory = codec::batch_builder::max_record_size(r.key, r.value, r.headers);
    if (memory + codec::batch_v2::header_size > cfg_.max_request_size)
        return fail_now(done, make_error_code(client_errc::record_too_large));
    const auto timestamp = r.timestamp.value_or(wall_clock_ms());

    // Note: any_completion_handler is only ever move-constructed here, never move-assigned:
    // Boost 1.81's move assignment copies from an lvalue and wraps the handler in itself forever.
    auto park = [&](std::deque<owned_record>& into) {
        std::vector<std::pair<std::string, std::optional<std::vector<std::uint8_t>>>> headers;
        for (const auto& hv : r.headers) headers.emplace_back(std::string(hv.key), copy(hv.value));
        into.push_back(owned_record{copy(r.key), copy(r.value), std::move(headers), r.partition, timestamp,
                                    clock::now() + cfg_.delivery_timeout, std::move(done.handler), gen, memory,
                                    cancel_id});
        arm_expiry_timer();
    };

    if (memory_used_ + memory > cfg_.buffer_memory) {
        if (cfg_.on_buffer_full == buffer_full_policy::fail)
            return fail_now(done, make_error_code(client_errc::buffer_full));
        std::deque<owned_record> one;
        park(one);
        memory_waiters_.emplace_back(std::move(one.front()), t->name);
        return;
    }
    memory_used_ += memory;
    meter_memory();

    if (t->partitions.empty()) {
        park(t->waiting);
        list_waiting(*t);
        request_metadata(*t);
        return;
    }
    std::error_code ec;
    const auto partition = choose_partition(*t, r.partition, r.key, ec);
    if (!partition) {
        memory_used_ -= memory;
        return fail_now(done, ec);
    }
    // Inside send(): whatever completes on this path is posted, never invoked here, and an idle
    // producer may write the record at once (drain_soon).
    const bool was_initiating = std::exchange(initiating_, true);
    append(*t, *partition, r.key, r.value, r.headers, timestamp, std::move(done.handler), gen, std::nullopt, memory,
           cancel_id);
    initiating_ = was_initiating;
}

std::optional<std::int32_t> producer_impl::choose_partition(topic_state& t,
                                                            const std::optional<std::int32_t>& explicit_partition,
                                                            const std::optional<protocol::bytes_view>& key,
                                                            std::error_code& ec) {
    const auto n = static_cast<std::int32_t>(t.partitions.size());
    std::int32_t p = 0;
    if (explicit_partition) {
        p = *explicit_partition;
    } else if (cfg_.partitioner) {
        std::optional<std::span<const std::uint8_t>> k;
        if (key) k = key->span();
        p = cfg_.partitioner(t.name, k, n);
    } else if (key) {
        p = murmur2_partition(key->span(), n);
    } else {
        p = t.sticky.current(n);
    }
    if (p < 0 || p >= n) {
        ec = make_error_code(client_errc::invalid_partition);
        return std::nullopt;
    }
    return p;
}

void producer_impl::append(topic_state& t, std::int32_t partition, std::optional<protocol::bytes_view> key,
                           std::optional<protocol::bytes_view> value, std::span<const codec::header_view> headers,
                           std::int64_t timestamp, send_handler h, std::uint64_t generation,
                           std::optional<clock::time_point> deadline, std::size_t memory, std::uint64_t cancel_id) {
    auto& p = t.partitions[static_cast<std::size_t>(partition)];
    if (txn_ && p.txn_seen != txn_->transaction_number()) {
        // The partition's first record in this transaction: it joins it (v1: AddPartitionsToTxn
        // first; v2: Produce adds it). Once per partition and transaction, not per record.
        p.txn_seen = txn_->transaction_number();
        txn_->add_partition({t.name, partition});
        if (txn_->v2()) p.txn_sendable = p.txn_seen;
        else txn_pump();
    }
    if (p.open && !p.open->records.empty() && p.builder.size_bytes() + memory > cfg_.batch_size) {
        seal(t, p);
        mark_ready(p);
        schedule_drain();
    }
    if (!p.open) {
        // delivery.timeout.ms runs from the batch's first record: the clock is read once per
        // batch, not per record (a parked record brings the deadline it got when it was sent).
        const auto now = clock::now();
        p.open = std::make_unique<produce_batch>();
        p.open->deadline = deadline.value_or(now + cfg_.delivery_timeout);
        p.open->opened = now;
        // A buffer an answered batch left behind, capacity intact: no regrowth while filling.
        p.open->bytes = take_buffer(spare_records_);
        p.open->bytes.reserve(std::min<std::size_t>(cfg_.batch_size + 1024, std::max<std::size_t>(4096, memory * 16)));
        codec::batch_options opts;
        opts.codec = cfg_.compression;
        opts.compression_level = cfg_.compression_level;
        opts.defer_compression = compresses_elsewhere();  // then records go in uncompressed
        opts.transactional = txn_ != nullptr;
        p.builder.begin(p.open->bytes, opts);
        p.linger_until = now + t.linger;
        if (t.linger.count() > 0) wake_at(p, p.linger_until);
        watch_deadline(p, p.open->deadline);
    }
    if (auto ec = p.builder.append(timestamp, key, value, headers)) {
        memory_used_ -= memory;
        record_done r{std::move(h), timestamp, generation};
        return complete(r, ec, {}), void();
    }
    p.open->records.push_back({std::move(h), timestamp, generation});
    p.open->memory += memory;
    p.last_cancel_id = cancel_id;
    p.last_memory = memory;
    if (p.builder.size_bytes() >= cfg_.batch_size) {
        seal(t, p);
        mark_ready(p);
        schedule_drain();
    } else if (t.linger.count() == 0 || (!flush_waiters_.empty() && flush_pending_for(generation))) {
        // No linger, or a flush waits for this record (it was parked before the flush): go now.
        // Its sink seals the batch when it drains, so sends until then share it.
        mark_ready(p);
        drain_soon();
    }
}

void producer_impl::seal(topic_state& t, partition_state& p) {
    if (!p.open) return;
    p.last_cancel_id = 0;  // sealed: its records complete with their real outcome
    auto& b = *p.open;
    // Number the batch before finishing it, so its CRC is computed once, over the final header.
    const bool numbered = cfg_.idempotent() && producer_id_ >= 0;
    b.producer_id = numbered ? producer_id_ : -1;
    b.producer_epoch = numbered ? producer_epoch_ : std::int16_t{-1};
    b.base_sequence = numbered ? p.queue.next_sequence() : -1;
    p.builder.set_producer_state(b.producer_id, b.producer_epoch, b.base_sequence, txn_ != nullptr);
    if (meters_ && cfg_.compression != codec::compression::none) b.uncompressed = p.builder.size_bytes();
    if (auto ec = p.builder.finish()) {
        auto failed = std::move(p.open);
        complete_batch(*failed, ec, p, -1, -1);
        return;
    }
    b.compressing = compresses_elsewhere();
    p.queue.push_sealed(std::move(p.open), numbered ? producer_id_ : -1, producer_epoch_);
    if (b.compressing) start_compression(p, b);
    const auto n = static_cast<std::int32_t>(t.partitions.size());
    if (t.sticky.current(n) == p.id) t.sticky.batch_completed(n);
}

void produce_batch::set_producer_state(std::int64_t pid, std::int16_t epoch, std::int32_t seq) {
    if (pid == producer_id && epoch == producer_epoch && seq == base_sequence) return;
    producer_id = pid;
    producer_epoch = epoch;
    base_sequence = seq;
    if (!compressing) codec::set_batch_producer_state(bytes, pid, epoch, seq);
}

void producer_impl::start_compression(partition_state& p, produce_batch& b) {
    if (!compression_) {
        // Results come back on our executor; a producer already gone gets none (the offload is
        // closed when it is aborted or destroyed, and the weak pointer covers the rest).
        compression_ = std::make_unique<batch_compression>(
            cfg_.compression_executor, ex_, [weak = weak_from_this()](batch_compression::job& j) {
                if (auto self = weak.lock()) self->on_compressed(j);
            });
    }
    // The job owns the uncompressed batch: if the batch is failed or expires meanwhile, the
    // worker still reads memory of its own.
    auto job = std::make_shared<batch_compression::job>();
    job->key = {&p, b.order};
    job->input = std::move(b.bytes);
    job->output = take_buffer(spare_wire_);
    job->level = cfg_.compression_level;
    compression_->submit(std::move(job));
}

void producer_impl::on_compressed(batch_compression::job& j) {
    give_buffer(spare_records_, std::move(j.input), spare_records_kept);
    if (aborted_) return;
    auto& p = *j.key.partition;
    auto* b = p.queue.find_sealed(j.key.order);
    if (!b || !b->compressing) return;  // expired or failed meanwhile: its records are reported
    if (j.ec) {
        // It can never be sent: its records fail, and its sequence numbers leave a gap.
        if (cfg_.idempotent() && b->base_sequence >= 0) bump_needed_ = true;
        auto owned = p.queue.take_sealed(b);
        complete_batch(*owned, j.ec, p, -1, -1);
        check_flushes();
        mark_ready(p);
        schedule_drain();
        return;
    }
    // The header takes the producer state now: an epoch bump may have renumbered the batch
    // while it was away.
    b->bytes = std::move(j.output);
    b->compressing = false;
    codec::set_batch_producer_state(b->bytes, b->producer_id, b->producer_epoch, b->base_sequence);
    mark_ready(p);
    schedule_drain();
}

std::vector<std::uint8_t> producer_impl::take_buffer(buffer_pool& pool) {
    if (pool.empty()) return {};
    auto buffer = std::move(pool.back());
    pool.pop_back();
    buffer.clear();
    return buffer;
}

void producer_impl::give_buffer(buffer_pool& pool, std::vector<std::uint8_t>&& buffer, std::size_t keep) {
    if (pool.size() < keep && buffer.capacity() > 0) pool.push_back(std::move(buffer));
}

void producer_impl::request_metadata(topic_state& t) {
    if (t.metadata_requested || shut_down_) return;
    t.metadata_requested = true;
    auto self = shared_from_this();
    cluster_->refresh({t.name}, [self, tp = &t](std::error_code ec) { self->on_metadata(*tp, ec); });
}

void producer_impl::on_metadata(topic_state& t, std::error_code ec) {
    t.metadata_requested = false;
    const auto* info = cluster_->topic(t.name);
    if (!ec && info && info->error == 0 && !info->partitions.empty()) {
        // Partitions only ever grow; existing partition_state (and pointers to it) stay put.
        while (t.partitions.size() < info->partitions.size()) {
            auto& p = t.partitions.emplace_back();
            p.id = static_cast<std::int32_t>(t.partitions.size() - 1);
            p.topic = &t;
            if (meters_) p.meters = std::make_unique<partition_send_meters>(meters_->registry, cfg_.client_id, t.name, p.id);
            route(p, info);
        }
        t.last_error = {};
        release_waiting(t);
        schedule_drain();
        return;
    }
    t.last_error = ec ? ec : (info ? kafka_error(info->error) : make_error_code(kafka_errc::unknown_topic_or_partition));
    if (t.last_error == kafka_errc::unknown_topic_or_partition && cfg_.allow_auto_create_topics) create_topic(t);
    t.next_metadata = clock::now() + cfg_.retry_backoff;
    arm_expiry_timer();  // its tick asks again after the backoff while records wait
}

void producer_impl::create_topic(topic_state& t) {
    if (t.creating || t.creation_failed || shut_down_) return;
    t.creating = true;
    cluster_->create_topic(t.name, cfg_.topic_creation_partitions, cfg_.topic_creation_replication_factor,
                           [self = shared_from_this(), tp = &t](std::error_code ec) {
                               tp->creating = false;
                               if (!ec) return self->request_metadata(*tp);
                               // NOT_CONTROLLER, a lost connection: the next metadata round tries
                               // again. Anything else (no CreateTopics, a policy, no permission):
                               // the records fail as for any missing topic, at their timeout.
                               if (!is_retriable_creation_error(ec)) tp->creation_failed = true;
                           });
}

void producer_impl::release_waiting(topic_state& t) {
    auto waiting = std::move(t.waiting);
    t.waiting.clear();
    for (auto& o : waiting) append_parked(t, std::move(o));
    check_flushes();
}

void producer_impl::append_parked(topic_state& t, owned_record o) {
    if (o.cancelled) return;  // completed already (its memory and flush count went then)
    // Its buffer.memory is already charged; it goes where a fresh send would.
    if (t.partitions.empty()) {
        t.waiting.push_back(std::move(o));
        list_waiting(t);
        request_metadata(t);
        return;
    }
    std::error_code ec;
    const auto partition = choose_partition(t, o.partition, view(o.key), ec);
    if (!partition) {
        memory_used_ -= o.memory;
        record_done r{std::move(o.handler), o.timestamp, o.generation};
        return complete(r, ec, {});
    }
    std::vector<codec::header_view> headers;
    for (const auto& [k, v] : o.headers) headers.push_back({k, view(v)});
    append(t, *partition, view(o.key), view(o.value), headers, o.timestamp, std::move(o.handler), o.generation,
           o.deadline, o.memory, o.cancel_id);
}

void producer_impl::schedule_drain() {
    if (drain_scheduled_) return;
    drain_scheduled_ = true;
    // A drain that ran in the meantime (after a response, or at once in send()) took care of it.
    net::post(ex_, [self = shared_from_this()] {
        if (self->drain_scheduled_) self->drain();
    });
}

void producer_impl::drain_soon() {
    // At once only for a send() on an idle producer: no turn of the executor between send() and
    // the write. Anywhere else -- a record released from waiting (metadata, buffer memory), a
    // send handler or a drain up the stack -- producer state may be mid-walk: leave it to the
    // drain that follows (on_produce_response ends with one). With requests in flight, the next
    // response drains soon enough, and whatever is sent meanwhile shares that request.
    if (!initiating_ || draining_ || in_callbacks_ > 0 || requests_in_flight_ > 0 || shut_down_)
        return schedule_drain();
    drain();  // a completion reached on this path (a closed connection) is posted: initiating_
}

void producer_impl::wake_at(partition_state& p, clock::time_point at) {
    wakeups_.push_back({at, &p});
    std::push_heap(wakeups_.begin(), wakeups_.end(), std::greater<>{});
    if (at < linger_armed_for_) arm_linger_timer();
}

void producer_impl::arm_linger_timer() {
    // The earliest moment something becomes sendable: the first entry of the heap (a linger
    // ending, or a retry backoff). Entries whose batch went meanwhile are skipped when due.
    if (wakeups_.empty() || shut_down_) return;
    const auto next = wakeups_.front().at;
    if (next >= linger_armed_for_) return;
    linger_armed_for_ = next;
    linger_timer_.expires_at(next);
    linger_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        if (ec) return;
        self->linger_armed_for_ = clock::time_point::max();
        self->on_linger_timer();
    });
}

void producer_impl::on_linger_timer() {
    // Only the partitions that are due: their sinks are woken, nothing else is looked at.
    const auto now = clock::now();
    while (!wakeups_.empty() && wakeups_.front().at <= now) {
        std::pop_heap(wakeups_.begin(), wakeups_.end(), std::greater<>{});
        auto& p = *wakeups_.back().partition;
        wakeups_.pop_back();
        const bool lingered = p.open && p.linger_until <= now;
        const bool backed_off = !p.queue.sealed().empty() && p.queue.backoff_until() <= now;
        if (lingered || backed_off) mark_ready(p);
    }
    drain();  // arms the timer for the next entry
}

// --- the public producer --------------------------------------------------------------------

void start_send(const std::shared_ptr<producer_impl>& impl, const record& r, send_handler h, topic_state* topic) {
    impl->send(r, std::move(h), topic);
}

void start_flush(const std::shared_ptr<producer_impl>& impl, std::optional<std::chrono::milliseconds> timeout,
                 flush_handler h) {
    impl->flush(timeout, std::move(h));
}

void start_close(const std::shared_ptr<producer_impl>& impl, flush_handler h) { impl->close(std::move(h)); }

topic_state* find_topic(const std::shared_ptr<producer_impl>& impl, std::string_view topic, bool autoflush) {
    return impl->topic(topic, autoflush);
}

}  // namespace kwire::client::detail

namespace kwire {

producer::producer(executor_type ex, producer_config cfg) : ex_(ex) {
    if (cfg.bootstrap_servers.empty())
        throw std::system_error(make_error_code(client::client_errc::invalid_config), "bootstrap.servers is empty");
    if (std::string what; auto ec = client::validate(cfg, &what)) throw std::system_error(ec, what);
    impl_ = std::make_shared<client::detail::producer_impl>(ex, std::move(cfg));
    impl_->start_statistics();  // it needs the impl's weak_from_this: not from its constructor
}

producer::~producer() {
    if (impl_) impl_->abort(client::detail::operation_aborted());
}

const producer_config& producer::config() const noexcept { return impl_->config(); }

}  // namespace kwire

// The consumer's application side: assign/subscribe, poll, acknowledgements, seek, pause, close,
// and revocation (the membership's host); and the public kwire::consumer object. See
// consumer_impl.hpp for the parts it wires together, consumer_core.hpp for a partition's life.
#include "consumer/consumer_impl.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <set>

namespace kwire::client::detail {

std::shared_ptr<consumer_impl> consumer_impl::create(net::any_io_executor ex, consumer_config cfg) {
    auto impl = std::make_shared<consumer_impl>(ex, std::move(cfg));
    impl->core_.anchor = impl;
    impl->core_.brokers->start_statistics(
        "consumer", [weak = std::weak_ptr<consumer_impl>(impl)](statistics_document& doc) {
            if (const auto self = weak.lock(); self && !self->core_.closed) self->write_statistics(doc);
        });
    return impl;
}

consumer_impl::consumer_impl(net::any_io_executor ex, consumer_config cfg)
    : core_(ex, std::move(cfg)),
      fetcher_(core_, [this](std::vector<std::uint32_t> slots) { start_offsets_.list_offsets(std::move(slots)); }),
      start_offsets_(core_, coordinator_,
                     [this] {
                         fetcher_.schedule();
                         try_complete_poll();
                     }),
      coordinator_(core_),
      membership_(make_membership(core_, coordinator_, *this)),
      committer_(core_, coordinator_, *membership_),
      poll_timer_(ex),
      poll_interval_timer_(ex),
      topic_check_timer_(ex) {
    core_.wake_poll = [this] { try_complete_poll(); };
}

consumer_impl::~consumer_impl() = default;

void consumer_impl::write_statistics(statistics_document& doc) const {
    const group_view group{.subscribed = core_.subscribed,
                           .coordinator_known = coordinator_.node() >= 0,
                           .join_state = membership_->join_state(),
                           .rebalances = rebalances_,
                           .last_rebalance = last_rebalance_};
    write_consumer_statistics(doc, core_, group);
}

// --- slots -----------------------------------------------------------------------------------

void consumer_impl::drop_buffered(partition_slot& s) {
    // Records the last poll handed out stay valid until the next poll, even when their partition
    // is revoked or sought meanwhile: a chunk they point into is retired (freed at the next
    // poll), not dropped (a rebalance between poll and the records' use freed them: ASan in
    // ConsumeTransformProduce.ExactlyOnceAcrossKillsAndRebalances).
    if (!s.buffered.empty() && s.buffered.front().next > 0) {
        retired_.push_back(std::move(s.buffered.front()));
        s.buffered.pop_front();
    }
    fetcher_.drop_buffered(s);
}

void consumer_impl::add_partition(const topic_partition& tp, std::int64_t start) {
    const auto& cfg = core_.cfg;
    auto& s = core_.slots[core_.slots.slot_for(tp.topic, tp.partition)];
    drop_buffered(s);
    if (core_.meters) {
        if (!s.meters) s.meters = std::make_unique<partition_meters>(core_.meters->registry, cfg.client_id, tp.topic, tp.partition);
        if (!s.assigned) core_.meters->assigned.add(1);
    }
    s.assigned = true;
    s.paused = false;
    ++s.incarnation;
    ++s.ownership;
    s.committed = -1;
    s.high_watermark = -1;
    s.not_before = {};
    if (start >= 0) {
        s.state = partition_slot::start::ready;
        s.fetch_offset = start;
        s.tracker.reset(start);
    } else if (start == offset::committed && !cfg.group_id.empty()) {
        s.state = partition_slot::start::committed;
    } else {
        s.state = partition_slot::start::reset;
        s.reset_to = start == offset::committed
                         ? (cfg.auto_offset_reset == offset_reset::earliest ? offset::beginning : offset::end)
                         : start;
        if (start == offset::committed && cfg.auto_offset_reset == offset_reset::none)
            core_.deferred_error = make_error_code(kafka_errc::offset_out_of_range);
    }
}

void consumer_impl::remove_partition(const topic_partition& tp) {
    auto* s = core_.slots.find(tp);
    if (!s) return;
    drop_buffered(*s);
    if (core_.meters && s->assigned) core_.meters->assigned.add(-1);
    s->assigned = false;
    ++s->incarnation;
    ++s->ownership;
}

// --- the membership's host -------------------------------------------------------------------

void consumer_impl::take(const std::vector<topic_partition>& added, bool notify_empty) {
    note_rebalance();
    for (const auto& tp : added) add_partition(tp, offset::committed);
    rebalance_ended(core_, added, membership_->identity().generation);
    if (listener_.assigned && (notify_empty || !added.empty())) listener_.assigned(added);
    start_offsets_.resolve();
    fetcher_.schedule();
}

void consumer_impl::revoke(const std::vector<topic_partition>& tps, bool lost, std::function<void()> then) {
    // A revocation ends the ownerships it began with, and only those. Its commit may take long
    // (retried through coordinator moves); meanwhile the partitions can be lost and assigned to
    // this consumer again -- a fenced KIP-848 member rejoins and may get them back at its new
    // epoch. Removing them when the old commit finally completes would leave the new owner
    // (this consumer, as far as the coordinator knows) never fetching them again.
    note_rebalance();
    std::vector<std::pair<topic_partition, std::uint32_t>> ownerships;
    for (const auto& tp : tps)
        if (const auto* s = core_.slots.find(tp); s && s->assigned) ownerships.emplace_back(tp, s->ownership);
    auto finish = [this, keep = core_.keep(), ownerships = std::move(ownerships), lost,
                   then = std::move(then)](std::error_code) {
        std::vector<topic_partition> ended;
        for (const auto& [tp, ownership] : ownerships)
            if (const auto* s = core_.slots.find(tp); s && s->assigned && s->ownership == ownership) {
                remove_partition(tp);
                ended.push_back(tp);
            }
        committer_.complete_ack_waiters({});
        log_revoked(core_, ended, lost);
        if (ended.empty()) {
            // Lost meanwhile: the listener heard about them then.
        } else if (lost) {
            if (listener_.lost) listener_.lost(ended);
        } else if (listener_.revoked) {
            listener_.revoked(ended);
        }
        then();
    };
    if (lost) return finish({});
    // Every policy commits what is marked before the partitions go.
    committer_.commit_marked_then(std::move(finish));
}

// --- application calls -----------------------------------------------------------------------

void consumer_impl::assign(std::vector<partition_offset> partitions) {
    if (core_.subscribed) throw std::system_error(make_error_code(client_errc::invalid_config), "assign() after subscribe()");
    std::set<topic_partition> wanted;
    for (const auto& p : partitions) wanted.insert({p.topic, p.partition});
    for (const auto& tp : owned())
        if (!wanted.count(tp)) remove_partition(tp);
    for (const auto& p : partitions) add_partition({p.topic, p.partition}, p.offset);
    std::vector<std::string> topics;
    for (const auto& p : partitions)
        if (std::find(topics.begin(), topics.end(), p.topic) == topics.end()) topics.push_back(p.topic);
    core_.brokers->refresh(topics, [this, keep = core_.keep()](std::error_code) { start_offsets_.resolve(); });
    committer_.arm_timer();
    if (!core_.cfg.allow_auto_create_topics)
        check_topics_exist(std::move(topics), clock::now() + core_.cfg.default_api_timeout);
}

void consumer_impl::check_topics_exist(std::vector<std::string> topics, clock::time_point deadline) {
    // Nothing will create a missing topic: after default.api.timeout.ms of fresh metadata
    // saying it does not exist, poll() reports it instead of waiting forever.
    core_.brokers->refresh(topics, [this, keep = core_.keep(), topics, deadline](std::error_code) {
        if (core_.closed) return;
        const bool missing = std::any_of(topics.begin(), topics.end(), [&](const std::string& t) {
            const auto* info = core_.brokers->topic(t);
            return !info || to_kafka_errc(info->error) == kafka_errc::unknown_topic_or_partition ||
                   info->partitions.empty();
        });
        if (!missing) return;
        if (clock::now() >= deadline) {
            core_.deferred_error = make_error_code(kafka_errc::unknown_topic_or_partition);
            return try_complete_poll();
        }
        topic_check_timer_.expires_after(
            std::min<clock::duration>(std::chrono::milliseconds(500), deadline - clock::now()));
        topic_check_timer_.async_wait([this, keep, topics, deadline](std::error_code ec) {
            if (!ec) check_topics_exist(topics, deadline);
        });
    });
}

void consumer_impl::subscribe(std::vector<std::string> topics, rebalance_listener listener) {
    if (core_.cfg.group_id.empty())
        throw std::system_error(make_error_code(client_errc::invalid_config), "subscribe() needs group.id");
    core_.subscribed = true;
    topics_ = std::move(topics);
    listener_ = std::move(listener);
    core_.brokers->refresh(topics_, [keep = core_.keep()](std::error_code) {});
    committer_.arm_timer();
    membership_->subscribe(topics_);
    if (!core_.cfg.allow_auto_create_topics) check_topics_exist(topics_, clock::now() + core_.cfg.default_api_timeout);
}

void consumer_impl::poll(std::optional<std::chrono::milliseconds> timeout, poll_handler h) {
    if (pending_poll_)
        return complete_posted(core_.ex, std::move(h), api_error(make_error_code(std::errc::operation_in_progress)),
                               record_batch{});
    if (core_.closed)
        return complete_posted(core_.ex, std::move(h), boost::system::error_code(client_errc::closed), record_batch{});

    // The previous poll's records: under on_poll they count as acknowledged now; their memory
    // may go now (the application's views end here).
    committer_.on_poll(handed_out_);
    handed_out_.clear();
    for (auto& c : retired_) fetcher_.recycle(c);
    retired_.clear();

    // Cancellation hands out nothing: records stay buffered for the next poll (see consumer::poll).
    const auto id = ++poll_id_;
    on_cancel(h, undone, [weak = weak_from_this(), id] {
        if (auto self = weak.lock()) self->cancel_poll(id);
    });
    pending_poll_.emplace(std::move(h));
    arm_poll_interval_timer();
    if (timeout) {
        poll_timer_.expires_after(*timeout);
        std::weak_ptr<consumer_impl> weak = shared_from_this();
        poll_timer_.async_wait([weak](std::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || !self->pending_poll_) return;
            self->finish_poll({});
        });
    }
    membership_->on_poll();
    net::post(core_.ex, [this, keep = core_.keep()] { try_complete_poll(); });
    fetcher_.schedule();
}

void consumer_impl::try_complete_poll() {
    if (!pending_poll_) return;
    if (core_.fatal) return finish_poll(core_.fatal);
    if (core_.deferred_error) {
        const auto ec = core_.deferred_error;
        core_.deferred_error = {};
        return finish_poll(ec);
    }
    // Round robin over the partitions with records, up to max.poll.records.
    const auto n = core_.slots.size();
    const auto limit = core_.cfg.max_poll_records == 0 ? static_cast<std::size_t>(-1) : core_.cfg.max_poll_records;
    bool any = false;
    for (std::uint32_t k = 0; k < n && handed_out_.size() < limit; ++k) {
        const auto index = (poll_cursor_ + k) % n;
        auto& s = core_.slots[index];
        if (!s.assigned || s.paused) continue;
        const auto first = handed_out_.size();
        std::uint64_t bytes = 0;
        while (!s.buffered.empty() && handed_out_.size() < limit) {
            auto& c = s.buffered.front();
            while (c.next < c.records.size() && handed_out_.size() < limit) {
                auto& r = c.records[c.next++];
                r.owner_ = this;
                r.slot_ = index;
                r.incarnation_ = s.incarnation;
                s.tracker.fetched(r.offset);
                bytes += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
                handed_out_.push_back(r);
                any = true;
            }
            if (c.next < c.records.size()) break;
            // Offsets the chunk covered without records (control batches, aborted
            // transactions, compacted gaps) need no acknowledgement.
            s.tracker.fetched_up_to(c.end_offset);
            retired_.push_back(std::move(c));
            s.buffered.pop_front();
            committer_.on_acked(s);  // the committable offset may have moved past the gap
        }
        if (s.meters && handed_out_.size() > first) {
            s.meters->records.add(handed_out_.size() - first);
            s.meters->bytes.add(bytes);
            if (s.high_watermark >= 0) s.meters->lag.set(std::max<std::int64_t>(0, s.high_watermark - s.tracker.end()));
        }
    }
    if (n) poll_cursor_ = (poll_cursor_ + 1) % n;
    if (any) {
        finish_poll({});
        fetcher_.schedule();  // partitions whose buffers emptied can prefetch now
    }
}

void consumer_impl::finish_poll(std::error_code ec) {
    if (!pending_poll_) return;
    poll_timer_.cancel();
    poll_handler h(std::move(*pending_poll_));
    pending_poll_.reset();
    const record_batch batch(ec ? std::span<const consumer_record>{} : std::span<const consumer_record>(handed_out_));
    // Reached from a posted step, a timer or a response, never from poll() itself.
    complete_here(std::move(h), api_error(ec), batch);
}

void consumer_impl::cancel_poll(std::uint64_t id) {
    if (!pending_poll_ || id != poll_id_) return;
    poll_timer_.cancel();
    poll_handler h(std::move(*pending_poll_));
    pending_poll_.reset();
    // Inside the cancellation signal's emit: posted, never run here.
    complete_posted(core_.ex, std::move(h), operation_aborted(), record_batch{});
}

void consumer_impl::ack(std::uint32_t slot, std::uint32_t incarnation, std::int64_t offset) noexcept {
    if (slot >= core_.slots.size()) return;
    auto& s = core_.slots[slot];
    if (s.incarnation != incarnation || !s.assigned) return;
    s.tracker.ack(offset);
    committer_.on_acked(s);
}

void consumer_impl::ack_and_wait(const consumer_record& r, commit_handler h) {
    completion done(core_.ex, std::move(h), stop_waiting);
    if (r.owner_ != this || r.slot_ >= core_.slots.size()) return done(make_error_code(std::errc::invalid_argument));
    ack(r.slot_, r.incarnation_, r.offset);
    const auto& s = core_.slots[r.slot_];
    if (s.incarnation != r.incarnation_ || !s.assigned) return done(make_error_code(std::errc::operation_canceled));
    if (s.committed > r.offset) return done(std::error_code{});
    committer_.wait_for(r.slot_, r.incarnation_, r.offset, std::move(done));
}

void consumer_impl::seek(const topic_partition& tp, std::int64_t offset) {
    auto* s = core_.slots.find(tp);
    if (!s || !s->assigned) return;
    drop_buffered(*s);
    ++s->incarnation;
    if (offset >= 0) {
        s->state = partition_slot::start::ready;
        s->fetch_offset = offset;
        s->tracker.reset(offset);
    } else {
        s->state = offset == offset::committed ? partition_slot::start::committed : partition_slot::start::reset;
        s->reset_to = offset;
    }
    start_offsets_.resolve();
}

void consumer_impl::set_paused(const std::vector<topic_partition>& tps, bool paused) {
    for (const auto& tp : tps)
        if (auto* s = core_.slots.find(tp); s && s->assigned) s->paused = paused;
    if (!paused) {
        fetcher_.schedule();
        net::post(core_.ex, [this, keep = core_.keep()] { try_complete_poll(); });
    }
}

std::optional<std::int64_t> consumer_impl::position(const topic_partition& tp) const {
    const auto* s = core_.slots.find(tp);
    if (!s || !s->assigned || s->state != partition_slot::start::ready) return std::nullopt;
    for (const auto& c : s->buffered)
        if (c.next < c.records.size()) return c.records[c.next].offset;
    return s->buffered.empty() ? s->fetch_offset : s->buffered.back().end_offset;
}

std::optional<std::int64_t> consumer_impl::high_watermark(const topic_partition& tp) const {
    const auto* s = core_.slots.find(tp);
    if (!s || !s->assigned || s->high_watermark < 0) return std::nullopt;
    return s->high_watermark;
}

std::optional<std::int64_t> consumer_impl::committable(const topic_partition& tp) const {
    const auto* s = core_.slots.find(tp);
    if (!s || !s->assigned || s->state != partition_slot::start::ready) return std::nullopt;
    return s->tracker.committable();
}

void consumer_impl::arm_poll_interval_timer() {
    if (!core_.subscribed) return;
    poll_interval_timer_.expires_after(core_.cfg.max_poll_interval);
    poll_interval_timer_.async_wait([this, keep = core_.keep()](std::error_code ec) {
        if (ec || core_.closed || core_.closing || pending_poll_) return;
        // The application stopped polling: give the partitions to someone who will (as the Java
        // client does), and rejoin at the next poll.
        membership_->leave([this, keep] {
            membership_->expire();
            core_.deferred_error = make_error_code(client_errc::poll_interval_exceeded);
        });
    });
}

void consumer_impl::shutdown() {
    core_.closed = true;
    fetcher_.cancel();
    poll_timer_.cancel();
    poll_interval_timer_.cancel();
    topic_check_timer_.cancel();
    membership_->cancel();
    coordinator_.cancel();
    finish_poll(make_error_code(net::error::operation_aborted));
    committer_.cancel();
    core_.brokers->close();
}

void consumer_impl::close(commit_handler h) {
    std::function<void(std::error_code)> done = completion(core_.ex, std::move(h), stop_waiting);
    if (core_.closed || core_.closing) return done(make_error_code(client_errc::closed));
    core_.closing = true;
    auto leave_and_shut = [this, keep = core_.keep(), done](std::error_code ec) {
        membership_->leave([this, keep, done, ec] {
            fetcher_.close([this, keep, done, ec] {
                shutdown();
                done(ec);
            });
        });
    };
    const auto tps = owned();
    if (core_.cfg.group_id.empty()) {
        if (core_.subscribed && listener_.revoked && !tps.empty()) listener_.revoked(tps);
        return leave_and_shut({});
    }
    committer_.commit_marked_then([this, keep = core_.keep(), tps, leave_and_shut](std::error_code ec) {
        if (core_.subscribed && listener_.revoked && !tps.empty()) listener_.revoked(tps);
        leave_and_shut(ec);
    });
}

// --- the public object -----------------------------------------------------------------------

void start_poll(const std::shared_ptr<consumer_impl>& impl, std::optional<std::chrono::milliseconds> timeout,
                poll_handler h) {
    impl->poll(timeout, std::move(h));
}
void start_commit(const std::shared_ptr<consumer_impl>& impl, std::vector<partition_offset> offsets, bool all_marked,
                  commit_handler h) {
    impl->commit(std::move(offsets), all_marked, std::move(h));
}
void start_ack(const std::shared_ptr<consumer_impl>& impl, const consumer_record& r, commit_handler h) {
    impl->ack_and_wait(r, std::move(h));
}
void start_committed(const std::shared_ptr<consumer_impl>& impl, std::vector<topic_partition> tps,
                     committed_handler h) {
    impl->committed(std::move(tps), std::move(h));
}
void start_close(const std::shared_ptr<consumer_impl>& impl, commit_handler h) { impl->close(std::move(h)); }

client::consumer_group_metadata consumer_impl::group_metadata() const {
    client::consumer_group_metadata m;
    m.group_id = core_.cfg.group_id;
    if (!membership_) return m;
    const auto id = membership_->identity();
    m.generation_id = id.generation;
    m.member_id = id.member_id;
    m.group_instance_id = id.instance_id;
    return m;
}

}  // namespace kwire::client::detail

namespace kwire {

void consumer_record::ack() const noexcept {
    if (owner_) owner_->ack(slot_, incarnation_, offset);
}

consumer::consumer(executor_type ex, consumer_config cfg) : ex_(ex) {
    if (cfg.bootstrap_servers.empty())
        throw std::system_error(make_error_code(client::client_errc::invalid_config), "bootstrap.servers is empty");
    if (std::string what; auto ec = client::validate(cfg, &what)) throw std::system_error(ec, what);
    impl_ = client::detail::consumer_impl::create(ex, std::move(cfg));
}

consumer::~consumer() {
    if (impl_) impl_->shutdown();
}

const consumer_config& consumer::config() const noexcept { return impl_->config(); }
void consumer::subscribe(std::vector<std::string> topics, rebalance_listener listener) {
    impl_->subscribe(std::move(topics), std::move(listener));
}
void consumer::assign(std::vector<partition_offset> partitions) { impl_->assign(std::move(partitions)); }
void consumer::seek(const topic_partition& tp, std::int64_t offset) { impl_->seek(tp, offset); }
void consumer::pause(const std::vector<topic_partition>& tps) { impl_->set_paused(tps, true); }
void consumer::resume(const std::vector<topic_partition>& tps) { impl_->set_paused(tps, false); }
std::optional<std::int64_t> consumer::position(const topic_partition& tp) const { return impl_->position(tp); }
std::optional<std::int64_t> consumer::high_watermark(const topic_partition& tp) const {
    return impl_->high_watermark(tp);
}
std::optional<std::int64_t> consumer::committable(const topic_partition& tp) const { return impl_->committable(tp); }
std::vector<topic_partition> consumer::assignment() const { return impl_->assignment(); }
client::consumer_group_metadata consumer::group_metadata() const { return impl_->group_metadata(); }
std::uint64_t consumer::commits_sent() const noexcept { return impl_->commits_sent(); }

}  // namespace kwire

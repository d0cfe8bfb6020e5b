// The consumer's application side: partition slots, assign/subscribe, poll, acknowledgements,
// seek, pause, close; and the public kwire::consumer object. Fetching is in fetcher.cpp; see
// consumer_impl.hpp for the split and a partition's life.
#include "consumer/consumer_impl.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace kwire::client::detail {

consumer_impl::consumer_impl(net::any_io_executor ex, consumer_config cfg)
    : ex_(ex),
      cfg_(std::move(cfg)),
      cluster_(std::make_shared<cluster>(ex, static_cast<const connection_config&>(cfg_))),
      fetch_retry_timer_(ex),
      poll_timer_(ex),
      commit_timer_(ex),
      heartbeat_timer_(ex),
      rejoin_timer_(ex),
      poll_interval_timer_(ex),
      topic_check_timer_(ex),
      member_timer_(ex) {}

consumer_impl::~consumer_impl() = default;

// --- slots -----------------------------------------------------------------------------------

std::uint32_t consumer_impl::slot_for(const std::string& topic, std::int32_t partition) {
    const topic_partition tp{topic, partition};
    if (const auto it = slot_index_.find(tp); it != slot_index_.end()) return it->second;
    const auto index = static_cast<std::uint32_t>(slots_.size());
    auto s = std::make_unique<partition_slot>();
    s->topic = topic;
    s->partition = partition;
    slots_.push_back(std::move(s));
    slot_index_.emplace(tp, index);
    return index;
}

partition_slot* consumer_impl::find_slot(const topic_partition& tp) {
    const auto it = slot_index_.find(tp);
    return it == slot_index_.end() ? nullptr : slots_[it->second].get();
}

const partition_slot* consumer_impl::find_slot(const topic_partition& tp) const {
    const auto it = slot_index_.find(tp);
    return it == slot_index_.end() ? nullptr : slots_[it->second].get();
}

void consumer_impl::drop_buffered(partition_slot& s) {
    for (auto& c : s.buffered)
        for (auto& b : c.inflated) spare_buffers_.push_back(std::move(b));
    s.buffered.clear();
}

void consumer_impl::add_partition(const topic_partition& tp, std::int64_t start) {
    auto& s = *slots_[slot_for(tp.topic, tp.partition)];
    drop_buffered(s);
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
    } else if (start == offset::committed && !cfg_.group_id.empty()) {
        s.state = partition_slot::start::committed;
    } else {
        s.state = partition_slot::start::reset;
        s.reset_to = start == offset::committed
                         ? (cfg_.auto_offset_reset == offset_reset::earliest ? offset::beginning : offset::end)
                         : start;
        if (start == offset::committed && cfg_.auto_offset_reset == offset_reset::none)
            deferred_error_ = make_error_code(kafka_errc::offset_out_of_range);
    }
}

void consumer_impl::remove_partition(const topic_partition& tp) {
    auto* s = find_slot(tp);
    if (!s) return;
    drop_buffered(*s);
    s->assigned = false;
    ++s->incarnation;
    ++s->ownership;
}

std::vector<topic_partition> consumer_impl::owned() const {
    std::vector<topic_partition> out;
    for (const auto& s : slots_)
        if (s->assigned) out.push_back({s->topic, s->partition});
    return out;
}

std::vector<topic_partition> consumer_impl::assignment() const { return owned(); }

// --- application calls -----------------------------------------------------------------------

void consumer_impl::assign(std::vector<partition_offset> partitions) {
    if (subscribed_) throw std::system_error(make_error_code(client_errc::invalid_config), "assign() after subscribe()");
    std::set<topic_partition> wanted;
    for (const auto& p : partitions) wanted.insert({p.topic, p.partition});
    for (const auto& tp : owned())
        if (!wanted.count(tp)) remove_partition(tp);
    for (const auto& p : partitions) add_partition({p.topic, p.partition}, p.offset);
    std::vector<std::string> topics;
    for (const auto& p : partitions)
        if (std::find(topics.begin(), topics.end(), p.topic) == topics.end()) topics.push_back(p.topic);
    auto self = shared_from_this();
    cluster_->refresh(topics, [self](std::error_code) { self->resolve_offsets(); });
    arm_commit_timer();
    if (!cfg_.allow_auto_create_topics) check_topics_exist(std::move(topics), clock::now() + cfg_.default_api_timeout);
}

void consumer_impl::check_topics_exist(std::vector<std::string> topics, clock::time_point deadline) {
    // Nothing will create a missing topic: after default.api.timeout.ms of fresh metadata
    // saying it does not exist, poll() reports it instead of waiting forever.
    auto self = shared_from_this();
    cluster_->refresh(topics, [self, topics, deadline](std::error_code) {
        if (self->closed_) return;
        const bool missing = std::any_of(topics.begin(), topics.end(), [&](const std::string& t) {
            const auto* info = self->cluster_->topic(t);
            return !info || to_kafka_errc(info->error) == kafka_errc::unknown_topic_or_partition ||
                   info->partitions.empty();
        });
        if (!missing) return;
        if (clock::now() >= deadline) {
            self->deferred_error_ = make_error_code(kafka_errc::unknown_topic_or_partition);
            return self->try_complete_poll();
        }
        self->topic_check_timer_.expires_after(std::min<clock::duration>(std::chrono::milliseconds(500), deadline - clock::now()));
        self->topic_check_timer_.async_wait([self, topics, deadline](std::error_code ec) {
            if (!ec) self->check_topics_exist(topics, deadline);
        });
    });
}

void consumer_impl::subscribe(std::vector<std::string> topics, rebalance_listener listener) {
    if (cfg_.group_id.empty())
        throw std::system_error(make_error_code(client_errc::invalid_config), "subscribe() needs group.id");
    subscribed_ = true;
    topics_ = std::move(topics);
    listener_ = std::move(listener);
    auto self = shared_from_this();
    cluster_->refresh(topics_, [self](std::error_code) {});
    arm_commit_timer();
    request_rejoin();
    if (!cfg_.allow_auto_create_topics) check_topics_exist(topics_, clock::now() + cfg_.default_api_timeout);
}

void consumer_impl::poll(std::optional<std::chrono::milliseconds> timeout, poll_handler h) {
    if (pending_poll_)
        return complete_posted(ex_, std::move(h), api_error(make_error_code(std::errc::operation_in_progress)),
                               record_batch{});
    if (closed_) return complete_posted(ex_, std::move(h), boost::system::error_code(client_errc::closed), record_batch{});

    // The previous poll's records: under on_poll they count as acknowledged now; their memory
    // may go now (the application's views end here).
    if (cfg_.commit.k == commit_policy::kind::on_poll)
        for (const auto& r : handed_out_) r.ack();
    if (cfg_.commit.k == commit_policy::kind::on_poll && clock::now() - last_poll_commit_ >= cfg_.commit.every) {
        last_poll_commit_ = clock::now();
        commit_marked();
    }
    handed_out_.clear();
    for (auto& c : retired_)
        for (auto& b : c.inflated) spare_buffers_.push_back(std::move(b));
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
    if (rejoin_needed_ && !joining_) join_group();
    net::post(ex_, [self = shared_from_this()] { self->try_complete_poll(); });
    schedule_fetch();
}

void consumer_impl::try_complete_poll() {
    if (!pending_poll_) return;
    if (fatal_) return finish_poll(fatal_);
    if (deferred_error_) {
        const auto ec = deferred_error_;
        deferred_error_ = {};
        return finish_poll(ec);
    }
    // Round robin over the partitions with records, up to max.poll.records.
    const auto n = static_cast<std::uint32_t>(slots_.size());
    const auto limit = cfg_.max_poll_records == 0 ? static_cast<std::size_t>(-1) : cfg_.max_poll_records;
    bool any = false;
    for (std::uint32_t k = 0; k < n && handed_out_.size() < limit; ++k) {
        const auto index = (poll_cursor_ + k) % n;
        auto& s = *slots_[index];
        if (!s.assigned || s.paused) continue;
        while (!s.buffered.empty() && handed_out_.size() < limit) {
            auto& c = s.buffered.front();
            while (c.next < c.records.size() && handed_out_.size() < limit) {
                auto& r = c.records[c.next++];
                r.owner_ = this;
                r.slot_ = index;
                r.incarnation_ = s.incarnation;
                s.tracker.fetched(r.offset);
                handed_out_.push_back(r);
                any = true;
            }
            if (c.next < c.records.size()) break;
            // Offsets the chunk covered without records (control batches, aborted
            // transactions, compacted gaps) need no acknowledgement.
            s.tracker.fetched_up_to(c.end_offset);
            retired_.push_back(std::move(c));
            s.buffered.pop_front();
            on_acked(s);  // the committable offset may have moved past the gap
        }
    }
    if (n) poll_cursor_ = (poll_cursor_ + 1) % n;
    if (any) {
        finish_poll({});
        schedule_fetch();  // partitions whose buffers emptied can prefetch now
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
    complete_posted(ex_, std::move(h), operation_aborted(), record_batch{});
}

void consumer_impl::ack(std::uint32_t slot, std::uint32_t incarnation, std::int64_t offset) noexcept {
    if (slot >= slots_.size()) return;
    auto& s = *slots_[slot];
    if (s.incarnation != incarnation || !s.assigned) return;
    s.tracker.ack(offset);
    on_acked(s);
}

void consumer_impl::ack_and_wait(const consumer_record& r, commit_handler h) {
    completion done(ex_, std::move(h), stop_waiting);
    if (r.owner_ != this || r.slot_ >= slots_.size()) return done(make_error_code(std::errc::invalid_argument));
    ack(r.slot_, r.incarnation_, r.offset);
    auto& s = *slots_[r.slot_];
    if (s.incarnation != r.incarnation_ || !s.assigned) return done(make_error_code(std::errc::operation_canceled));
    if (s.committed > r.offset) return done(std::error_code{});
    ack_waiters_.push_back(ack_waiter{r.slot_, r.incarnation_, r.offset, std::move(done)});
    if (cfg_.group_id.empty())
        return complete_ack_waiters(make_error_code(client_errc::invalid_config));  // nowhere to commit
}

void consumer_impl::seek(const topic_partition& tp, std::int64_t offset) {
    auto* s = find_slot(tp);
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
    resolve_offsets();
}

void consumer_impl::set_paused(const std::vector<topic_partition>& tps, bool paused) {
    for (const auto& tp : tps)
        if (auto* s = find_slot(tp); s && s->assigned) s->paused = paused;
    if (!paused) {
        schedule_fetch();
        net::post(ex_, [self = shared_from_this()] { self->try_complete_poll(); });
    }
}

std::optional<std::int64_t> consumer_impl::position(const topic_partition& tp) const {
    const auto* s = find_slot(tp);
    if (!s || !s->assigned || s->state != partition_slot::start::ready) return std::nullopt;
    for (const auto& c : s->buffered)
        if (c.next < c.records.size()) return c.records[c.next].offset;
    return s->buffered.empty() ? s->fetch_offset : s->buffered.back().end_offset;
}

std::optional<std::int64_t> consumer_impl::high_watermark(const topic_partition& tp) const {
    const auto* s = find_slot(tp);
    if (!s || !s->assigned || s->high_watermark < 0) return std::nullopt;
    return s->high_watermark;
}

std::optional<std::int64_t> consumer_impl::committable(const topic_partition& tp) const {
    const auto* s = find_slot(tp);
    if (!s || !s->assigned || s->state != partition_slot::start::ready) return std::nullopt;
    return s->tracker.committable();
}

void consumer_impl::shutdown() {
    closed_ = true;
    fetch_retry_timer_.cancel();
    poll_timer_.cancel();
    commit_timer_.cancel();
    heartbeat_timer_.cancel();
    rejoin_timer_.cancel();
    poll_interval_timer_.cancel();
    topic_check_timer_.cancel();
    member_timer_.cancel();
    finish_poll(make_error_code(net::error::operation_aborted));
    complete_ack_waiters(make_error_code(net::error::operation_aborted));
    auto waiters = std::move(commit_waiters_);
    commit_waiters_.clear();
    for (auto& w : waiters) w.handler(make_error_code(net::error::operation_aborted));
    cluster_->close();
}

void consumer_impl::close(commit_handler h) {
    std::function<void(std::error_code)> done = completion(ex_, std::move(h), stop_waiting);
    if (closed_ || closing_) return done(make_error_code(client_errc::closed));
    closing_ = true;
    auto self = shared_from_this();
    auto leave_and_shut = [self, done](std::error_code ec) {
        self->leave_group([self, done, ec] {
            self->close_fetch_sessions([self, done, ec] {
                self->shutdown();
                done(ec);
            });
        });
    };
    const auto tps = owned();
    if (cfg_.group_id.empty()) {
        if (subscribed_ && listener_.revoked && !tps.empty()) listener_.revoked(tps);
        return leave_and_shut({});
    }
    commit_waiters_.push_back({commit_round_ + 1,
                               [self, tps, leave_and_shut](std::error_code ec) {
                                   if (self->subscribed_ && self->listener_.revoked && !tps.empty())
                                       self->listener_.revoked(tps);
                                   leave_and_shut(ec);
                               }});
    commit_marked();
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

}  // namespace kwire::client::detail

namespace kwire {

void consumer_record::ack() const noexcept {
    if (owner_) owner_->ack(slot_, incarnation_, offset);
}

consumer::consumer(executor_type ex, consumer_config cfg) : ex_(ex) {
    if (cfg.bootstrap_servers.empty())
        throw std::system_error(make_error_code(client::client_errc::invalid_config), "bootstrap.servers is empty");
    if (std::string what; auto ec = client::validate(cfg, &what)) throw std::system_error(ec, what);
    impl_ = std::make_shared<client::detail::consumer_impl>(ex, std::move(cfg));
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
std::uint64_t consumer::commits_sent() const noexcept { return impl_->commits_sent(); }

}  // namespace kwire

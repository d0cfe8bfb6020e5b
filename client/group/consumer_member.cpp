// Group membership under KIP-848 (group.protocol=consumer): the heartbeat loop around
// group_membership (group_membership.hpp has the rules), reconciliation of the owned partitions with
// the broker's assignment, and leaving. Offsets and fetching are shared with the classic path;
// commits carry the member epoch as their generation.
#include <boost/asio/post.hpp>

#include <random>

#include "consumer/consumer_impl.hpp"
#include "kwire/protocol/messages/consumer_group_heartbeat.hpp"

namespace kwire::client::detail {

namespace {

/// A random (version 4) UUID in its usual text form: the member id a v1+ member gives itself.
std::string random_member_id() {
    std::random_device rd;
    std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
    std::uint8_t b[16];
    for (int i = 0; i < 16; i += 8) {
        const auto v = gen();
        for (int k = 0; k < 8; ++k) b[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
    }
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[b[i] >> 4];
        out += hex[b[i] & 15];
    }
    return out;
}

}  // namespace

void consumer_impl::member_join() {
    rejoin_needed_ = false;
    if (closed_ || closing_ || fatal_ || !subscribed_) return;
    if (!member_) {
        group_membership::options o;
        o.group_id = cfg_.group_id;
        o.client_member_id = random_member_id();
        o.instance_id = cfg_.group_instance_id;
        if (!cfg_.client_rack.empty()) o.rack_id = cfg_.client_rack;
        o.server_assignor = cfg_.group_remote_assignor;
        o.rebalance_timeout_ms = static_cast<std::int32_t>(cfg_.max_poll_interval.count());
        o.retry_backoff = cfg_.retry_backoff;
        member_.emplace(std::move(o));
    }
    member_->subscribe(topics_, clock::now());
    refresh_topic_ids([] {});
    member_schedule();
}

void consumer_impl::refresh_topic_ids(std::function<void()> then) {
    // Assignments name topics by id (Metadata v10+ gives them): learn the subscribed topics' ids.
    auto self = shared_from_this();
    cluster_->fetch(topics_, [self, then = std::move(then)](std::error_code ec, const protocol::MetadataResponse& resp,
                                                             std::int16_t) {
        if (!ec)
            for (const auto& t : resp.topics)
                if (t.name && !t.topic_id.is_zero()) {
                    self->topic_names_[t.topic_id] = *t.name;
                    self->topic_ids_[*t.name] = t.topic_id;
                }
        then();
    });
}

void consumer_impl::member_schedule() {
    if (!member_ || closed_ || member_sending_) return;
    const auto now = clock::now();
    if (member_->heartbeat_due(now)) return member_heartbeat();
    const auto at = member_->next_heartbeat();
    if (!at) return;
    member_timer_.expires_at(*at);
    member_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        if (!ec) self->member_schedule();
    });
}

void consumer_impl::member_heartbeat() {
    member_sending_ = true;
    auto self = shared_from_this();
    with_coordinator([self](std::error_code ec) {
        if (self->closed_ || !self->member_) return;
        auto conn = ec ? nullptr : self->cluster_->broker(self->coordinator_);
        if (!conn) {
            self->member_sending_ = false;
            if (!ec) self->member_on(self->member_->on_failure(make_error_code(client_errc::connection_closed), clock::now()));
            return;  // with_coordinator reported a fatal error itself
        }
        // Built once the version is known: v1+ members name themselves.
        conn->request_built(
            [self](std::int16_t version) { return self->member_->heartbeat(version, clock::now()); },
            [self](std::error_code ec2, protocol::ConsumerGroupHeartbeatResponse resp, std::int16_t) {
                self->member_sending_ = false;
                if (self->closed_ || !self->member_) return;
                const auto now = clock::now();
                self->member_on(ec2 ? self->member_->on_failure(ec2, now) : self->member_->on_response(resp, now));
            },
            {.min_version = 0, .max_version = 1});
    });
}

void consumer_impl::member_on(group_membership::action a) {
    // The member epoch is the generation offset commits carry.
    generation_ = member_->member_epoch();
    member_id_ = member_->member_id();
    switch (a) {
        case group_membership::action::none:
            break;
        case group_membership::action::reconcile:
            member_reconcile();
            break;
        case group_membership::action::lose_all:
            lose_all();  // no commit: another member may own them by now
            break;
        case group_membership::action::rediscover_coordinator:
            coordinator_lost();
            break;
        case group_membership::action::fatal:
            return set_fatal(member_->error());
        case group_membership::action::left: {
            auto then = std::move(member_left_);
            member_left_ = nullptr;
            if (then) then();
            return;
        }
    }
    stable_ = member_->current() == group_membership::state::stable;
    member_schedule();
}

void consumer_impl::member_reconcile(bool ids_refreshed) {
    if (!member_ || !member_->reconcile_needed() || closed_) return;
    // Topic ids this consumer cannot name yet: learn them first (once per attempt); whatever is
    // still unknown then is reconciled later, when an answer or a refresh names it.
    bool unresolved = false;
    for (const auto& [id, parts] : member_->target())
        if (!topic_names_.count(id)) unresolved = true;
    if (unresolved && !ids_refreshed)
        return refresh_topic_ids([self = shared_from_this()] { self->member_reconcile(true); });

    const auto token = member_->begin_reconcile();
    id_assignment now_owned;
    std::vector<topic_partition> wanted;
    for (const auto& [id, parts] : member_->target()) {
        const auto it = topic_names_.find(id);
        if (it == topic_names_.end()) continue;
        now_owned[id] = parts;
        for (const auto p : parts) wanted.push_back({it->second, p});
    }
    const auto diff = diff_assignment(owned(), wanted);
    auto self = shared_from_this();
    auto add = [self, token, added = diff.added, now_owned = std::move(now_owned)]() mutable {
        if (self->closed_ || !self->member_ || !self->member_->reconciling(token)) return;
        for (const auto& tp : added) self->add_partition(tp, offset::committed);
        if (!added.empty() && self->listener_.assigned) self->listener_.assigned(added);
        self->resolve_offsets();
        self->schedule_fetch();
        self->member_->reconciled(token, std::move(now_owned), clock::now());
        self->member_schedule();  // the acknowledgement goes out now
        if (self->member_->reconcile_needed()) self->member_reconcile();
    };
    // Revoked partitions go first (their marked offsets committed), so that the broker can hand
    // them to another member once the acknowledgement says they are released.
    if (!diff.revoked.empty()) return revoke(diff.revoked, false, std::move(add));
    add();
}

void consumer_impl::member_leave(std::function<void()> then) {
    stable_ = false;
    if (!member_ || member_->current() == group_membership::state::idle || member_->current() == group_membership::state::left ||
        member_->current() == group_membership::state::fatal) {
        if (member_) member_->leave(clock::now());
        return then();
    }
    member_left_ = std::move(then);
    member_->leave(clock::now());
    member_schedule();
}

}  // namespace kwire::client::detail

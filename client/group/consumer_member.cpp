// KIP-848 group membership (group.protocol=consumer): the heartbeat loop around
// group_membership (group_membership.hpp has the rules), reconciliation of the owned partitions
// with the broker's assignment, leaving, and what an OffsetCommit error means for such a member.
// See consumer_member.hpp.
#include "group/consumer_member.hpp"

#include <boost/asio/post.hpp>

#include <random>

#include "core/backoff.hpp"
#include "group/consumer_protocol.hpp"
#include "group/coordinator.hpp"
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

consumer_member::consumer_member(consumer_core& core, coordinator& coord, membership_host& host)
    : core_(core), coordinator_(coord), host_(host), timer_(core.ex) {}

// --- the membership interface ------------------------------------------------------------------

void consumer_member::subscribe(std::vector<std::string> topics) {
    topics_ = std::move(topics);
    rejoin_needed_ = true;
    if (core_.closed || core_.closing) return;
    net::post(core_.ex, [this, keep = core_.keep()] {
        if (rejoin_needed_) join();
    });
}

void consumer_member::on_poll() {
    if (rejoin_needed_) join();
}

void consumer_member::expire() {
    epoch_ = -1;
    member_id_.clear();
    lose_all();
    rejoin_needed_ = true;
}

void consumer_member::cancel() { timer_.cancel(); }

commit_identity consumer_member::identity() const {
    commit_identity id;
    if (core_.subscribed) {
        id.generation = epoch_;
        id.member_id = member_id_;
        id.instance_id = core_.cfg.group_instance_id;
    }
    id.max_version = 9;  // KIP-848 members must commit at 9+ (the broker refuses older versions)
    return id;
}

commit_reaction consumer_member::on_commit_error(std::int16_t error, bool transport, const commit_identity&) {
    switch (classify_member_commit_error(error, transport)) {
        case member_commit_action::none:  // not reached: the committer completes successes itself
        case member_commit_action::retry: return commit_reaction::retry;  // with the epoch by then
        case member_commit_action::rediscover_coordinator: return commit_reaction::rediscover_and_retry;
        case member_commit_action::fatal: return commit_reaction::fatal;
        case member_commit_action::fail:
            // Fenced or unknown: the heartbeat finds out and rejoins; per-partition problems are
            // reported as under classic.
            if (to_kafka_errc(error) == kafka_errc::unknown_member_id ||
                to_kafka_errc(error) == kafka_errc::fenced_member_epoch)
                return commit_reaction::fail;
            return commit_reaction::fail_and_report;
    }
    return commit_reaction::fail;
}

// --- the heartbeat loop ------------------------------------------------------------------------

void consumer_member::join() {
    rejoin_needed_ = false;
    if (core_.closed || core_.closing || core_.fatal || !core_.subscribed) return;
    const auto& cfg = core_.cfg;
    if (!member_) {
        group_membership::options o;
        o.group_id = cfg.group_id;
        o.client_member_id = random_member_id();
        o.instance_id = cfg.group_instance_id;
        if (!cfg.client_rack.empty()) o.rack_id = cfg.client_rack;
        o.server_assignor = cfg.group_remote_assignor;
        o.rebalance_timeout_ms = static_cast<std::int32_t>(cfg.max_poll_interval.count());
        o.retry_backoff = cfg.retry_backoff;
        o.retry_backoff_max = cfg.retry_backoff_max;
        o.jitter = static_cast<double (*)()>(&jitter_factor);
        member_.emplace(std::move(o));
    }
    member_->subscribe(topics_, clock::now());
    refresh_topic_ids([] {});
    schedule();
}

void consumer_member::refresh_topic_ids(std::function<void()> then) {
    // Assignments name topics by id (Metadata v10+ gives them): learn the subscribed topics' ids.
    core_.brokers->fetch(topics_, [this, keep = core_.keep(), then = std::move(then)](
                                      std::error_code ec, const protocol::MetadataResponse& resp, std::int16_t) {
        if (!ec)
            for (const auto& t : resp.topics)
                if (t.name && !t.topic_id.is_zero()) topic_names_[t.topic_id] = *t.name;
        then();
    });
}

void consumer_member::schedule() {
    if (!member_ || core_.closed || sending_) return;
    const auto now = clock::now();
    if (member_->heartbeat_due(now)) return heartbeat();
    const auto at = member_->next_heartbeat();
    if (!at) return;
    timer_.expires_at(*at);
    timer_.async_wait([this, keep = core_.keep()](std::error_code ec) {
        if (!ec) schedule();
    });
}

void consumer_member::heartbeat() {
    sending_ = true;
    coordinator_.with([this, keep = core_.keep()](std::error_code ec) {
        if (core_.closed || !member_) return;
        auto conn = ec ? nullptr : coordinator_.broker();
        if (!conn) {
            sending_ = false;
            if (!ec) on(member_->on_failure(make_error_code(client_errc::connection_closed), clock::now()));
            return;  // the coordinator reported a fatal error itself
        }
        // Built once the version is known: v1+ members name themselves.
        conn->request_built(
            [this, keep](std::int16_t version) { return member_->heartbeat(version, clock::now()); },
            [this, keep](std::error_code ec2, protocol::ConsumerGroupHeartbeatResponse resp, std::int16_t) {
                sending_ = false;
                if (core_.closed || !member_) return;
                const auto now = clock::now();
                on(ec2 ? member_->on_failure(ec2, now) : member_->on_response(resp, now));
            },
            {.min_version = 0, .max_version = 1});
    });
}

void consumer_member::on(group_membership::action a) {
    // The member epoch is the generation offset commits carry.
    epoch_ = member_->member_epoch();
    member_id_ = member_->member_id();
    switch (a) {
        case group_membership::action::none:
            break;
        case group_membership::action::reconcile:
            reconcile();
            break;
        case group_membership::action::lose_all:
            lose_all();  // no commit: another member may own them by now
            break;
        case group_membership::action::rediscover_coordinator:
            coordinator_.lost();
            break;
        case group_membership::action::fatal:
            return core_.set_fatal(member_->error());
        case group_membership::action::left: {
            auto then = std::move(left_);
            left_ = nullptr;
            if (then) then();
            return;
        }
    }
    schedule();
}

void consumer_member::lose_all() {
    const auto tps = host_.owned();
    if (!tps.empty()) host_.revoke(tps, true, [] {});
}

void consumer_member::reconcile(bool ids_refreshed) {
    if (!member_ || !member_->reconcile_needed() || core_.closed) return;
    // Topic ids this consumer cannot name yet: learn them first (once per attempt); whatever is
    // still unknown then is reconciled later, when an answer or a refresh names it.
    bool unresolved = false;
    for (const auto& [id, parts] : member_->target())
        if (!topic_names_.count(id)) unresolved = true;
    if (unresolved && !ids_refreshed) return refresh_topic_ids([this, keep = core_.keep()] { reconcile(true); });

    const auto token = member_->begin_reconcile();
    rebalance_began(core_);
    id_assignment now_owned;
    std::vector<topic_partition> wanted;
    for (const auto& [id, parts] : member_->target()) {
        const auto it = topic_names_.find(id);
        if (it == topic_names_.end()) continue;
        now_owned[id] = parts;
        for (const auto p : parts) wanted.push_back({it->second, p});
    }
    const auto diff = diff_assignment(host_.owned(), wanted);
    auto add = [this, keep = core_.keep(), token, added = diff.added, now_owned = std::move(now_owned)]() mutable {
        if (core_.closed || !member_ || !member_->reconciling(token)) return;
        host_.take(added, false);
        member_->reconciled(token, std::move(now_owned), clock::now());
        schedule();  // the acknowledgement goes out now
        if (member_->reconcile_needed()) reconcile();
    };
    // Revoked partitions go first (their marked offsets committed), so that the broker can hand
    // them to another member once the acknowledgement says they are released.
    if (!diff.revoked.empty()) return host_.revoke(diff.revoked, false, std::move(add));
    add();
}

void consumer_member::leave(std::function<void()> then) {
    const auto state = member_ ? member_->current() : group_membership::state::idle;
    if (state == group_membership::state::idle || state == group_membership::state::left ||
        state == group_membership::state::fatal) {
        if (member_) member_->leave(clock::now());
        return then();
    }
    left_ = std::move(then);
    member_->leave(clock::now());
    schedule();
}

}  // namespace kwire::client::detail

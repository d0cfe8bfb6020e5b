// Classic group membership: JoinGroup, SyncGroup, Heartbeat and LeaveGroup, the rejoin and
// heartbeat timers, applying an assignment, and what an OffsetCommit error means for a classic
// member. classic_ (classic_membership) decides; this file does the I/O. See classic_member.hpp.
#include "group/classic_member.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

#include "core/backoff.hpp"
#include "group/consumer_protocol.hpp"
#include "group/coordinator.hpp"
#include "group/group_errors.hpp"
#include "kwire/protocol/messages/heartbeat.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "kwire/protocol/messages/leave_group.hpp"
#include "kwire/protocol/messages/sync_group.hpp"

namespace kwire::client::detail {

namespace {

const char* assignor_name(assignor_kind k) noexcept {
    switch (k) {
        case assignor_kind::range: return "range";
        case assignor_kind::roundrobin: return "roundrobin";
        case assignor_kind::cooperative_sticky: return "cooperative-sticky";
    }
    return "range";
}

}  // namespace

classic_member::classic_member(consumer_core& core, coordinator& coord, membership_host& host)
    : core_(core),
      coordinator_(coord),
      host_(host),
      classic_(options(core.cfg)),
      heartbeat_timer_(core.ex),
      rejoin_timer_(core.ex) {}

classic_membership::options classic_member::options(const consumer_config& cfg) {
    classic_membership::options o;
    o.group_id = cfg.group_id;
    o.instance_id = cfg.group_instance_id;
    o.session_timeout = cfg.session_timeout;
    o.rebalance_timeout = cfg.max_poll_interval;
    o.heartbeat_interval = cfg.heartbeat_interval;
    o.retry_backoff = cfg.retry_backoff;
    o.retry_backoff_max = cfg.retry_backoff_max;
    o.jitter = static_cast<double (*)()>(&jitter_factor);
    return o;
}

// --- the membership interface ------------------------------------------------------------------

void classic_member::subscribe(std::vector<std::string> topics) {
    topics_ = std::move(topics);
    request_rejoin();
}

void classic_member::on_poll() {
    if (rejoin_needed_ && !joining_) join();
}

void classic_member::expire() {
    classic_.reset();
    lose_all();
    rejoin_needed_ = true;
}

void classic_member::cancel() {
    heartbeat_timer_.cancel();
    rejoin_timer_.cancel();
}

commit_identity classic_member::identity() const {
    commit_identity id;
    if (core_.subscribed) {
        id.generation = classic_.generation();
        id.member_id = classic_.member_id();
        id.instance_id = core_.cfg.group_instance_id;
    }
    id.max_version = 8;
    id.join_epoch = join_epoch_;
    id.joining = joining_;
    return id;
}

commit_reaction classic_member::on_commit_error(std::int16_t error, bool transport, const commit_identity& sent) {
    const auto action = classify_group_error(group_api::commit, error, transport);
    // A verdict on a membership this member has already left -- the commit went out during a
    // join, or a join began since -- says nothing about the current one: a commit sent under
    // generation N and answered ILLEGAL_GENERATION after the join to N+1 completed must not reset
    // N+1, nor start another join (a coordinator that rebalances on every JoinGroup, as the C
    // client's mock cluster does, then never settles). The offsets go again under the current
    // generation once the join is over; a join in progress commits what it held back when it is
    // assigned.
    const bool membership_left = core_.subscribed && (sent.joining || sent.join_epoch != join_epoch_);
    if (membership_left && (action == group_action::rejoin || action == group_action::reset_and_rejoin))
        return joining_ ? commit_reaction::fail : commit_reaction::retry;
    switch (action) {
        case group_action::none:  // not reached: the committer completes successes itself
        case group_action::retry: return commit_reaction::retry;
        case group_action::rediscover_coordinator: return commit_reaction::rediscover_and_retry;
        case group_action::rejoin:
            // A rebalance is under way: join it, and send the offsets again (with the generation
            // current by then) -- a broker accepts them once the group is past its
            // CompletingRebalance step. While we are the ones rejoining (an eager member
            // committing before it gives its partitions up), the join must not wait: the offsets
            // stay uncommitted, and whoever gets the partitions re-reads from the last commit --
            // repeated, never skipped.
            if (joining_) return commit_reaction::fail;
            request_rejoin();
            return commit_reaction::retry;
        case group_action::reset_and_rejoin:
            classic_.on_membership_lost(error);
            lose_all();
            request_rejoin();
            return commit_reaction::fail;
        case group_action::fatal: return commit_reaction::fatal;
        default: return commit_reaction::fail_and_report;
    }
}

// --- joining -----------------------------------------------------------------------------------

void classic_member::request_rejoin() {
    rejoin_needed_ = true;
    if (joining_ || core_.closed || core_.closing) return;
    net::post(core_.ex, [this, keep = core_.keep()] {
        if (rejoin_needed_ && !joining_) join();
    });
}

void classic_member::rejoin_after(std::chrono::milliseconds delay) {
    rejoin_needed_ = true;
    rejoin_timer_.expires_after(delay);
    rejoin_timer_.async_wait([this, keep = core_.keep()](std::error_code e) {
        if (!e && rejoin_needed_) join();
    });
}

void classic_member::join() {
    if (joining_ || core_.closed || core_.closing || core_.fatal || !core_.subscribed) return;
    joining_ = true;
    rejoin_needed_ = false;
    stable_ = false;
    rebalance_began(core_);
    heartbeat_timer_.cancel();
    const auto epoch = ++join_epoch_;
    // Eager protocols give up every partition before joining (their offsets committed first);
    // cooperative members keep theirs and report them in the subscription.
    const auto owned = host_.owned();
    if (classic_.revoke_all_before_join() && !owned.empty())
        return host_.revoke(owned, false, [this, keep = core_.keep(), epoch] { send_join(epoch); });
    send_join(epoch);
}

void classic_member::send_join(std::uint64_t epoch) {
    coordinator_.with([this, keep = core_.keep(), epoch](std::error_code ec) {
        if (epoch != join_epoch_ || core_.closed) return;
        if (ec) {
            joining_ = false;
            return;  // fatal: the coordinator reported it
        }
        auto req = classic_.join_request();
        const auto owned = host_.owned();
        const auto generation = classic_.generation();
        const auto& cfg = core_.cfg;
        for (const auto kind : cfg.assignors) {
            const bool coop = kind == assignor_kind::cooperative_sticky;
            // Owned partitions and the generation matter to the sticky assignor only; eager
            // members have given everything up before joining.
            const auto sub = make_subscription(
                topics_, coop ? owned : std::vector<topic_partition>{}, coop ? generation : -1,
                cfg.client_rack.empty() ? std::nullopt : std::optional<std::string>(cfg.client_rack),
                coop ? std::optional<protocol::bytes>(cooperative_sticky_user_data(generation)) : std::nullopt);
            auto& p = req.protocols.emplace_back();
            p.name = assignor_name(kind);
            std::vector<std::uint8_t> bytes;
            encode_subscription(bytes, sub);
            p.metadata = protocol::bytes(bytes.begin(), bytes.end());
        }
        coordinator_.broker()->request(
            std::move(req),
            [this, keep, epoch](std::error_code ec2, protocol::JoinGroupResponse resp, std::int16_t) {
                on_join(epoch, ec2, resp);
            },
            {.min_version = 0, .max_version = 9, .extra_time = cfg.max_poll_interval + std::chrono::seconds(5)});
    });
}

void classic_member::on_join(std::uint64_t epoch, std::error_code ec, const protocol::JoinGroupResponse& resp) {
    if (epoch != join_epoch_ || core_.closed) return;
    const auto o = classic_.on_join(resp, static_cast<bool>(ec));
    if (o.rediscover_coordinator) coordinator_.lost();
    if (o.lose_partitions) lose_all();
    switch (o.next) {
        case classic_membership::step::sync: break;
        case classic_membership::step::fatal:
            joining_ = false;
            return core_.set_fatal(ec ? ec : o.error);
        default:
            joining_ = false;
            return rejoin_after(o.delay);
    }
    if (!classic_.leader()) return sync({});
    assign_as_leader(epoch, resp);
}

void classic_member::assign_as_leader(std::uint64_t epoch, const protocol::JoinGroupResponse& resp) {
    // The leader assigns: every member's subscription, every subscribed topic's partition count
    // (fresh metadata), then the chosen assignor.
    auto members = std::make_shared<std::vector<group_member>>();
    std::vector<std::string> topics;
    for (const auto& m : resp.members) {
        consumer_subscription sub;
        if (decode_subscription(protocol::bytes_view(m.metadata.data(), m.metadata.size()), sub))
            sub = consumer_subscription{};  // unreadable: the member gets nothing
        members->push_back(member_from_subscription(m.member_id, m.group_instance_id, sub));
        for (const auto& t : members->back().topics)
            if (std::find(topics.begin(), topics.end(), t) == topics.end()) topics.push_back(t);
    }
    core_.brokers->refresh(topics, [this, keep = core_.keep(), epoch, members, topics](std::error_code) {
        if (epoch != join_epoch_ || core_.closed) return;
        std::map<std::string, std::int32_t> partitions;
        for (const auto& t : topics)
            if (const auto* info = core_.brokers->topic(t); info && !info->partitions.empty())
                partitions[t] = static_cast<std::int32_t>(info->partitions.size());
        const auto& chosen = classic_.protocol_name();
        client::assignment plan;
        if (chosen == "roundrobin") plan = assign_roundrobin(*members, partitions);
        else if (classic_.cooperative()) plan = assign_cooperative_sticky(*members, partitions);
        else plan = assign_range(*members, partitions);
        std::vector<std::pair<std::string, std::vector<std::uint8_t>>> out;
        for (const auto& m : *members) {
            std::vector<std::uint8_t> bytes;
            encode_assignment(bytes, make_assignment(plan[m.member_id]));
            out.emplace_back(m.member_id, std::move(bytes));
        }
        sync(std::move(out));
    });
}

void classic_member::sync(std::vector<std::pair<std::string, std::vector<std::uint8_t>>> assignments) {
    const auto epoch = join_epoch_;
    coordinator_.with([this, keep = core_.keep(), epoch, assignments = std::move(assignments)](std::error_code ec) {
        if (epoch != join_epoch_ || core_.closed) return;
        if (ec) {
            joining_ = false;
            return;
        }
        auto req = classic_.sync_request();
        for (auto& [member, bytes] : assignments) {
            auto& a = req.assignments.emplace_back();
            a.member_id = member;
            a.assignment = protocol::bytes(bytes.begin(), bytes.end());
        }
        coordinator_.broker()->request(
            std::move(req),
            [this, keep, epoch](std::error_code ec2, protocol::SyncGroupResponse resp, std::int16_t) {
                if (epoch != join_epoch_ || core_.closed) return;
                on_sync(ec2, resp.error_code, protocol::bytes_view(resp.assignment.data(), resp.assignment.size()));
            },
            {.min_version = 0, .max_version = 5, .extra_time = core_.cfg.max_poll_interval + std::chrono::seconds(5)});
    });
}

void classic_member::on_sync(std::error_code ec, std::int16_t error, protocol::bytes_view assignment_bytes) {
    const auto o = classic_.on_sync(error, static_cast<bool>(ec), clock::now());
    joining_ = false;
    if (o.rediscover_coordinator) coordinator_.lost();
    if (o.lose_partitions) lose_all();
    switch (o.next) {
        case classic_membership::step::assign: break;
        case classic_membership::step::fatal: return core_.set_fatal(o.error);
        default: return o.delay.count() > 0 ? rejoin_after(o.delay) : request_rejoin();
    }
    consumer_assignment a;
    std::vector<topic_partition> assigned;
    if (!assignment_bytes.empty()) {
        if (auto dec = decode_assignment(assignment_bytes, a)) return core_.set_fatal(dec);
        assigned = assigned_partitions(a);
    }
    apply_assignment(assigned);
}

void classic_member::apply_assignment(const std::vector<topic_partition>& assigned) {
    stable_ = true;
    arm_heartbeat(core_.cfg.heartbeat_interval);
    const auto diff = diff_assignment(host_.owned(), assigned);
    auto add = [this, added = diff.added] {
        host_.take(added, true);
        host_.commit_soon();  // commits the rebalance held back, with the new generation
    };
    if (!diff.revoked.empty()) {
        // Cooperative: give up what moved, then rejoin so that its new owner gets it.
        return host_.revoke(diff.revoked, false,
                            [this, keep = core_.keep(), add, rejoin = classic_.rejoin_after_revoking(true)] {
                                add();
                                if (rejoin) request_rejoin();
                            });
    }
    add();
}

void classic_member::lose_all() {
    stable_ = false;
    const auto tps = host_.owned();
    if (!tps.empty()) host_.revoke(tps, true, [] {});
}

// --- heartbeats and leaving --------------------------------------------------------------------

void classic_member::arm_heartbeat(std::chrono::milliseconds delay) {
    heartbeat_timer_.expires_after(delay);
    heartbeat_timer_.async_wait([this, keep = core_.keep()](std::error_code ec) {
        if (!ec) heartbeat();
    });
}

void classic_member::heartbeat() {
    if (!stable_ || joining_ || core_.closed || core_.closing) return;
    if (classic_.check_session(clock::now())) {
        // No heartbeat succeeded for a session: the coordinator has surely expired us by now.
        lose_all();
        return request_rejoin();
    }
    const auto epoch = join_epoch_;
    coordinator_.with([this, keep = core_.keep(), epoch](std::error_code ec) {
        if (ec || epoch != join_epoch_ || core_.closed) return;
        coordinator_.broker()->request(
            classic_.heartbeat_request(),
            [this, keep, epoch](std::error_code ec2, protocol::HeartbeatResponse resp, std::int16_t) {
                if (epoch != join_epoch_ || core_.closed || !stable_) return;
                const auto o = classic_.on_heartbeat(resp.error_code, static_cast<bool>(ec2), clock::now());
                if (o.rediscover_coordinator) coordinator_.lost();
                if (o.lose_partitions) lose_all();
                switch (o.next) {
                    case classic_membership::step::fatal: return core_.set_fatal(o.error);
                    case classic_membership::step::rejoin: return request_rejoin();
                    default: return arm_heartbeat(o.delay);
                }
            });
    });
}

void classic_member::leave(std::function<void()> then) {
    heartbeat_timer_.cancel();
    ++join_epoch_;  // answers to a join or heartbeat in flight no longer matter
    joining_ = false;
    stable_ = false;
    if (!core_.subscribed || coordinator_.node() < 0) return then();
    auto req = classic_.leave_request();  // none for a static member
    auto conn = coordinator_.broker();
    if (!req || !conn) return then();
    conn->request(std::move(*req), [then = std::move(then)](std::error_code, protocol::LeaveGroupResponse, std::int16_t) {
        then();
    });
}

}  // namespace kwire::client::detail

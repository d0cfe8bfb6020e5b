// group_membership (see group_membership.hpp): the KIP-848 member's heartbeats, what each answer
// means, fencing, and reconciliation of its assignment, without I/O.
#include "group/group_membership.hpp"

#include "core/backoff.hpp"
#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

namespace {

constexpr std::int32_t leave_epoch = -1;
constexpr std::int32_t static_leave_epoch = -2;

std::vector<protocol::ConsumerGroupHeartbeatRequest::TopicPartitions> to_wire(const id_assignment& a) {
    std::vector<protocol::ConsumerGroupHeartbeatRequest::TopicPartitions> out;
    for (const auto& [id, parts] : a) {
        auto& t = out.emplace_back();
        t.topic_id = id;
        t.partitions.assign(parts.begin(), parts.end());
    }
    return out;
}

}  // namespace

group_membership::group_membership(options o) : opt_(std::move(o)) {}

void group_membership::subscribe(std::vector<std::string> topics, clock::time_point now) {
    if (state_ == state::fatal) return;
    subscription_ = std::move(topics);
    ++subscription_gen_;
    if (state_ == state::idle || state_ == state::left) {
        state_ = state::joining;
        epoch_ = 0;
        send_all_ = true;
        owned_.clear();
        owned_acked_.reset();
        target_.clear();
    }
    next_ = now;
}

void group_membership::leave(clock::time_point now) {
    if (state_ == state::idle || state_ == state::left || state_ == state::fatal) {
        if (state_ != state::fatal) state_ = state::left;
        return;
    }
    state_ = state::leaving;
    ++reconcile_token_;  // a reconciliation under way no longer matters
    reconciling_ = false;
    next_ = now;
}

bool group_membership::heartbeat_due(clock::time_point now) const noexcept {
    const auto at = next_heartbeat();
    return !in_flight_ && at && now >= *at;
}

std::optional<group_membership::clock::time_point> group_membership::next_heartbeat() const noexcept {
    if (state_ != state::joining && state_ != state::stable && state_ != state::leaving) return std::nullopt;
    return next_;
}

protocol::ConsumerGroupHeartbeatRequest group_membership::heartbeat(std::int16_t version, clock::time_point now) {
    (void)now;
    in_flight_ = true;
    sent_subscription_ = 0;
    sent_owned_.reset();
    protocol::ConsumerGroupHeartbeatRequest req;
    req.group_id = opt_.group_id;
    if (member_id_.empty() && version >= 1) member_id_ = opt_.client_member_id;
    req.member_id = member_id_;
    req.instance_id = opt_.instance_id;
    if (state_ == state::leaving) {
        req.member_epoch = opt_.instance_id ? static_leave_epoch : leave_epoch;
        leave_sent_ = true;
        return req;
    }
    req.member_epoch = epoch_;
    const bool all = send_all_ || epoch_ == 0;
    if (all) {
        req.rack_id = opt_.rack_id;
        req.rebalance_timeout_ms = opt_.rebalance_timeout_ms;
        req.server_assignor = opt_.server_assignor;
    }
    if (all || subscription_acked_ != subscription_gen_) {
        req.subscribed_topic_names = subscription_;
        sent_subscription_ = subscription_gen_;
    }
    if (all || !owned_acked_ || *owned_acked_ != owned_) {
        // Joining: the list must be empty (the member owns nothing yet, or lost it all).
        req.topic_partitions = to_wire(owned_);
        sent_owned_ = owned_;
    }
    return req;
}

void group_membership::fence(clock::time_point now) {
    epoch_ = 0;
    owned_.clear();
    owned_acked_.reset();
    target_.clear();
    target_new_ = false;
    reconciling_ = false;
    ++reconcile_token_;
    send_all_ = true;
    subscription_acked_ = 0;
    state_ = state::joining;
    next_ = now;
}

group_membership::action group_membership::on_response(const protocol::ConsumerGroupHeartbeatResponse& resp,
                                               clock::time_point now) {
    if (const auto a = heartbeat_answered(now)) return *a;
    if (state_ != state::joining && state_ != state::stable) return action::none;  // fatal meanwhile
    switch (const auto error = to_kafka_errc(resp.error_code)) {
        case kafka_errc::none:
            break;
        case kafka_errc::unknown_member_id:
        case kafka_errc::fenced_member_epoch:
            fence(now);
            return action::lose_all;
        case kafka_errc::coordinator_not_available:
        case kafka_errc::not_coordinator:
            retry_later(now);
            return action::rediscover_coordinator;
        default:
            if (error == kafka_errc::coordinator_load_in_progress || error == kafka_errc::request_timed_out ||
                is_retriable(error)) {
                retry_later(now);
                return action::none;
            }
            // UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, UNSUPPORTED_ASSIGNOR,
            // INVALID_REQUEST, GROUP_AUTHORIZATION_FAILED, ...
            state_ = state::fatal;
            error_ = kafka_error(resp.error_code);
            return action::fatal;
    }
    failures_ = 0;
    if (resp.member_id && !resp.member_id->empty()) member_id_ = *resp.member_id;
    epoch_ = resp.member_epoch;
    if (resp.heartbeat_interval_ms > 0) interval_ = std::chrono::milliseconds(resp.heartbeat_interval_ms);
    next_ = now + interval_;
    send_all_ = false;
    if (sent_subscription_) subscription_acked_ = sent_subscription_;
    if (sent_owned_) owned_acked_ = std::move(sent_owned_);
    state_ = state::stable;
    if (resp.assignment) {
        id_assignment a;
        for (const auto& t : resp.assignment->topic_partitions) a[t.topic_id].insert(t.partitions.begin(), t.partitions.end());
        target_ = std::move(a);
        target_new_ = true;
    }
    if (owned_acked_ && *owned_acked_ != owned_) next_ = now;  // a reconciliation finished meanwhile
    return target_new_ && !reconciling_ ? action::reconcile : action::none;
}

group_membership::action group_membership::on_failure(std::error_code ec, clock::time_point now) {
    if (const auto a = heartbeat_answered(now)) return *a;
    if (ec == make_error_code(client_errc::unsupported_version)) {
        state_ = state::fatal;
        error_ = ec;
        return action::fatal;
    }
    retry_later(now);  // the broker may or may not have seen it
    return action::rediscover_coordinator;
}

std::optional<group_membership::action> group_membership::heartbeat_answered(clock::time_point now) {
    in_flight_ = false;
    if (leave_sent_) {
        leave_sent_ = false;
        state_ = state::left;
        return action::left;
    }
    if (state_ == state::leaving) {
        next_ = now;  // the answer to a heartbeat sent before leave(): the leave goes out now
        return action::none;
    }
    return std::nullopt;
}

void group_membership::retry_later(clock::time_point now) {
    send_all_ = true;
    next_ = now + backoff(opt_.retry_backoff, opt_.retry_backoff_max).delay(++failures_, opt_.jitter ? opt_.jitter() : 1.0);
}

bool group_membership::reconcile_needed() const noexcept {
    return (state_ == state::joining || state_ == state::stable) && !reconciling_ && (target_new_ || owned_ != target_);
}

std::uint64_t group_membership::begin_reconcile() noexcept {
    reconciling_ = true;
    target_new_ = false;
    return ++reconcile_token_;
}

void group_membership::reconciled(std::uint64_t token, id_assignment now_owned, clock::time_point now) {
    if (token != reconcile_token_ || !reconciling_) return;
    reconciling_ = false;
    owned_ = std::move(now_owned);
    if (!owned_acked_ || *owned_acked_ != owned_) next_ = now;  // acknowledge at once
}

member_commit_action classify_member_commit_error(std::int16_t error, bool transport) noexcept {
    if (transport) return member_commit_action::rediscover_coordinator;
    switch (to_kafka_errc(error)) {
        case kafka_errc::none:
            return member_commit_action::none;
        case kafka_errc::coordinator_not_available:
        case kafka_errc::not_coordinator:
            return member_commit_action::rediscover_coordinator;
        case kafka_errc::coordinator_load_in_progress:
        case kafka_errc::request_timed_out:
        case kafka_errc::stale_member_epoch:
            return member_commit_action::retry;
        case kafka_errc::unknown_member_id:
        case kafka_errc::fenced_member_epoch:
            return member_commit_action::fail;
        case kafka_errc::fenced_instance_id:
        case kafka_errc::unsupported_version:
            return member_commit_action::fatal;
        default:
            return is_retriable(error) ? member_commit_action::retry : member_commit_action::fail;
    }
}

}  // namespace kwire::client::detail

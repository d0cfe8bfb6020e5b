// classic_membership (see classic_membership.hpp): the classic group protocol's requests and what
// each JoinGroup, SyncGroup, Heartbeat or LeaveGroup answer means, without I/O.
#include "group/classic_membership.hpp"

#include "core/backoff.hpp"
#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

classic_membership::classic_membership(options o) : opt_(std::move(o)) {}

protocol::JoinGroupRequest classic_membership::join_request() {
    if (state_ != state::fatal) state_ = state::joining;
    protocol::JoinGroupRequest req;
    req.group_id = opt_.group_id;
    req.session_timeout_ms = static_cast<std::int32_t>(opt_.session_timeout.count());
    req.rebalance_timeout_ms = static_cast<std::int32_t>(opt_.rebalance_timeout.count());
    req.member_id = member_id_;
    req.group_instance_id = opt_.instance_id;
    req.protocol_type = "consumer";
    return req;
}

classic_membership::outcome classic_membership::on_join(const protocol::JoinGroupResponse& resp, bool transport) {
    switch (classify_group_error(group_api::join, resp.error_code, transport)) {
        case group_action::none: break;
        case group_action::rejoin_with_member_id:
            // KIP-394: the broker names the member and waits for it to join under that name.
            member_id_ = resp.member_id;
            return {.next = step::rejoin};
        case group_action::rediscover_coordinator:
            return {.next = step::rejoin, .delay = join_failed(), .rediscover_coordinator = true};
        case group_action::reset_and_rejoin: return lose(resp.error_code, std::chrono::milliseconds(0));
        case group_action::retry:
        case group_action::rejoin:
        case group_action::fail_request: return {.next = step::rejoin, .delay = join_failed()};
        case group_action::fatal: return stop(kafka_error(resp.error_code));
    }
    state_ = state::syncing;
    generation_ = resp.generation_id;
    member_id_ = resp.member_id;
    protocol_ = resp.protocol_name.value_or("");
    leader_ = resp.leader == resp.member_id;
    return {.next = step::sync};
}

protocol::SyncGroupRequest classic_membership::sync_request() const {
    protocol::SyncGroupRequest req;
    req.group_id = opt_.group_id;
    req.generation_id = generation_;
    req.member_id = member_id_;
    req.group_instance_id = opt_.instance_id;
    req.protocol_type = "consumer";
    req.protocol_name = protocol_;
    return req;
}

classic_membership::outcome classic_membership::on_sync(std::int16_t error, bool transport, clock::time_point now) {
    switch (classify_group_error(group_api::sync, error, transport)) {
        case group_action::none:
            state_ = state::stable;
            last_ok_ = now;  // the session is counted from here
            join_failures_ = 0;
            return {.next = step::assign};
        case group_action::rediscover_coordinator:
            state_ = state::joining;
            return {.next = step::rejoin, .delay = join_failed(), .rediscover_coordinator = true};
        case group_action::reset_and_rejoin: return lose(error, std::chrono::milliseconds(0));
        case group_action::fatal: return stop(kafka_error(error));
        default: state_ = state::joining; return {.next = step::rejoin};
    }
}

std::optional<classic_membership::outcome> classic_membership::check_session(clock::time_point now) {
    if (now - last_ok_ <= opt_.session_timeout) return std::nullopt;
    // The coordinator has surely expired us by now: a new member, whatever the id was.
    return lose(wire_code(kafka_errc::unknown_member_id), std::chrono::milliseconds(0));
}

protocol::HeartbeatRequest classic_membership::heartbeat_request() const {
    protocol::HeartbeatRequest req;
    req.group_id = opt_.group_id;
    req.generation_id = generation_;
    req.member_id = member_id_;
    req.group_instance_id = opt_.instance_id;
    return req;
}

classic_membership::outcome classic_membership::on_heartbeat(std::int16_t error, bool transport,
                                                             clock::time_point now) {
    switch (classify_group_error(group_api::heartbeat, error, transport)) {
        case group_action::none:
            last_ok_ = now;
            return {.next = step::heartbeat, .delay = opt_.heartbeat_interval};
        case group_action::rediscover_coordinator:
            return {.next = step::heartbeat, .delay = opt_.heartbeat_interval, .rediscover_coordinator = true};
        case group_action::reset_and_rejoin: return lose(error, std::chrono::milliseconds(0));
        case group_action::fatal: return stop(kafka_error(error));
        case group_action::rejoin: state_ = state::joining; return {.next = step::rejoin};
        default: return {.next = step::heartbeat, .delay = opt_.heartbeat_interval};
    }
}

void classic_membership::on_membership_lost(std::int16_t error) {
    if (to_kafka_errc(error) == kafka_errc::unknown_member_id) member_id_.clear();
    generation_ = -1;
    if (state_ != state::fatal) state_ = state::unjoined;
}

void classic_membership::reset() { on_membership_lost(wire_code(kafka_errc::unknown_member_id)); }

std::optional<protocol::LeaveGroupRequest> classic_membership::leave_request() {
    if (state_ != state::fatal) state_ = state::unjoined;
    // Static members do not leave: their instance id keeps their place until the session times out.
    if (member_id_.empty() || is_static()) return std::nullopt;
    protocol::LeaveGroupRequest req;
    req.group_id = opt_.group_id;
    req.member_id = member_id_;
    auto& m = req.members.emplace_back();
    m.member_id = member_id_;
    m.reason = "the consumer is closing";
    return req;
}

classic_membership::outcome classic_membership::lose(std::int16_t error, std::chrono::milliseconds delay) {
    on_membership_lost(error);
    state_ = state::joining;
    return {.next = step::rejoin, .delay = delay, .lose_partitions = true};
}

std::chrono::milliseconds classic_membership::join_failed() {
    // KIP-580: retry.backoff.ms doubling per consecutive failure, up to retry.backoff.max.ms.
    return backoff(opt_.retry_backoff, opt_.retry_backoff_max).delay(++join_failures_, opt_.jitter ? opt_.jitter() : 1.0);
}

classic_membership::outcome classic_membership::stop(std::error_code ec) {
    state_ = state::fatal;
    return {.next = step::fatal, .error = ec};
}

}  // namespace kwire::client::detail

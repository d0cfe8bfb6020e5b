#include "group/group_errors.hpp"

#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

namespace {
constexpr std::int16_t request_timed_out = 7;
constexpr std::int16_t coordinator_load_in_progress = 14;
constexpr std::int16_t coordinator_not_available = 15;
constexpr std::int16_t not_coordinator = 16;
constexpr std::int16_t illegal_generation = 22;
constexpr std::int16_t unknown_member_id = 25;
constexpr std::int16_t rebalance_in_progress = 27;
constexpr std::int16_t member_id_required = 79;
constexpr std::int16_t fenced_instance_id = 82;
constexpr std::int16_t stale_member_epoch = 113;
}  // namespace

group_action classify_group_error(group_api api, std::int16_t error, bool transport) noexcept {
    if (transport) return group_action::rediscover_coordinator;  // the coordinator may be gone
    switch (error) {
        case 0:
            return group_action::none;
        case coordinator_not_available:
        case not_coordinator:
            return group_action::rediscover_coordinator;
        case coordinator_load_in_progress:
        case request_timed_out:
            return group_action::retry;
        case rebalance_in_progress:
            // Join: the broker is still collecting members; commit/heartbeat/sync: a rebalance
            // started, so join it (a commit is retried once the new generation is known).
            return api == group_api::join ? group_action::retry : group_action::rejoin;
        case illegal_generation:
        case unknown_member_id:
        case stale_member_epoch:
            if (api == group_api::leave) return group_action::none;  // gone already: that is what we wanted
            if (api == group_api::offset_fetch) return group_action::fail_request;
            return group_action::reset_and_rejoin;
        case member_id_required:
            return api == group_api::join ? group_action::rejoin_with_member_id : group_action::fatal;
        case fenced_instance_id:
            return api == group_api::leave ? group_action::none : group_action::fatal;
        default:
            break;
    }
    if (api == group_api::commit || api == group_api::offset_fetch)
        // Per-partition problems (OFFSET_METADATA_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED, ...):
        // retriable ones are retried, the rest reported for that request.
        return is_retriable(error) ? group_action::retry : group_action::fail_request;
    if (api == group_api::leave) return group_action::none;
    return is_retriable(error) ? group_action::retry : group_action::fatal;
}

}  // namespace kwire::client::detail

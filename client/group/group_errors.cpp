// classify_group_error: what a group member does about each classic group protocol error.
#include "group/group_errors.hpp"

#include "kwire/protocol/error.hpp"

namespace kwire::client::detail {

group_action classify_group_error(group_api api, std::int16_t error, bool transport) noexcept {
    if (transport) return group_action::rediscover_coordinator;  // the coordinator may be gone
    switch (to_kafka_errc(error)) {
        case kafka_errc::none:
            return group_action::none;
        case kafka_errc::coordinator_not_available:
        case kafka_errc::not_coordinator:
            return group_action::rediscover_coordinator;
        case kafka_errc::coordinator_load_in_progress:
        case kafka_errc::request_timed_out:
            return group_action::retry;
        case kafka_errc::rebalance_in_progress:
            // Join: the broker is still collecting members; commit/heartbeat/sync: a rebalance
            // started, so join it (a commit is retried once the new generation is known).
            return api == group_api::join ? group_action::retry : group_action::rejoin;
        case kafka_errc::illegal_generation:
        case kafka_errc::unknown_member_id:
        case kafka_errc::stale_member_epoch:
            if (api == group_api::leave) return group_action::none;  // gone already: that is what we wanted
            if (api == group_api::offset_fetch) return group_action::fail_request;
            return group_action::reset_and_rejoin;
        case kafka_errc::member_id_required:
            return api == group_api::join ? group_action::rejoin_with_member_id : group_action::fatal;
        case kafka_errc::fenced_instance_id:
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

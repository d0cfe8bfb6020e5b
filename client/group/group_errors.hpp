// What a consumer-group member does about each error of the classic group protocol, as the Java
// client does: one pure function, so the rules are tested without a broker.
#pragma once

#include <cstdint>

namespace kwire::client::detail {

enum class group_api { find_coordinator, join, sync, heartbeat, commit, offset_fetch, leave };

enum class group_action {
    none,                    ///< success
    retry,                   ///< the same request again after the backoff
    rediscover_coordinator,  ///< the coordinator moved or is down: FindCoordinator, then retry
    rejoin,                  ///< the group is rebalancing: JoinGroup again, keeping the member id
    reset_and_rejoin,        ///< our membership is gone (unknown member, old generation): rejoin
                             ///< as a new member; owned partitions are lost
    rejoin_with_member_id,   ///< MEMBER_ID_REQUIRED: JoinGroup again with the id the broker gave
    fail_request,            ///< this request fails with the error; the membership is intact
    fatal,                   ///< the consumer cannot go on (fenced, unauthorized, misconfigured)
};

/// `error`: a Kafka error code; `transport`: the request failed without an answer.
group_action classify_group_error(group_api api, std::int16_t error, bool transport) noexcept;

}  // namespace kwire::client::detail

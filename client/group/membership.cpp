// The one place the consumer's group protocol is chosen: the membership of group.protocol.
#include "group/membership.hpp"

#include "group/classic_member.hpp"
#include "group/consumer_member.hpp"

namespace kwire::client::detail {

std::unique_ptr<membership> make_membership(consumer_core& core, coordinator& coord, membership_host& host) {
    if (core.cfg.group_protocol == group_protocol_kind::consumer)
        return std::make_unique<consumer_member>(core, coord, host);
    return std::make_unique<classic_member>(core, coord, host);
}

}  // namespace kwire::client::detail

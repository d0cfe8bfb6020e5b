// KIP-848 group membership (group.protocol=consumer) as the consumer's membership: the heartbeat
// loop around group_membership (group_membership.hpp has the rules), reconciling the owned
// partitions with the assignment the broker sends (topic ids named through Metadata v10+), and
// leaving. Commits carry the member epoch as their generation, at OffsetCommit v9+.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "consumer/consumer_core.hpp"
#include "group/group_membership.hpp"
#include "group/membership.hpp"

namespace kwire::client::detail {

class consumer_member final : public membership {
public:
    consumer_member(consumer_core& core, coordinator& coord, membership_host& host);

    void subscribe(std::vector<std::string> topics) override;
    void on_poll() override;
    void leave(std::function<void()> then) override;
    void expire() override;
    void cancel() override;
    commit_identity identity() const override;
    std::string_view join_state() const override {
        return !member_ ? "init" : epoch_ > 0 && !rejoin_needed_ ? "steady" : "wait-join";
    }
    commit_reaction on_commit_error(std::int16_t error, bool transport, const commit_identity& sent) override;

private:
    void join();
    void schedule();
    void heartbeat();
    void on(group_membership::action a);
    void reconcile(bool ids_refreshed = false);
    void refresh_topic_ids(std::function<void()> then);
    void lose_all();

    consumer_core& core_;
    coordinator& coordinator_;
    membership_host& host_;
    std::vector<std::string> topics_;
    bool rejoin_needed_ = false;
    std::optional<group_membership> member_;
    // The member's id and epoch as of its last answer: what offset commits carry.
    std::string member_id_;
    std::int32_t epoch_ = -1;
    net::steady_timer timer_;
    bool sending_ = false;         // a heartbeat is on its way (from the coordinator lookup to its answer)
    std::function<void()> left_;   // leave()'s continuation
    std::map<protocol::uuid, std::string, uuid_less> topic_names_;  // topic ids from Metadata v10+
};

}  // namespace kwire::client::detail

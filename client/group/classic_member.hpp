// Classic group membership (group.protocol=classic) as the consumer's membership: JoinGroup (the
// leader runs the assignor), SyncGroup, Heartbeat and LeaveGroup, the rejoin and heartbeat
// timers, applying an assignment (eager: everything revoked before joining; cooperative: only
// what moved, then a rejoin). classic_membership decides what each answer means; this class
// does the I/O and runs the timers. Error handling follows classify_group_error.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "consumer/consumer_core.hpp"
#include "group/classic_membership.hpp"
#include "group/membership.hpp"
#include "kwire/protocol/types.hpp"

namespace kwire::client::detail {

class classic_member final : public membership {
public:
    classic_member(consumer_core& core, coordinator& coord, membership_host& host);

    void subscribe(std::vector<std::string> topics) override;
    void on_poll() override;
    void leave(std::function<void()> then) override;
    void expire() override;
    void cancel() override;
    commit_identity identity() const override;
    std::string_view join_state() const override {
        return joining_ ? "wait-join" : stable_ ? "steady" : "init";
    }
    commit_reaction on_commit_error(std::int16_t error, bool transport, const commit_identity& sent) override;

private:
    static classic_membership::options options(const consumer_config& cfg);
    void join();
    void send_join(std::uint64_t epoch);
    void on_join(std::uint64_t epoch, std::error_code ec, const protocol::JoinGroupResponse& resp);
    void assign_as_leader(std::uint64_t epoch, const protocol::JoinGroupResponse& resp);
    void sync(std::vector<std::pair<std::string, std::vector<std::uint8_t>>> assignments);
    void on_sync(std::error_code ec, std::int16_t error, protocol::bytes_view assignment);
    void apply_assignment(const std::vector<topic_partition>& assigned);
    void lose_all();
    void request_rejoin();
    void rejoin_after(std::chrono::milliseconds delay);
    void arm_heartbeat(std::chrono::milliseconds delay);
    void heartbeat();

    consumer_core& core_;
    coordinator& coordinator_;
    membership_host& host_;
    classic_membership classic_;  // the decisions: ids, generation, what each answer means
    std::vector<std::string> topics_;
    bool joining_ = false;
    bool rejoin_needed_ = false;
    bool stable_ = false;
    std::uint64_t join_epoch_ = 0;  // bumps per join attempt: stale answers are ignored
    net::steady_timer heartbeat_timer_;
    net::steady_timer rejoin_timer_;
};

}  // namespace kwire::client::detail

// Classic group membership (group.protocol=classic): JoinGroup, SyncGroup, Heartbeat and
// LeaveGroup, the rejoin and max.poll.interval timers, applying an assignment, and revocation with
// the rebalance callbacks. classic_ (classic_membership) decides; this file does the I/O.
// Error handling follows classify_group_error.
#include <boost/asio/post.hpp>

#include <algorithm>

#include "consumer/consumer_impl.hpp"
#include "group/consumer_protocol.hpp"
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

// --- membership ------------------------------------------------------------------------------
// classic_ decides; what follows sends its requests, hands it the answers, and runs the timers.

classic_membership::options consumer_impl::classic_options(const consumer_config& cfg) {
    classic_membership::options o;
    o.group_id = cfg.group_id;
    o.instance_id = cfg.group_instance_id;
    o.session_timeout = cfg.session_timeout;
    o.rebalance_timeout = cfg.max_poll_interval;
    o.heartbeat_interval = cfg.heartbeat_interval;
    o.retry_backoff = cfg.retry_backoff;
    return o;
}

void consumer_impl::request_rejoin() {
    rejoin_needed_ = true;
    if (joining_ || closed_ || closing_) return;
    net::post(ex_, [self = shared_from_this()] {
        if (self->rejoin_needed_ && !self->joining_) self->join_group();
    });
}

void consumer_impl::rejoin_after(std::chrono::milliseconds delay) {
    rejoin_needed_ = true;
    rejoin_timer_.expires_after(delay);
    rejoin_timer_.async_wait([self = shared_from_this()](std::error_code e) {
        if (!e && self->rejoin_needed_) self->join_group();
    });
}

void consumer_impl::join_group() {
    if (consumer_protocol()) return member_join();
    if (joining_ || closed_ || closing_ || fatal_ || !subscribed_) return;
    joining_ = true;
    rejoin_needed_ = false;
    stable_ = false;
    heartbeat_timer_.cancel();
    const auto epoch = ++join_epoch_;
    auto self = shared_from_this();

    auto send_join = [self, epoch] {
        self->with_coordinator([self, epoch](std::error_code ec) {
            if (epoch != self->join_epoch_ || self->closed_) return;
            if (ec) {
                self->joining_ = false;
                return;  // fatal: set_fatal reported it
            }
            auto conn = self->cluster_->broker(self->coordinator_);
            auto req = self->classic_.join_request();
            const auto owned = self->owned();
            const auto generation = self->classic_.generation();
            for (const auto kind : self->cfg_.assignors) {
                const bool coop = kind == assignor_kind::cooperative_sticky;
                // Owned partitions and the generation matter to the sticky assignor only; eager
                // members have given everything up before joining.
                const auto sub = make_subscription(
                    self->topics_, coop ? owned : std::vector<topic_partition>{}, coop ? generation : -1,
                    self->cfg_.client_rack.empty() ? std::nullopt : std::optional<std::string>(self->cfg_.client_rack),
                    coop ? std::optional<protocol::bytes>(cooperative_sticky_user_data(generation)) : std::nullopt);
                auto& p = req.protocols.emplace_back();
                p.name = assignor_name(kind);
                std::vector<std::uint8_t> bytes;
                encode_subscription(bytes, sub);
                p.metadata = protocol::bytes(bytes.begin(), bytes.end());
            }
            conn->request(
                std::move(req),
                [self, epoch](std::error_code ec2, protocol::JoinGroupResponse resp, std::int16_t) {
                    if (epoch != self->join_epoch_ || self->closed_) return;
                    const auto o = self->classic_.on_join(resp, static_cast<bool>(ec2));
                    if (o.rediscover_coordinator) self->coordinator_lost();
                    if (o.lose_partitions) self->lose_all();
                    switch (o.next) {
                        case classic_membership::step::sync: break;
                        case classic_membership::step::fatal:
                            self->joining_ = false;
                            return self->set_fatal(ec2 ? ec2 : o.error);
                        default:
                            self->joining_ = false;
                            return self->rejoin_after(o.delay);
                    }
                    if (!self->classic_.leader()) return self->sync_group({});

                    // The leader assigns: every member's subscription, every subscribed topic's
                    // partition count (fresh metadata), then the chosen assignor.
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
                    self->cluster_->refresh(topics, [self, epoch, members, topics](std::error_code) {
                        if (epoch != self->join_epoch_ || self->closed_) return;
                        std::map<std::string, std::int32_t> partitions;
                        for (const auto& t : topics)
                            if (const auto* info = self->cluster_->topic(t); info && !info->partitions.empty())
                                partitions[t] = static_cast<std::int32_t>(info->partitions.size());
                        const auto& chosen = self->classic_.protocol_name();
                        client::assignment plan;
                        if (chosen == "roundrobin") plan = assign_roundrobin(*members, partitions);
                        else if (self->classic_.cooperative()) plan = assign_cooperative_sticky(*members, partitions);
                        else plan = assign_range(*members, partitions);
                        std::vector<std::pair<std::string, std::vector<std::uint8_t>>> out;
                        for (const auto& m : *members) {
                            std::vector<std::uint8_t> bytes;
                            encode_assignment(bytes, make_assignment(plan[m.member_id]));
                            out.emplace_back(m.member_id, std::move(bytes));
                        }
                        self->sync_group(std::move(out));
                    });
                },
                {.min_version = 0, .max_version = 9, .extra_time = self->cfg_.max_poll_interval + std::chrono::seconds(5)});
        });
    };

    // Eager protocols give up every partition before joining (their offsets committed first);
    // cooperative members keep theirs and report them in the subscription.
    if (classic_.revoke_all_before_join() && !owned().empty()) return revoke(owned(), false, send_join);
    send_join();
}

void consumer_impl::sync_group(std::vector<std::pair<std::string, std::vector<std::uint8_t>>> assignments) {
    const auto epoch = join_epoch_;
    auto self = shared_from_this();
    with_coordinator([self, epoch, assignments = std::move(assignments)](std::error_code ec) mutable {
        if (epoch != self->join_epoch_ || self->closed_) return;
        if (ec) {
            self->joining_ = false;
            return;
        }
        auto req = self->classic_.sync_request();
        for (auto& [member, bytes] : assignments) {
            auto& a = req.assignments.emplace_back();
            a.member_id = member;
            a.assignment = protocol::bytes(bytes.begin(), bytes.end());
        }
        self->cluster_->broker(self->coordinator_)
            ->request(
                std::move(req),
                [self, epoch](std::error_code ec2, protocol::SyncGroupResponse resp, std::int16_t) {
                    if (epoch != self->join_epoch_ || self->closed_) return;
                    self->on_sync(ec2, resp.error_code,
                                  protocol::bytes_view(resp.assignment.data(), resp.assignment.size()));
                },
                {.min_version = 0, .max_version = 5, .extra_time = self->cfg_.max_poll_interval + std::chrono::seconds(5)});
    });
}

void consumer_impl::on_sync(std::error_code ec, std::int16_t error, protocol::bytes_view assignment_bytes) {
    const auto o = classic_.on_sync(error, static_cast<bool>(ec), clock::now());
    joining_ = false;
    if (o.rediscover_coordinator) coordinator_lost();
    if (o.lose_partitions) lose_all();
    switch (o.next) {
        case classic_membership::step::assign: break;
        case classic_membership::step::fatal: return set_fatal(o.error);
        default: return o.delay.count() > 0 ? rejoin_after(o.delay) : request_rejoin();
    }
    consumer_assignment a;
    std::vector<topic_partition> assigned;
    if (!assignment_bytes.empty()) {
        if (auto dec = decode_assignment(assignment_bytes, a)) return set_fatal(dec);
        assigned = assigned_partitions(a);
    }
    apply_assignment(assigned);
}

void consumer_impl::apply_assignment(const std::vector<topic_partition>& assigned) {
    stable_ = true;
    arm_heartbeat(cfg_.heartbeat_interval);
    const auto diff = diff_assignment(owned(), assigned);
    auto self = shared_from_this();
    auto add = [self, added = diff.added] {
        for (const auto& tp : added) self->add_partition(tp, offset::committed);
        if (self->listener_.assigned) self->listener_.assigned(added);
        self->resolve_offsets();
        self->schedule_fetch();
        self->schedule_commit();  // commits the rebalance held back, with the new generation
    };
    if (!diff.revoked.empty()) {
        // Cooperative: give up what moved, then rejoin so that its new owner gets it.
        return revoke(diff.revoked, false, [self, add, rejoin = classic_.rejoin_after_revoking(true)] {
            add();
            if (rejoin) self->request_rejoin();
        });
    }
    add();
}

void consumer_impl::revoke(const std::vector<topic_partition>& tps, bool lost, std::function<void()> then) {
    // A revocation ends the ownerships it began with, and only those. Its commit may take long
    // (retried through coordinator moves); meanwhile the partitions can be lost and assigned to
    // this consumer again -- a fenced KIP-848 member rejoins and may get them back at its new
    // epoch. Removing them when the old commit finally completes would leave the new owner
    // (this consumer, as far as the coordinator knows) never fetching them again.
    std::vector<std::pair<topic_partition, std::uint32_t>> ownerships;
    for (const auto& tp : tps)
        if (const auto* s = find_slot(tp); s && s->assigned) ownerships.emplace_back(tp, s->ownership);
    auto self = shared_from_this();
    auto finish = [self, ownerships = std::move(ownerships), lost, then = std::move(then)](std::error_code) {
        std::vector<topic_partition> ended;
        for (const auto& [tp, ownership] : ownerships)
            if (const auto* s = self->find_slot(tp); s && s->assigned && s->ownership == ownership) {
                self->remove_partition(tp);
                ended.push_back(tp);
            }
        self->complete_ack_waiters({});
        if (ended.empty()) {
            // Lost meanwhile: the listener heard about them then.
        } else if (lost) {
            if (self->listener_.lost) self->listener_.lost(ended);
        } else if (self->listener_.revoked) {
            self->listener_.revoked(ended);
        }
        then();
    };
    if (lost) return finish({});
    // Every policy commits what is marked before the partitions go.
    commit_waiters_.push_back({commit_round_ + 1, std::move(finish)});
    commit_marked();
}

void consumer_impl::lose_all() {
    const auto tps = owned();
    stable_ = false;
    if (!tps.empty()) revoke(tps, true, [] {});
}

void consumer_impl::arm_heartbeat(std::chrono::milliseconds delay) {
    heartbeat_timer_.expires_after(delay);
    heartbeat_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        if (!ec) self->heartbeat();
    });
}

void consumer_impl::heartbeat() {
    if (!stable_ || joining_ || closed_ || closing_) return;
    if (classic_.check_session(clock::now())) {
        // No heartbeat succeeded for a session: the coordinator has surely expired us by now.
        lose_all();
        return request_rejoin();
    }
    const auto epoch = join_epoch_;
    auto self = shared_from_this();
    with_coordinator([self, epoch](std::error_code ec) {
        if (ec || epoch != self->join_epoch_ || self->closed_) return;
        self->cluster_->broker(self->coordinator_)
            ->request(self->classic_.heartbeat_request(),
                      [self, epoch](std::error_code ec2, protocol::HeartbeatResponse resp, std::int16_t) {
                          if (epoch != self->join_epoch_ || self->closed_ || !self->stable_) return;
                          const auto o =
                              self->classic_.on_heartbeat(resp.error_code, static_cast<bool>(ec2), clock::now());
                          if (o.rediscover_coordinator) self->coordinator_lost();
                          if (o.lose_partitions) self->lose_all();
                          switch (o.next) {
                              case classic_membership::step::fatal: return self->set_fatal(o.error);
                              case classic_membership::step::rejoin: return self->request_rejoin();
                              default: return self->arm_heartbeat(o.delay);
                          }
                      });
    });
}

void consumer_impl::arm_poll_interval_timer() {
    if (!subscribed_) return;
    poll_interval_timer_.expires_after(cfg_.max_poll_interval);
    poll_interval_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        if (ec || self->closed_ || self->closing_ || self->pending_poll_) return;
        // The application stopped polling: give the partitions to someone who will (as the
        // Java client does), and rejoin at the next poll.
        self->leave_group([self] {
            if (self->consumer_protocol()) {
                self->generation_ = -1;
                self->member_id_.clear();
            } else {
                self->classic_.reset();
            }
            self->lose_all();
            self->rejoin_needed_ = true;
            self->deferred_error_ = make_error_code(client_errc::poll_interval_exceeded);
        });
    });
}

void consumer_impl::leave_group(std::function<void()> then) {
    if (consumer_protocol()) return member_leave(std::move(then));
    heartbeat_timer_.cancel();
    ++join_epoch_;  // answers to a join or heartbeat in flight no longer matter
    joining_ = false;
    stable_ = false;
    if (!subscribed_ || coordinator_ < 0) return then();
    auto req = classic_.leave_request();  // none for a static member
    auto conn = cluster_->broker(coordinator_);
    if (!req || !conn) return then();
    conn->request(std::move(*req), [then = std::move(then)](std::error_code, protocol::LeaveGroupResponse, std::int16_t) {
        then();
    });
}

}  // namespace kwire::client::detail

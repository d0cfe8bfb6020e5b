// Group membership (classic protocol) and offsets: FindCoordinator, JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup; OffsetFetch on assignment, ListOffsets for auto.offset.reset, and
// OffsetCommit per the commit policy. Error handling follows classify_group_error.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

#include "consumer/consumer_impl.hpp"
#include "group/consumer_protocol.hpp"
#include "kwire/protocol/messages/find_coordinator.hpp"
#include "kwire/protocol/messages/heartbeat.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "kwire/protocol/messages/leave_group.hpp"
#include "kwire/protocol/messages/list_offsets.hpp"
#include "kwire/protocol/messages/offset_commit.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"
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

// --- coordinator -----------------------------------------------------------------------------

void consumer_impl::with_coordinator(std::function<void(std::error_code)> then) {
    if (closed_) return then(make_error_code(client_errc::closed));
    if (coordinator_ >= 0 && cluster_->broker(coordinator_)) return then({});
    coordinator_waiters_.push_back(std::move(then));
    if (finding_coordinator_) return;
    finding_coordinator_ = true;
    auto conn = cluster_->any_broker();
    auto self = shared_from_this();
    auto retry = [self] {
        self->rejoin_timer_.expires_after(self->cfg_.retry_backoff);
        self->rejoin_timer_.async_wait([self](std::error_code e) {
            if (e || self->closed_) return;
            auto waiters = std::move(self->coordinator_waiters_);
            self->coordinator_waiters_.clear();
            for (auto& w : waiters) self->with_coordinator(std::move(w));
        });
    };
    if (!conn) {
        finding_coordinator_ = false;
        return retry();
    }
    protocol::FindCoordinatorRequest req;
    req.key = cfg_.group_id;
    req.key_type = 0;
    conn->request(std::move(req), [self, retry](std::error_code ec, protocol::FindCoordinatorResponse resp, std::int16_t) {
        self->finding_coordinator_ = false;
        if (self->closed_) return;
        if (!ec && resp.error_code != 0) ec = kafka_error(resp.error_code);
        if (ec) {
            const auto action = classify_group_error(group_api::find_coordinator, resp.error_code, resp.error_code == 0);
            if (action == group_action::fatal) {
                self->set_fatal(ec);
                auto waiters = std::move(self->coordinator_waiters_);
                self->coordinator_waiters_.clear();
                for (auto& w : waiters) w(ec);
                return;
            }
            return retry();
        }
        self->cluster_->add_broker({resp.node_id, resp.host, static_cast<std::uint16_t>(resp.port), std::nullopt});
        self->coordinator_ = resp.node_id;
        auto waiters = std::move(self->coordinator_waiters_);
        self->coordinator_waiters_.clear();
        for (auto& w : waiters) self->with_coordinator(std::move(w));
    }, {.min_version = 0, .max_version = 3});
}

void consumer_impl::coordinator_lost() { coordinator_ = -1; }

void consumer_impl::set_fatal(std::error_code ec) {
    if (!fatal_) fatal_ = ec;
    try_complete_poll();
}

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

// --- offsets ---------------------------------------------------------------------------------

void consumer_impl::resolve_offsets() {
    std::vector<std::uint32_t> committed, reset;
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        auto& s = *slots_[i];
        if (!s.assigned) continue;
        if (s.state == partition_slot::start::committed) committed.push_back(i);
        else if (s.state == partition_slot::start::reset) reset.push_back(i);
    }
    if (!committed.empty()) fetch_committed_offsets(std::move(committed));
    if (!reset.empty()) list_offsets(std::move(reset));
}

void consumer_impl::resolve_offsets_later() {
    auto timer = std::make_shared<net::steady_timer>(ex_, cfg_.retry_backoff);
    timer->async_wait([self = shared_from_this(), timer](std::error_code e) {
        if (!e && !self->closed_) self->resolve_offsets();
    });
}

void consumer_impl::fetch_committed_offsets(std::vector<std::uint32_t> slots) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> asked;
    for (const auto i : slots) {
        slots_[i]->state = partition_slot::start::resolving;
        asked.emplace_back(i, slots_[i]->incarnation);
    }
    auto self = shared_from_this();
    with_coordinator([self, asked](std::error_code ec) {
        if (ec || self->closed_) return;
        protocol::OffsetFetchRequest req;
        req.group_id = self->cfg_.group_id;
        req.topics.emplace();
        for (const auto& [i, inc] : asked) {
            const auto& s = *self->slots_[i];
            if (req.topics->empty() || req.topics->back().name != s.topic) {
                req.topics->emplace_back();
                req.topics->back().name = s.topic;
            }
            req.topics->back().partition_indexes.push_back(s.partition);
        }
        req.require_stable = true;
        self->cluster_->broker(self->coordinator_)
            ->request(std::move(req), [self, asked](std::error_code ec2, protocol::OffsetFetchResponse resp, std::int16_t) {
                if (self->closed_) return;
                std::int16_t error = ec2 ? 0 : resp.error_code;
                std::vector<std::uint32_t> reset, retry;
                for (const auto& [i, inc] : asked) {
                    auto& s = *self->slots_[i];
                    if (s.incarnation != inc || s.state != partition_slot::start::resolving) continue;
                    std::int64_t committed = -1;
                    std::int16_t perr = error;
                    if (!ec2)
                        for (const auto& t : resp.topics)
                            if (t.name == s.topic)
                                for (const auto& p : t.partitions)
                                    if (p.partition_index == s.partition) {
                                        committed = p.committed_offset;
                                        if (!perr) perr = p.error_code;
                                    }
                    const auto action = classify_group_error(group_api::offset_fetch, perr, static_cast<bool>(ec2));
                    if (action == group_action::none) {
                        if (committed >= 0) {
                            s.state = partition_slot::start::ready;
                            s.fetch_offset = committed;
                            s.committed = committed;
                            s.tracker.reset(committed);
                        } else if (self->cfg_.auto_offset_reset == offset_reset::none) {
                            s.state = partition_slot::start::committed;
                            s.paused = true;
                            self->deferred_error_ = make_error_code(client_errc::no_committed_offset);
                        } else {
                            s.state = partition_slot::start::reset;
                            s.reset_to = self->cfg_.auto_offset_reset == offset_reset::earliest ? offset::beginning
                                                                                               : offset::end;
                            reset.push_back(i);
                        }
                    } else if (action == group_action::fatal || action == group_action::fail_request) {
                        s.state = partition_slot::start::committed;
                        s.paused = true;
                        self->deferred_error_ = kafka_error(perr);
                    } else {
                        if (action == group_action::rediscover_coordinator) self->coordinator_lost();
                        s.state = partition_slot::start::committed;
                        retry.push_back(i);
                    }
                }
                if (!reset.empty()) self->list_offsets(std::move(reset));
                if (!retry.empty()) {
                    self->resolve_offsets_later();
                }
                self->schedule_fetch();
                self->try_complete_poll();
            }, {.min_version = 1, .max_version = 7});
    });
}

void consumer_impl::list_offsets(std::vector<std::uint32_t> slots) {
    std::map<std::int32_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>> by_leader;
    std::vector<std::string> unknown;
    for (const auto i : slots) {
        auto& s = *slots_[i];
        s.state = partition_slot::start::resolving;
        const auto* t = cluster_->topic(s.topic);
        std::int32_t leader = -1;
        if (t && static_cast<std::size_t>(s.partition) < t->partitions.size())
            leader = t->partitions[static_cast<std::size_t>(s.partition)].leader;
        if (leader < 0) {
            s.state = partition_slot::start::reset;
            unknown.push_back(s.topic);
            continue;
        }
        by_leader[leader].emplace_back(i, s.incarnation);
    }
    auto self = shared_from_this();
    if (!unknown.empty())
        cluster_->refresh(unknown, [self](std::error_code) {
            self->resolve_offsets_later();
        });
    for (auto& [leader, asked] : by_leader) {
        auto conn = cluster_->broker(leader);
        if (!conn) continue;
        protocol::ListOffsetsRequest req;
        req.replica_id = -1;
        req.isolation_level = cfg_.isolation_level == isolation::read_committed ? 1 : 0;
        for (const auto& [i, inc] : asked) {
            const auto& s = *slots_[i];
            if (req.topics.empty() || req.topics.back().name != s.topic) {
                req.topics.emplace_back();
                req.topics.back().name = s.topic;
            }
            auto& p = req.topics.back().partitions.emplace_back();
            p.partition_index = s.partition;
            p.timestamp = s.reset_to == offset::beginning ? -2 : -1;
        }
        // v1: a single offset per partition; v4+ is not used because the C client's mock
        // answers it in a layout of its own (LeaderEpoch as INT64), and v1-3 serve every broker.
        conn->request(std::move(req), [self, asked = asked](std::error_code ec, protocol::ListOffsetsResponse resp, std::int16_t) {
            if (self->closed_) return;
            std::vector<std::string> refresh;
            bool retry = false;
            for (const auto& [i, inc] : asked) {
                auto& s = *self->slots_[i];
                if (s.incarnation != inc || s.state != partition_slot::start::resolving) continue;
                // Not in the answer: unknown there. A failed request: no code at all.
                std::int16_t error = ec ? wire_code(kafka_errc::unknown_server_error)
                                        : wire_code(kafka_errc::unknown_topic_or_partition);
                std::int64_t found = -1;
                if (!ec)
                    for (const auto& t : resp.topics)
                        if (t.name == s.topic)
                            for (const auto& p : t.partitions)
                                if (p.partition_index == s.partition) {
                                    error = p.error_code;
                                    found = p.offset;
                                }
                if (error == 0 && found >= 0) {
                    s.state = partition_slot::start::ready;
                    s.fetch_offset = found;
                    s.tracker.reset(found);
                    continue;
                }
                s.state = partition_slot::start::reset;
                if (error > 0 && !is_retriable(error)) {
                    s.paused = true;
                    self->deferred_error_ = kafka_error(error);
                    continue;
                }
                refresh.push_back(s.topic);
                retry = true;
            }
            if (retry)
                self->cluster_->refresh(refresh, [self](std::error_code) {
                    self->resolve_offsets_later();
                });
            self->schedule_fetch();
            self->try_complete_poll();
        }, {.min_version = 1, .max_version = 3});
    }
}

void consumer_impl::on_acked(partition_slot& s) {
    if (cfg_.commit.k == commit_policy::kind::interval && cfg_.commit.every.count() == 0 &&
        s.tracker.committable() > s.committed)
        schedule_commit();
}

void consumer_impl::schedule_commit() {
    if (commit_scheduled_ || closed_ || cfg_.group_id.empty()) return;
    if (cfg_.commit.k != commit_policy::kind::interval || cfg_.commit.every.count() != 0) return;
    commit_scheduled_ = true;
    // Posted: the acknowledgements of one handler run share one commit.
    net::post(ex_, [self = shared_from_this()] {
        self->commit_scheduled_ = false;
        self->commit_marked();
    });
}

void consumer_impl::arm_commit_timer() {
    if (commit_timer_armed_ || cfg_.group_id.empty()) return;
    if (cfg_.commit.k != commit_policy::kind::interval || cfg_.commit.every.count() == 0) return;
    commit_timer_armed_ = true;
    commit_timer_.expires_after(cfg_.commit.every);
    commit_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        self->commit_timer_armed_ = false;
        if (ec || self->closed_) return;
        self->commit_marked();
        self->arm_commit_timer();
    });
}

void consumer_impl::commit_marked() {
    if (commit_in_flight_) {
        commit_again_ = true;
        return;
    }
    std::map<std::uint32_t, std::int64_t> offsets;
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        const auto& s = *slots_[i];
        if (s.assigned && s.state == partition_slot::start::ready && s.tracker.committable() > s.committed)
            offsets[i] = s.tracker.committable();
    }
    const auto round = ++commit_round_;
    auto self = shared_from_this();
    auto done = [self, round](std::error_code ec) {
        self->commit_in_flight_ = false;
        // Waiters of this round (and earlier) complete with its outcome.
        std::list<commit_waiter> ready;
        for (auto it = self->commit_waiters_.begin(); it != self->commit_waiters_.end();) {
            auto next = std::next(it);
            if (it->round <= round) ready.splice(ready.end(), self->commit_waiters_, it);
            it = next;
        }
        self->complete_ack_waiters({});
        for (auto& w : ready) w.handler(ec);
        if (self->commit_again_) {
            self->commit_again_ = false;
            self->commit_marked();
        }
    };
    if (offsets.empty() || cfg_.group_id.empty()) {
        commit_in_flight_ = true;
        net::post(ex_, [done] { done({}); });
        return;
    }
    commit_in_flight_ = true;
    send_commit(std::move(offsets), std::move(done));
}

void consumer_impl::send_commit(std::map<std::uint32_t, std::int64_t> offsets, std::function<void(std::error_code)> done) {
    // Fenced (or otherwise fatally failed): this member may commit nothing more; the instance
    // that replaced it resumes from what was committed before.
    if (fatal_) return done(fatal_);
    // The ownership each offset was read under: it goes out only while that ownership lasts. A
    // partition lost (and perhaps assigned to us again) while the coordinator is looked up or
    // between retries must not get its previous ownership's offset under the member's new epoch:
    // that would move the group's commit back below what the owner in between committed.
    std::map<std::uint32_t, std::uint32_t> ownerships;
    for (const auto& [i, off] : offsets) ownerships[i] = slots_[i]->ownership;
    auto self = shared_from_this();
    with_coordinator([self, offsets = std::move(offsets), ownerships,
                      done = std::move(done)](std::error_code ec) mutable {
        if (ec) return done(ec);
        std::erase_if(offsets, [&](const auto& e) { return self->slots_[e.first]->ownership != ownerships[e.first]; });
        if (offsets.empty()) return done({});
        protocol::OffsetCommitRequest req;
        req.group_id = self->cfg_.group_id;
        // KIP-848 members commit with their epoch, classic ones with their generation.
        const bool member = self->consumer_protocol();
        req.generation_id_or_member_epoch =
            !self->subscribed_ ? -1 : member ? self->generation_ : self->classic_.generation();
        req.member_id = !self->subscribed_ ? std::string() : member ? self->member_id_ : self->classic_.member_id();
        req.group_instance_id = self->subscribed_ ? self->cfg_.group_instance_id : std::nullopt;
        // The membership this commit speaks for: a classic member's generation is settled only
        // while it is not joining, and each join begins a new one (join_epoch_).
        const bool sent_joining = self->joining_;
        const auto join_epoch = self->join_epoch_;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> sent;
        for (const auto& [i, off] : offsets) {
            const auto& s = *self->slots_[i];
            if (req.topics.empty() || req.topics.back().name != s.topic) {
                req.topics.emplace_back();
                req.topics.back().name = s.topic;
            }
            auto& p = req.topics.back().partitions.emplace_back();
            p.partition_index = s.partition;
            p.committed_offset = off;
            p.committed_metadata = std::string();
            sent.emplace_back(i, s.incarnation);
        }
        ++self->commits_sent_;
        self->cluster_->broker(self->coordinator_)
            ->request(std::move(req),
                      [self, offsets = std::move(offsets), ownerships, sent, sent_joining, join_epoch,
                       done = std::move(done)](
                          std::error_code ec2, protocol::OffsetCommitResponse resp, std::int16_t) mutable {
                          if (self->closed_) return done(make_error_code(client_errc::closed));
                          std::int16_t worst = 0;
                          for (const auto& [i, inc] : sent) {
                              auto& s = *self->slots_[i];
                              std::int16_t error = ec2 ? wire_code(kafka_errc::none)
                                                       : wire_code(kafka_errc::unknown_topic_or_partition);
                              if (!ec2)
                                  for (const auto& t : resp.topics)
                                      if (t.name == s.topic)
                                          for (const auto& p : t.partitions)
                                              if (p.partition_index == s.partition) error = p.error_code;
                              if (error == 0 && !ec2) {
                                  if (s.incarnation == inc) s.committed = std::max(s.committed, offsets[i]);
                              } else if (worst == 0) {
                                  worst = error;
                              }
                          }
                          const auto action = classify_group_error(group_api::commit, worst, static_cast<bool>(ec2));
                          auto retry_later = [self, offsets, ownerships, done]() mutable {
                              auto timer = std::make_shared<net::steady_timer>(self->ex_, self->cfg_.retry_backoff);
                              timer->async_wait([self, timer, offsets, ownerships, done](std::error_code e) mutable {
                                  if (e || self->closed_) return done(make_error_code(net::error::operation_aborted));
                                  // Only what is still ours under the same ownership, at what is
                                  // marked now (a partition whose start is being resolved again
                                  // has nothing marked yet: its tracker is its last life's).
                                  std::map<std::uint32_t, std::int64_t> again;
                                  for (const auto& [i, off] : offsets) {
                                      const auto& s = *self->slots_[i];
                                      if (s.assigned && s.ownership == ownerships[i] &&
                                          s.state == partition_slot::start::ready &&
                                          s.tracker.committable() > s.committed)
                                          again[i] = s.tracker.committable();
                                  }
                                  if (again.empty()) return done({});
                                  self->send_commit(std::move(again), std::move(done));
                              });
                          };
                          if (self->consumer_protocol()) {
                              switch (classify_member_commit_error(worst, static_cast<bool>(ec2))) {
                                  case member_commit_action::none: return done({});
                                  case member_commit_action::rediscover_coordinator:
                                      self->coordinator_lost();
                                      return retry_later();
                                  case member_commit_action::retry: return retry_later();  // with the epoch by then
                                  case member_commit_action::fatal:
                                      self->set_fatal(kafka_error(worst));
                                      return done(kafka_error(worst));
                                  case member_commit_action::fail:
                                      // Fenced or unknown: the heartbeat finds out and rejoins;
                                      // per-partition problems are reported as under classic.
                                      if (to_kafka_errc(worst) != kafka_errc::unknown_member_id &&
                                          to_kafka_errc(worst) != kafka_errc::fenced_member_epoch &&
                                          self->cfg_.commit.k != commit_policy::kind::manual)
                                          self->deferred_error_ = kafka_error(worst);
                                      return done(kafka_error(worst));
                              }
                          }
                          // A verdict on a membership this member has already left -- the commit
                          // went out during a join, or a join began since -- says nothing about
                          // the current one: a commit sent under generation N and answered
                          // ILLEGAL_GENERATION after the join to N+1 completed must not reset
                          // N+1, nor start another join (a coordinator that rebalances on every
                          // JoinGroup, as the C client's mock cluster does, then never settles). The offsets
                          // go again under the current generation once the join is over; a join
                          // in progress commits what it held back when it is assigned.
                          const bool membership_left =
                              self->subscribed_ && (sent_joining || join_epoch != self->join_epoch_);
                          if (membership_left &&
                              (action == group_action::rejoin || action == group_action::reset_and_rejoin)) {
                              if (self->joining_) return done(kafka_error(worst));
                              return retry_later();
                          }
                          switch (action) {
                              case group_action::none:
                                  return done({});
                              case group_action::rediscover_coordinator:
                                  self->coordinator_lost();
                                  return retry_later();
                              case group_action::retry:
                                  return retry_later();
                              case group_action::rejoin:
                                  // A rebalance is under way: join it, and send the offsets again
                                  // (with the generation current by then) -- a broker accepts them
                                  // once the group is past its CompletingRebalance step.
                                  // While we are the ones rejoining (an eager member committing
                                  // before it gives its partitions up), the join must not wait:
                                  // the offsets stay uncommitted, and whoever gets the
                                  // partitions re-reads from the last commit -- repeated, never
                                  // skipped.
                                  if (self->joining_) return done(kafka_error(worst));
                                  self->request_rejoin();
                                  return retry_later();
                              case group_action::reset_and_rejoin:
                                  self->classic_.on_membership_lost(worst);
                                  self->lose_all();
                                  self->request_rejoin();
                                  return done(kafka_error(worst));
                              case group_action::fatal:
                                  self->set_fatal(kafka_error(worst));
                                  return done(kafka_error(worst));
                              default:
                                  if (self->cfg_.commit.k != commit_policy::kind::manual)
                                      self->deferred_error_ = kafka_error(worst);
                                  return done(kafka_error(worst));
                          }
                      },
                      // v9: KIP-848 members must commit at 9+ (the broker refuses older versions).
                      {.min_version = 1, .max_version = std::int16_t(self->consumer_protocol() ? 9 : 8)});
    });
}

void consumer_impl::complete_ack_waiters(std::error_code ec) {
    for (auto it = ack_waiters_.begin(); it != ack_waiters_.end();) {
        auto next = std::next(it);
        const auto& s = *slots_[it->slot];
        std::optional<std::error_code> outcome;
        if (ec) outcome = ec;
        else if (s.incarnation != it->incarnation || !s.assigned) outcome = make_error_code(client_errc::partition_revoked);
        else if (s.committed > it->offset) outcome = std::error_code{};
        if (outcome) {
            auto done = std::move(it->done);
            ack_waiters_.erase(it);
            done(*outcome);
        }
        it = next;
    }
}

void consumer_impl::commit(std::vector<partition_offset> offsets, bool all_marked, commit_handler h) {
    std::function<void(std::error_code)> done = completion(ex_, std::move(h), stop_waiting);
    if (cfg_.group_id.empty()) return done(make_error_code(client_errc::invalid_config));
    if (closed_) return done(make_error_code(client_errc::closed));
    if (all_marked) {
        commit_waiters_.push_back({commit_round_ + 1, std::move(done)});
        return commit_marked();
    }
    std::map<std::uint32_t, std::int64_t> explicit_offsets;
    for (const auto& o : offsets) {
        const auto i = slot_for(o.topic, o.partition);
        explicit_offsets[i] = o.offset;
        // Explicit offsets are the application's word: the tracker moves with them.
        if (slots_[i]->assigned && o.offset > slots_[i]->tracker.committable()) slots_[i]->tracker.reset(o.offset);
    }
    send_commit(std::move(explicit_offsets), std::move(done));
}

void consumer_impl::committed(std::vector<topic_partition> tps, committed_handler handler) {
    auto finish = completion(ex_, std::move(handler), stop_waiting);
    if (cfg_.group_id.empty()) return finish(make_error_code(client_errc::invalid_config), std::map<topic_partition, std::int64_t>{});
    auto self = shared_from_this();
    with_coordinator([self, tps, finish](std::error_code ec) {
        if (ec) return finish(ec, std::map<topic_partition, std::int64_t>{});
        protocol::OffsetFetchRequest req;
        req.group_id = self->cfg_.group_id;
        req.topics.emplace();
        for (const auto& tp : tps) {
            if (req.topics->empty() || req.topics->back().name != tp.topic) {
                req.topics->emplace_back();
                req.topics->back().name = tp.topic;
            }
            req.topics->back().partition_indexes.push_back(tp.partition);
        }
        self->cluster_->broker(self->coordinator_)
            ->request(std::move(req), [finish](std::error_code ec2, protocol::OffsetFetchResponse resp, std::int16_t) {
                if (!ec2 && resp.error_code) ec2 = kafka_error(resp.error_code);
                std::map<topic_partition, std::int64_t> out;
                for (const auto& t : resp.topics)
                    for (const auto& p : t.partitions) {
                        if (p.error_code && !ec2) ec2 = kafka_error(p.error_code);
                        out[{t.name, p.partition_index}] = p.committed_offset;
                    }
                finish(ec2, std::move(out));
            }, {.min_version = 1, .max_version = 7});
    });
}

void consumer_impl::close(commit_handler h) {
    std::function<void(std::error_code)> done = completion(ex_, std::move(h), stop_waiting);
    if (closed_ || closing_) return done(make_error_code(client_errc::closed));
    closing_ = true;
    auto self = shared_from_this();
    auto leave_and_shut = [self, done](std::error_code ec) {
        self->leave_group([self, done, ec] {
            self->close_fetch_sessions([self, done, ec] {
                self->shutdown();
                done(ec);
            });
        });
    };
    const auto tps = owned();
    if (cfg_.group_id.empty()) {
        if (subscribed_ && listener_.revoked && !tps.empty()) listener_.revoked(tps);
        return leave_and_shut({});
    }
    commit_waiters_.push_back({commit_round_ + 1,
                               [self, tps, leave_and_shut](std::error_code ec) {
                                   if (self->subscribed_ && self->listener_.revoked && !tps.empty())
                                       self->listener_.revoked(tps);
                                   leave_and_shut(ec);
                               }});
    commit_marked();
}

}  // namespace kwire::client::detail

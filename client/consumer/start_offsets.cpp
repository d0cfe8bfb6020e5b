// Where an assigned partition starts: its committed offset through OffsetFetch, else
// auto.offset.reset through ListOffsets (also for seeks to beginning or end), retried after
// retry.backoff.ms. See consumer_impl.hpp for a partition's life.
#include "consumer/consumer_impl.hpp"
#include "kwire/protocol/messages/list_offsets.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"

namespace kwire::client::detail {

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

}  // namespace kwire::client::detail

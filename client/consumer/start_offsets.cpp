// Where an assigned partition starts: OffsetFetch on assignment, ListOffsets for
// auto.offset.reset and seeks to the beginning or end, retried with backoff. See start_offsets.hpp.
#include "consumer/start_offsets.hpp"

#include <boost/asio/steady_timer.hpp>

#include "group/coordinator.hpp"
#include "group/group_errors.hpp"
#include "observe/logger.hpp"
#include "kwire/protocol/messages/list_offsets.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"

namespace kwire::client::detail {

void start_offsets::resolve() {
    std::vector<std::uint32_t> committed, reset;
    for (std::uint32_t i = 0; i < core_.slots.size(); ++i) {
        auto& s = core_.slots[i];
        if (!s.assigned) continue;
        if (s.state == partition_slot::start::committed) committed.push_back(i);
        else if (s.state == partition_slot::start::reset) reset.push_back(i);
    }
    if (!committed.empty()) fetch_committed(std::move(committed));
    if (!reset.empty()) list_offsets(std::move(reset));
}

void start_offsets::resolve_later() {
    auto timer = std::make_shared<net::steady_timer>(core_.ex, backoff_(++failures_));
    timer->async_wait([this, keep = core_.keep(), timer](std::error_code e) {
        if (!e && !core_.closed) resolve();
    });
}

void start_offsets::answered(bool retry) {
    if (retry) resolve_later();
    else failures_ = 0;
    changed_();
}

void start_offsets::fetch_committed(std::vector<std::uint32_t> slots) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> asked;
    for (const auto i : slots) {
        core_.slots[i].state = partition_slot::start::resolving;
        asked.emplace_back(i, core_.slots[i].incarnation);
    }
    coordinator_.with([this, keep = core_.keep(), asked](std::error_code ec) {
        if (ec || core_.closed) return;
        protocol::OffsetFetchRequest req;
        req.group_id = core_.cfg.group_id;
        req.topics.emplace();
        for (const auto& [i, inc] : asked) {
            const auto& s = core_.slots[i];
            if (req.topics->empty() || req.topics->back().name != s.topic) {
                req.topics->emplace_back();
                req.topics->back().name = s.topic;
            }
            req.topics->back().partition_indexes.push_back(s.partition);
        }
        req.require_stable = true;
        coordinator_.broker()->request(
            std::move(req), [this, keep, asked](std::error_code ec2, protocol::OffsetFetchResponse resp, std::int16_t) {
                if (core_.closed) return;
                std::int16_t error = ec2 ? 0 : resp.error_code;
                std::vector<std::uint32_t> reset, retry;
                for (const auto& [i, inc] : asked) {
                    auto& s = core_.slots[i];
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
                        } else if (core_.cfg.auto_offset_reset == offset_reset::none) {
                            s.state = partition_slot::start::committed;
                            s.paused = true;
                            core_.deferred_error = make_error_code(client_errc::no_committed_offset);
                        } else {
                            s.state = partition_slot::start::reset;
                            s.reset_to = core_.cfg.auto_offset_reset == offset_reset::earliest ? offset::beginning
                                                                                               : offset::end;
                            KWIRE_LOG(core_.brokers->log(), log_level::info, log_context::consumer,
                                      s.topic + "-" + std::to_string(s.partition) + ": no committed offset for group " +
                                          core_.cfg.group_id + ": starting at the " +
                                          (s.reset_to == offset::beginning ? "beginning" : "end") +
                                          " (auto.offset.reset)");
                            reset.push_back(i);
                        }
                    } else if (action == group_action::fatal || action == group_action::fail_request) {
                        s.state = partition_slot::start::committed;
                        s.paused = true;
                        core_.deferred_error = kafka_error(perr);
                    } else {
                        if (action == group_action::rediscover_coordinator) coordinator_.lost();
                        s.state = partition_slot::start::committed;
                        retry.push_back(i);
                    }
                }
                if (!reset.empty()) list_offsets(std::move(reset));
                answered(!retry.empty());
            }, {.min_version = 1, .max_version = 7});
    });
}

void start_offsets::list_offsets(std::vector<std::uint32_t> slots) {
    std::map<std::int32_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>> by_leader;
    std::vector<std::string> unknown;
    for (const auto i : slots) {
        auto& s = core_.slots[i];
        s.state = partition_slot::start::resolving;
        const auto* t = core_.brokers->topic(s.topic);
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
    if (!unknown.empty())
        core_.brokers->refresh(unknown, [this, keep = core_.keep()](std::error_code) { resolve_later(); });
    for (auto& [leader, asked] : by_leader) {
        auto conn = core_.brokers->broker(leader);
        if (!conn) continue;
        protocol::ListOffsetsRequest req;
        req.replica_id = -1;
        req.isolation_level = core_.cfg.isolation_level == isolation::read_committed ? 1 : 0;
        for (const auto& [i, inc] : asked) {
            const auto& s = core_.slots[i];
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
        conn->request(std::move(req), [this, keep = core_.keep(), asked = asked](std::error_code ec, protocol::ListOffsetsResponse resp, std::int16_t) {
            if (core_.closed) return;
            std::vector<std::string> refresh;
            bool retry = false;
            for (const auto& [i, inc] : asked) {
                auto& s = core_.slots[i];
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
                    KWIRE_LOG(core_.brokers->log(), log_level::debug, log_context::consumer,
                              s.topic + "-" + std::to_string(s.partition) + ": reset to offset " + std::to_string(found));
                    s.state = partition_slot::start::ready;
                    s.fetch_offset = found;
                    s.tracker.reset(found);
                    continue;
                }
                s.state = partition_slot::start::reset;
                if (error > 0 && !is_retriable(error)) {
                    s.paused = true;
                    core_.deferred_error = kafka_error(error);
                    continue;
                }
                refresh.push_back(s.topic);
                retry = true;
            }
            if (retry)
                core_.brokers->refresh(refresh, [this, keep](std::error_code) { resolve_later(); });
            else
                failures_ = 0;
            changed_();
        }, {.min_version = 1, .max_version = 3});
    }
}

}  // namespace kwire::client::detail

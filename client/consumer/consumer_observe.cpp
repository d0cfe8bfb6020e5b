// The consumer's instruments and statistics fields (consumer/consumer_observe.hpp).
#include "consumer/consumer_observe.hpp"

#include <algorithm>
#include <optional>

#include "consumer/consumer_core.hpp"
#include "observe/logger.hpp"
#include "observe/statistics.hpp"

namespace kwire::client::detail {

namespace {
metric_labels client_labels(const std::string& client_id, std::optional<std::int32_t> broker = {}) {
    metric_labels l;
    l.client_id = client_id;
    l.broker = broker;
    return l;
}

std::string names(const std::vector<topic_partition>& tps) {
    std::string out;
    for (const auto& tp : tps) {
        if (!out.empty()) out += ", ";
        out += tp.topic + "-" + std::to_string(tp.partition);
    }
    return out.empty() ? "none" : out;
}

std::uint64_t micros_since(clock::time_point t) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t).count();
    return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

metric_labels partition_labels(const std::string& client_id, const std::string& topic, std::int32_t partition) {
    metric_labels l;
    l.client_id = client_id;
    l.topic = topic;
    l.partition = partition;
    return l;
}

std::string_view fetch_state(const partition_slot& s) {
    if (s.paused) return "stopped";
    return s.state == partition_slot::start::ready ? "active" : "offset-query";
}
}  // namespace

partition_meters::partition_meters(metrics_registry& r, const std::string& client_id, const std::string& topic,
                                   std::int32_t partition)
    : records(r.counter("records-consumed-total", "records handed to the application",
                        partition_labels(client_id, topic, partition))),
      bytes(r.counter("bytes-consumed-total", "key and value bytes of the records handed to the application",
                      partition_labels(client_id, topic, partition))),
      lag(r.gauge("records-lag", "the high watermark minus the consumer's position",
                  partition_labels(client_id, topic, partition))) {}

fetch_meters::fetch_meters(metrics_registry& r, const std::string& client_id, std::int32_t broker)
    : fetches(r.counter("fetch-total", "Fetch requests answered", client_labels(client_id, broker))),
      latency(r.histogram("fetch-latency", "from a Fetch written to its answer (includes fetch.max.wait.ms)",
                          client_labels(client_id, broker))) {}

consumer_meters::consumer_meters(metrics_registry& r, const std::string& client_id)
    : registry(r),
      lag_max(r.gauge("records-lag-max", "the largest records-lag of the consumer's partitions", client_labels(client_id))),
      commits(r.counter("commit-total", "OffsetCommit requests answered", client_labels(client_id))),
      commits_failed(r.counter("commit-failed-total", "OffsetCommit requests that failed", client_labels(client_id))),
      commit_latency(r.histogram("commit-latency", "from an OffsetCommit written to its answer", client_labels(client_id))),
      rebalances(r.counter("rebalance-total", "rebalances that ended with partitions taken", client_labels(client_id))),
      rebalance_latency(r.histogram("rebalance-latency", "from a join or reconciliation to the partitions taken",
                                    client_labels(client_id))),
      assigned(r.gauge("assigned-partitions", "partitions assigned to the consumer", client_labels(client_id))) {}

void update_lag(consumer_core& core) {
    if (!core.meters) return;
    std::int64_t max = 0;
    for (std::uint32_t i = 0; i < core.slots.size(); ++i) {
        auto& s = core.slots[i];
        if (!s.ready() || s.high_watermark < 0) continue;
        const auto lag = std::max<std::int64_t>(0, s.high_watermark - s.tracker.end());
        if (s.meters) s.meters->lag.set(lag);
        max = std::max(max, lag);
    }
    core.meters->lag_max.set(max);
}

void rebalance_began(consumer_core& core) {
    if (core.rebalancing) return;
    core.rebalancing = true;
    core.rebalance_start = clock::now();
    KWIRE_LOG(core.brokers->log(), log_level::debug, log_context::group,
              "group " + core.cfg.group_id + ": rebalance begins");
}

void rebalance_ended(consumer_core& core, const std::vector<topic_partition>& added, std::int32_t generation) {
    const auto us = core.rebalancing ? micros_since(core.rebalance_start) : 0;
    if (core.meters) {
        core.meters->rebalances.add();
        if (core.rebalancing) core.meters->rebalance_latency.record(us);
    }
    core.rebalancing = false;
    KWIRE_LOG(core.brokers->log(), log_level::info, log_context::group,
              "group " + core.cfg.group_id + " generation " + std::to_string(generation) + ": assigned " +
                  names(added) + " (" + std::to_string(core.slots.owned().size()) + " owned, rebalance took " +
                  std::to_string(us / 1000) + " ms)");
}

void log_revoked(consumer_core& core, const std::vector<topic_partition>& tps, bool lost) {
    if (tps.empty()) return;
    KWIRE_LOG(core.brokers->log(), lost ? log_level::warn : log_level::info, log_context::group,
              "group " + core.cfg.group_id + ": " + (lost ? "lost " : "revoked ") + names(tps) +
                  (lost ? " (no commit: the membership ended)" : ""));
}

void write_consumer_statistics(statistics_document& doc, const consumer_core& core, const group_view& group) {
    auto& top = doc.top();
    top["rxmsgs"] = doc.total("records-consumed-total").value_or(0);
    top["rxmsg_bytes"] = doc.total("bytes-consumed-total").value_or(0);

    std::size_t assigned = 0;
    for (std::uint32_t i = 0; i < core.slots.size(); ++i) {
        const auto& s = core.slots[i];
        if (!s.assigned) continue;
        ++assigned;
        auto& p = doc.partition(s.topic, s.partition);
        const bool ready = s.state == partition_slot::start::ready;
        const std::int64_t app = ready ? s.tracker.end() : -1;
        std::int64_t fetched = 0;
        for (const auto& c : s.buffered) fetched += static_cast<std::int64_t>(c.records.size() - c.next);
        p["desired"] = true;
        p["fetch_state"] = fetch_state(s);
        p["next_offset"] = ready ? s.fetch_offset : -1;
        p["app_offset"] = app;
        p["committed_offset"] = s.committed;
        p["hi_offset"] = s.high_watermark;
        const auto consumed = std::max(app, s.committed);
        p["consumer_lag"] = s.high_watermark >= 0 && consumed >= 0 ? std::max<std::int64_t>(0, s.high_watermark - consumed) : -1;
        p["fetchq_cnt"] = fetched;
        const auto rx = doc.total("records-consumed-total", {}, s.topic, s.partition).value_or(0);
        p["rxmsgs"] = rx;
        p["rxbytes"] = doc.total("bytes-consumed-total", {}, s.topic, s.partition).value_or(0);
        p["msgs"] = rx;
    }

    if (!group.subscribed) return;
    auto& cgrp = doc.section("cgrp");
    cgrp["state"] = group.coordinator_known ? "up" : "query-coord";
    cgrp["joinstate"] = group.join_state;
    cgrp["rebalance_cnt"] = group.rebalances;
    cgrp["rebalance_age"] =
        group.rebalances ? std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                 group.last_rebalance)
                               .count()
                         : 0;
    cgrp["assignment_size"] = assigned;
}

}  // namespace kwire::client::detail

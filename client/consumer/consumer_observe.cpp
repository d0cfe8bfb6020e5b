// The consumer's instruments and statistics fields (consumer/consumer_observe.hpp).
#include "consumer/consumer_observe.hpp"

#include <algorithm>

#include "consumer/consumer_core.hpp"
#include "observe/statistics.hpp"

namespace kwire::client::detail {

namespace {
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

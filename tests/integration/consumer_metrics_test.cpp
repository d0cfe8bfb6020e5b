// The consumer's metrics and log lines (consumer/consumer_observe.hpp) over a classic group run
// against librdkafka's mock cluster: records and bytes consumed, lag while records wait and none
// after, fetches, commits (one refused by the coordinator), the rebalance, and the `group` and
// `consumer` log lines that say what happened.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "consumer_fixture.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/metrics.hpp"
#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "observe_fixture.hpp"
#include "producer_fixture.hpp"

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

using kwire::test::driver;
using kwire::test::run_until;
namespace kc = kwire::client;

constexpr std::int16_t offset_commit_api = 8;
constexpr std::int16_t coordinator_load_in_progress = 14;

struct log_lines {
    std::vector<std::string> lines;
    kc::log_handler handler() {
        return [this](const kc::log_record& r) {
            lines.push_back(std::string(to_string(r.context)) + ": " + std::string(r.message));
        };
    }
    bool has(const std::string& a, const std::string& b = {}) const {
        for (const auto& l : lines)
            if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
        return false;
    }
    std::string all() const {
        std::string out;
        for (const auto& l : lines) out += l + "\n";
        return out;
    }
};

std::uint64_t histogram_count(const kc::metrics_registry& r, std::string_view name, const kc::metric_labels& l) {
    for (const auto& s : r.snapshot())
        if (s.name == name && s.labels == l) return s.histogram.count;
    return 0;
}

}  // namespace

TEST(ConsumerMetrics, GroupRunCountsRecordsLagFetchesCommitsAndTheRebalance) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("cm", 1, 1);
    constexpr int records = 40;
    kwire::test::produce_ten_byte_records(mc, "cm", records);
    net::io_context io;
    auto registry = std::make_shared<kc::metrics_registry>();
    log_lines logs;
    auto cfg = kwire::test::observed_consumer(mc, "cm-consumer", "g-cm");
    cfg.max_poll_records = 10;
    cfg.metrics = registry;
    cfg.log.handler = logs.handler();
    cfg.log.level = kc::log_level::info;
    mc.push_request_errors(offset_commit_api, {coordinator_load_in_progress});  // the first commit is refused
    kwire::consumer c(io.get_executor(), cfg);
    c.subscribe({"cm"});
    const kc::metric_labels me{.client_id = "cm-consumer"};
    const kc::metric_labels p0{.client_id = "cm-consumer", .topic = "cm", .partition = 0};
    driver d(c);
    std::vector<std::pair<std::int64_t, std::int64_t>> lag_at;  // offset, records-lag while handing it out
    d.on = [&](const kwire::consumer_record& r) {
        lag_at.emplace_back(r.offset, registry->total("records-lag", p0).value_or(-1));
        r.ack();
    };
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() == records || d.error; }, 30s)) << d.error.message();
    // Everything is committed (after the refused attempt) and a later fetch saw no lag.
    ASSERT_TRUE(run_until(io, [&] {
        return registry->total("commit-total", me).value_or(0) >= 2 && c.committable({"cm", 0}) == records &&
               registry->total("records-lag-max", me) == 0;
    }, 10s));

    EXPECT_EQ(registry->total("records-consumed-total", p0), records);
    EXPECT_EQ(registry->total("bytes-consumed-total", p0), records * 10);
    // While a poll handed out a batch of at most 10, the rest of the 40 waited: lag is the high
    // watermark minus the offset after that batch, so never less than 40 - offset - 10 and never
    // more than 40 - offset - 1.
    ASSERT_EQ(lag_at.size(), static_cast<std::size_t>(records));
    for (const auto& [offset, lag] : lag_at) {
        EXPECT_LE(lag, records - offset - 1) << "offset " << offset;
        EXPECT_GE(lag, records - offset - 10) << "offset " << offset;
    }
    EXPECT_EQ(registry->total("records-lag", p0), 0);

    const kc::metric_labels broker1{.client_id = "cm-consumer", .broker = 1};
    const auto fetches = registry->total("fetch-total", broker1).value_or(0);
    EXPECT_GE(fetches, 1);
    EXPECT_EQ(static_cast<std::int64_t>(histogram_count(*registry, "fetch-latency", broker1)), fetches);

    const auto commits = registry->total("commit-total", me).value_or(0);
    EXPECT_EQ(registry->total("commit-failed-total", me), 1);
    EXPECT_EQ(static_cast<std::int64_t>(histogram_count(*registry, "commit-latency", me)), commits);
    EXPECT_TRUE(logs.has("group: group g-cm: offset commit", "failed: ")) << logs.all();
    EXPECT_TRUE(logs.has("retrying")) << logs.all();

    EXPECT_EQ(registry->total("rebalance-total", me), 1);
    EXPECT_EQ(histogram_count(*registry, "rebalance-latency", me), 1u);
    EXPECT_EQ(registry->total("assigned-partitions", me), 1);
    EXPECT_TRUE(logs.has("group: group g-cm: coordinator is broker 1")) << logs.all();
    EXPECT_TRUE(logs.has("group: group g-cm generation ", ": assigned cm-0 (1 owned")) << logs.all();
    EXPECT_TRUE(logs.has("consumer: cm-0: no committed offset for group g-cm: starting at the beginning")) << logs.all();
}

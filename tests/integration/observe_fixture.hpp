// What the consumer observability tests share: ten-byte records written to partition 0 of a
// topic on librdkafka's mock cluster, and a group consumer configured to fetch them briskly.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "producer_fixture.hpp"

namespace kwire::test {

/// Produces `n` records of the ten bytes "0123456789" to `topic`/0.
inline void produce_ten_byte_records(const kwire::peers::mock_cluster& mc, const std::string& topic, int n) {
    boost::asio::io_context io;
    kwire::producer p(io.get_executor(), config_for(mc));
    int acked = 0;
    for (int i = 0; i < n; ++i)
        p.send({.topic = topic, .value = bv("0123456789"), .partition = 0},
               [&](boost::system::error_code ec, kwire::delivery) { acked += !ec; });
    if (!run_until(io, [&] { return acked == n; })) throw std::runtime_error("produce timed out");
}

/// A member of `group` reading from the beginning, heartbeating and fetching every 100 ms.
inline kwire::consumer_config observed_consumer(const kwire::peers::mock_cluster& mc, const std::string& client_id,
                                                const std::string& group) {
    using namespace std::chrono_literals;
    kwire::consumer_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.client_id = client_id;
    cfg.group_id = group;
    cfg.auto_offset_reset = kwire::client::offset_reset::earliest;
    cfg.heartbeat_interval = 100ms;
    cfg.fetch_max_wait = 100ms;
    cfg.retry_backoff = 20ms;
    return cfg;
}

}  // namespace kwire::test

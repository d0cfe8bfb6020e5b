// The producer seen from outside: errors that say why (a delivery timeout naming the Kafka error
// a leader kept answering with), against the scripted cluster, whose Produce answers each test
// writes itself.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <string>

#include "kwire/client/producer.hpp"
#include "kwire/protocol/messages/produce.hpp"
#include "producer_fixture.hpp"
#include "scripted_broker.hpp"

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

using kwire::test::bv;
using kwire::test::run_until;
using kwire::test::scripted_cluster;
namespace kp = kwire::protocol;

constexpr std::int16_t produce_key = 0;
constexpr std::int16_t not_leader_or_follower = 6;

/// Answers every partition of every Produce with `error`.
scripted_cluster::script produce_answering(std::int16_t error, std::atomic<int>* seen = nullptr) {
    return [error, seen](const kwire::test::scripted_request& req) {
        if (seen) ++*seen;
        const auto r = req.decode<kp::ProduceRequest>();
        kp::ProduceResponse resp;
        for (const auto& t : r.topic_data) {
            auto& tr = resp.responses.emplace_back();
            tr.name = t.name;
            for (const auto& p : t.partition_data) {
                auto& pr = tr.partition_responses.emplace_back();
                pr.index = p.index;
                pr.error_code = error;
                pr.base_offset = -1;
                pr.log_append_time_ms = -1;
                pr.log_start_offset = -1;
            }
        }
        return std::optional(scripted_cluster::respond(req, resp));
    };
}

kwire::producer_config scripted_config(const scripted_cluster& c) {
    kwire::producer_config cfg;
    cfg.bootstrap_servers = c.addresses();
    cfg.required_acks = kwire::client::acks::leader;
    cfg.enable_idempotence = false;  // the scripted brokers hand out no producer ids
    cfg.linger = 0ms;
    cfg.retry_backoff = 20ms;
    return cfg;
}

}  // namespace

TEST(ProducerObserve, ADeliveryTimeoutNamesTheKafkaErrorTheLeaderKeptAnswering) {
    scripted_cluster c(3);
    c.add_topic("t", 3);  // partition 1's leader: broker 2
    std::atomic<int> produces{0};
    c.on(produce_key, produce_answering(not_leader_or_follower, &produces));
    net::io_context io;
    auto cfg = scripted_config(c);
    cfg.delivery_timeout = 1500ms;
    kwire::producer p(io.get_executor(), cfg);
    EXPECT_EQ(p.last_error(), "");
    boost::system::error_code result;
    kwire::delivery where;
    bool done = false;
    p.send({.topic = "t", .value = bv("x"), .partition = 1}, [&](boost::system::error_code ec, kwire::delivery d) {
        result = ec;
        where = d;
        done = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return done; }));
    EXPECT_EQ(result, kwire::client::client_errc::delivery_timed_out);
    EXPECT_GE(produces.load(), 2);  // retried, not given up at the first answer
    EXPECT_EQ(where.partition, 1);
    EXPECT_EQ(p.last_error("t", 1), "NOT_LEADER_OR_FOLLOWER from broker 2");
    EXPECT_EQ(p.describe(result, "t", 1),
              "record not acknowledged within delivery.timeout.ms (last error: NOT_LEADER_OR_FOLLOWER from broker 2)");
    EXPECT_EQ(p.last_error(), "NOT_LEADER_OR_FOLLOWER from broker 2");  // the producer's, over all partitions
    EXPECT_EQ(p.last_error("t", 0), "");  // a partition that saw no error
    // An error that is its own cause gets nothing added.
    EXPECT_EQ(p.describe(kwire::client::client_errc::record_too_large, "t", 1),
              make_error_code(kwire::client::client_errc::record_too_large).message());
}

// The admin client against librdkafka's mock cluster (an independent broker implementation, three
// brokers, in this process), for what the mock speaks: Metadata v0-2, ListOffsets, OffsetCommit,
// OffsetFetch, FindCoordinator, ApiVersions. And allow.auto.create.topics both ways, with the
// producer and with the admin client looking at topics.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/as_tuple.hpp>

#include <chrono>
#include <thread>

#include "admin_test_support.hpp"
#include "kwire/admin/admin.hpp"
#include "kwire/client/error.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/protocol/error.hpp"
#include "mock_cluster.hpp"

namespace {

using namespace kwire::admin;
using kwire::peers::mock_cluster;
using namespace std::chrono_literals;
namespace net = boost::asio;

admin_config config_for(const mock_cluster& mc) {
    admin_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.api_timeout = 10s;
    return cfg;
}

/// Runs one admin call (callback token) to completion.
using kwire::test::run;

bool has_topic(net::io_context& io, admin_client& admin, const std::string& name) {
    auto [ec, topics] = run<std::vector<topic_listing>>(io, [&](auto h) { admin.list_topics(true, h); });
    EXPECT_FALSE(ec) << ec.message();
    for (const auto& t : topics)
        if (t.name == name) return true;
    return false;
}

/// Produces `n` records to each partition of `topic` with kwire's producer.
void produce(const mock_cluster& mc, const std::string& topic, int partitions, int n) {
    net::io_context io;
    kwire::producer_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    kwire::producer p(io.get_executor(), cfg);
    int acked = 0;
    for (int part = 0; part < partitions; ++part)
        for (int i = 0; i < n; ++i)
            p.send({.topic = topic, .value = std::nullopt, .partition = part}, [&](std::error_code ec, kwire::delivery) {
                EXPECT_FALSE(ec) << ec.message();
                ++acked;
            });
    p.close([&](std::error_code) { io.stop(); });
    io.run_for(30s);
    ASSERT_EQ(acked, partitions * n);
}

/// librdkafka 2.0.2's mock writes the ListOffsets v4+ leader epoch as an INT64 (see
/// tests/peers/mock_cluster_test.cpp): keep it to v0-3, as a broker of that vintage would.
mock_cluster& without_broken_list_offsets(mock_cluster& mc) {
    mc.set_api_version(2, 0, 3);
    return mc;
}

class AdminMock : public ::testing::Test {
protected:
    mock_cluster mc_{3};
    mock_cluster& mc = without_broken_list_offsets(mc_);
    net::io_context io;
    admin_client admin{io.get_executor(), config_for(mc)};
};

TEST_F(AdminMock, DescribeClusterFallsBackToMetadataWhereDescribeClusterIsMissing) {
    auto [ec, d] = run<cluster_description>(io, [&](auto h) { admin.describe_cluster(h); });
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_FALSE(d.from_describe_cluster) << "librdkafka 2.0.2's mock has no DescribeCluster";
    ASSERT_EQ(d.brokers.size(), 3u);
    const auto addresses = mc.broker_addresses();
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(d.brokers[i].node_id, static_cast<int>(i + 1));
        EXPECT_EQ(d.brokers[i].host + ":" + std::to_string(d.brokers[i].port), addresses[i]);
    }
    EXPECT_TRUE(d.cluster_id.has_value());
}

TEST_F(AdminMock, ApiVersionsAsksEveryBrokerAndShowsWhatTheMockLacks) {
    auto [ec, brokers] = run<std::vector<broker_api_versions>>(io, [&](auto h) { admin.api_versions(h); });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(brokers.size(), 3u);
    for (const auto& b : brokers) {
        EXPECT_FALSE(b.error) << b.error.message();
        std::set<int> keys;
        for (const auto& a : b.apis) keys.insert(a.api_key);
        EXPECT_TRUE(keys.count(3)) << "Metadata";
        EXPECT_TRUE(keys.count(2)) << "ListOffsets";
        EXPECT_TRUE(keys.count(8)) << "OffsetCommit";
        EXPECT_TRUE(keys.count(9)) << "OffsetFetch";
        // What the admin tests against the scripted cluster cover instead:
        for (const int missing : {19, 20, 32, 44, 15, 16, 42, 21, 37, 60})
            EXPECT_FALSE(keys.count(missing)) << api_name(static_cast<std::int16_t>(missing))
                                              << ": the mock speaks it now; test it here";
    }
}

TEST_F(AdminMock, ListsAndDescribesTopicsWithLeadersReplicasAndIsr) {
    mc.create_topic("alpha", 3, 3);
    mc.create_topic("beta", 1, 1);
    mc.partition_set_leader("alpha", 0, 3);
    mc.partition_set_leader("alpha", 1, 1);
    mc.partition_set_leader("alpha", 2, 2);
    auto [ec, topics] = run<std::vector<topic_listing>>(io, [&](auto h) { admin.list_topics(false, h); });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(topics.size(), 2u);
    EXPECT_EQ(topics[0].name, "alpha");
    EXPECT_EQ(topics[0].partitions, 3);
    EXPECT_EQ(topics[1].name, "beta");
    EXPECT_EQ(topics[1].partitions, 1);

    auto [dec, described] =
        run<std::vector<topic_description>>(io, [&](auto h) { admin.describe_topics({"beta", "alpha"}, h); });
    ASSERT_FALSE(dec) << dec.message();
    ASSERT_EQ(described.size(), 2u);
    EXPECT_EQ(described[0].name, "beta");  // in the order asked
    const auto& alpha = described[1];
    EXPECT_FALSE(alpha.error);
    ASSERT_EQ(alpha.partitions.size(), 3u);
    const int leaders[] = {3, 1, 2};
    for (int p = 0; p < 3; ++p) {
        EXPECT_EQ(alpha.partitions[static_cast<std::size_t>(p)].id, p);
        EXPECT_EQ(alpha.partitions[static_cast<std::size_t>(p)].leader, leaders[p]);
        EXPECT_EQ(alpha.partitions[static_cast<std::size_t>(p)].replicas.size(), 3u);
        EXPECT_EQ(alpha.partitions[static_cast<std::size_t>(p)].isr.size(), 3u);
    }
}

TEST_F(AdminMock, DescribingAMissingTopicReportsItAndDoesNotCreateIt) {
    // The mock's Metadata (v0-2) has no auto-create flag and creates every topic a request names:
    // the admin client must ask for every topic instead.
    mc.create_topic("present", 1, 1);
    auto [ec, described] =
        run<std::vector<topic_description>>(io, [&](auto h) { admin.describe_topics({"ghost", "present"}, h); });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(described.size(), 2u);
    EXPECT_EQ(described[0].error, kwire::kafka_errc::unknown_topic_or_partition);
    EXPECT_FALSE(described[1].error);
    EXPECT_EQ(described[1].partitions.size(), 1u);
    EXPECT_FALSE(has_topic(io, admin, "ghost")) << "describing it created it";
}

TEST_F(AdminMock, ListOffsetsEarliestLatestPerPartitionAndPerItemErrors) {
    mc.create_topic("logs", 2, 1);
    produce(mc, "logs", 2, 5);
    std::vector<offset_query> q{{{"logs", 0}, offset_spec::earliest}, {{"logs", 1}, offset_spec::latest},
                                {{"logs", 0}, offset_spec::latest}, {{"logs", 7}, offset_spec::latest},
                                {{"nope", 0}, offset_spec::latest}};
    // (logs,0) twice: the first spec asked wins and it is answered once.
    auto [ec, offsets] = run<std::vector<listed_offset>>(io, [&](auto h) { admin.list_offsets(q, h); });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(offsets.size(), 4u);
    EXPECT_EQ(offsets[0].tp, (topic_partition{"logs", 0}));
    EXPECT_EQ(offsets[0].offset, 5);  // the later query for the same partition replaced earliest
    EXPECT_EQ(offsets[1].tp, (topic_partition{"logs", 1}));
    EXPECT_EQ(offsets[1].offset, 5);
    EXPECT_FALSE(offsets[1].error);
    EXPECT_EQ(offsets[2].error, kwire::kafka_errc::unknown_topic_or_partition) << "a partition the topic lacks";
    EXPECT_EQ(offsets[3].error, kwire::kafka_errc::unknown_topic_or_partition);
    EXPECT_FALSE(has_topic(io, admin, "nope"));

    auto [ec2, earliest] = run<std::vector<listed_offset>>(
        io, [&](auto h) { admin.list_offsets({{{"logs", 0}, offset_spec::earliest}}, h); });
    ASSERT_FALSE(ec2);
    ASSERT_EQ(earliest.size(), 1u);
    EXPECT_EQ(earliest[0].offset, 0);
}

TEST_F(AdminMock, GroupOffsetsCommittedForAnInactiveGroupAreListedWithTheirLag) {
    mc.create_topic("work", 2, 1);
    produce(mc, "work", 2, 10);
    auto [ec, results] = run<std::vector<partition_result>>(io, [&](auto h) {
        admin.alter_group_offsets("reporting", {{{"work", 0}, 4}, {{"work", 1}, 10}}, h);
    });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) EXPECT_FALSE(r.error) << r.tp.partition << ": " << r.error.message();

    auto [fec, committed] = run<std::vector<committed_offset>>(io, [&](auto h) { admin.list_group_offsets("reporting", h); });
    ASSERT_FALSE(fec) << fec.message();
    ASSERT_EQ(committed.size(), 2u);
    EXPECT_EQ(committed[0].tp, (topic_partition{"work", 0}));
    EXPECT_EQ(committed[0].offset, 4);
    EXPECT_EQ(committed[1].offset, 10);

    auto [lec, lag] = run<std::vector<partition_lag>>(io, [&](auto h) { admin.group_lag("reporting", h); });
    ASSERT_FALSE(lec) << lec.message();
    ASSERT_EQ(lag.size(), 2u);
    EXPECT_EQ(lag[0].end_offset, 10);
    EXPECT_EQ(lag[0].lag, 6);
    EXPECT_EQ(lag[1].lag, 0);
}

TEST_F(AdminMock, CoordinatorLoadingIsRetriedUntilItAnswers) {
    mc.create_topic("work", 1, 1);
    mc.push_request_errors(9 /*OffsetFetch*/, {14, 14});  // COORDINATOR_LOAD_IN_PROGRESS twice
    auto [ec, committed] = run<std::vector<committed_offset>>(io, [&](auto h) { admin.list_group_offsets("g", h); });
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(committed.empty());
}

TEST_F(AdminMock, AdminCallsTheMockLacksFailAsAWholeWithUnsupportedVersion) {
    auto [ec, results] = run<std::vector<topic_result>>(
        io, [&](auto h) { admin.create_topics({{.name = "x", .partitions = 1, .replication_factor = 1}}, {}, h); });
    EXPECT_EQ(ec, kwire::client::client_errc::unsupported_version);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].error, kwire::client::client_errc::unsupported_version);
}

TEST_F(AdminMock, EveryCompletionTokenWorks) {
    mc.create_topic("tokens", 2, 1);
    // use_awaitable
    std::size_t from_coroutine = 0;
    net::co_spawn(io, [&]() -> net::awaitable<void> {
        auto [ec, topics] = co_await admin.list_topics(false, net::as_tuple(net::use_awaitable));
        EXPECT_FALSE(ec);
        from_coroutine = topics.size();
        io.stop();
    }, net::detached);
    io.run_for(10s);
    EXPECT_EQ(from_coroutine, 1u);
    // use_future, with the io_context on another thread
    io.restart();
    auto guard = net::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    auto f = admin.describe_topics({"tokens"}, net::use_future);
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    const auto described = f.get();  // future<vector<topic_description>>: an error would throw system_error
    ASSERT_EQ(described.size(), 1u);
    EXPECT_EQ(described[0].partitions.size(), 2u);
    guard.reset();
    io.stop();
    runner.join();
}

TEST(AdminTimeout, AnUnreachableClusterFailsWithinTheApiTimeout) {
    net::io_context io;
    admin_config cfg;
    cfg.bootstrap_servers = {"127.0.0.1:1"};
    cfg.api_timeout = 1500ms;
    admin_client admin(io.get_executor(), cfg);
    const auto start = std::chrono::steady_clock::now();
    auto [ec, d] = run<cluster_description>(io, [&](auto h) { admin.describe_cluster(h); });
    EXPECT_TRUE(ec);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// --- allow.auto.create.topics with the producer -----------------------------------------------

struct send_outcome {
    std::error_code ec;
    kwire::delivery d;
    std::chrono::steady_clock::duration took{};
};

std::vector<send_outcome> send_to(const mock_cluster& mc, bool allow, const std::vector<std::string>& topics) {
    net::io_context io;
    kwire::producer_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.allow_auto_create_topics = allow;
    cfg.delivery_timeout = 2000ms;
    kwire::producer p(io.get_executor(), cfg);
    std::vector<send_outcome> out(topics.size());
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < topics.size(); ++i)
        p.send({.topic = topics[i], .value = std::nullopt}, [&, i](std::error_code ec, kwire::delivery d) {
            out[i] = {ec, d, std::chrono::steady_clock::now() - start};
        });
    p.close([&](std::error_code) { io.stop(); });
    io.run_for(20s);
    return out;
}

TEST(AutoCreate, FalseFailsAMissingTopicWithinTheDeliveryTimeoutAndCreatesNothing) {
    mock_cluster mc(3);
    mc.create_topic("exists", 1, 1);
    const auto out = send_to(mc, false, {"missing", "exists"});
    EXPECT_EQ(out[0].ec, kwire::kafka_errc::unknown_topic_or_partition) << out[0].ec.message();
    EXPECT_GE(out[0].took, 1900ms);
    EXPECT_LT(out[0].took, 6s);
    EXPECT_FALSE(out[1].ec) << "another topic keeps working: " << out[1].ec.message();
    net::io_context io;
    admin_client admin(io.get_executor(), config_for(mc));
    EXPECT_FALSE(has_topic(io, admin, "missing")) << "allow.auto.create.topics=false, yet the topic was created";
}

TEST(AutoCreate, TrueCreatesTheTopicAndDeliversTheRecord) {
    mock_cluster mc(3);
    const auto out = send_to(mc, true, {"fresh"});
    EXPECT_FALSE(out[0].ec) << out[0].ec.message();
    EXPECT_EQ(out[0].d.offset, 0);
    net::io_context io;
    admin_client admin(io.get_executor(), config_for(mc));
    EXPECT_TRUE(has_topic(io, admin, "fresh"));
}

}  // namespace

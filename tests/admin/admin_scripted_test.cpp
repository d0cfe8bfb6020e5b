// The admin calls librdkafka 2.0.2's mock cluster does not speak, against a scripted cluster
// (scripted_broker.hpp): routing (controller, the broker itself, the group coordinator, partition
// leaders), retries (NOT_CONTROLLER, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) and per-item
// results.
#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "admin_test_support.hpp"
#include "kwire/admin/admin.hpp"
#include "kwire/client/error.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/protocol/error.hpp"
#include "kwire/protocol/messages.hpp"
#include "scripted_broker.hpp"

namespace {

using namespace kwire::admin;
using kwire::test::scripted_cluster;
using kwire::test::scripted_request;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace kp = kwire::protocol;

using kwire::test::run;

class AdminScripted : public ::testing::Test {
protected:
    admin_config config() {
        admin_config cfg;
        cfg.bootstrap_servers = peers.addresses();
        cfg.api_timeout = 10s;
        cfg.retry_backoff = 10ms;
        return cfg;
    }
    scripted_cluster peers{3};
    net::io_context io;
    admin_client admin{io.get_executor(), config()};
};

TEST_F(AdminScripted, CreateTopicsGoesToTheControllerRetriesNotControllerAndReportsEachTopic) {
    peers.controller = 2;
    int calls = 0;
    peers.on(kp::CreateTopicsRequest::api_key, [&](const scripted_request& r) {
        const auto req = r.decode<kp::CreateTopicsRequest>();
        kp::CreateTopicsResponse resp;
        ++calls;
        for (const auto& t : req.topics) {
            auto& out = resp.topics.emplace_back();
            out.name = t.name;
            if (calls == 1) out.error_code = 41;  // NOT_CONTROLLER: the controller moved
            else if (t.name == "taken") out.error_code = 36, out.error_message = "Topic 'taken' already exists.";
            else if (t.num_partitions != 6 || t.replication_factor != 3) out.error_code = 37;
        }
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, results] = run<std::vector<topic_result>>(io, [&](auto h) {
        admin.create_topics({{.name = "orders", .partitions = 6, .replication_factor = 3, .configs = {{"cleanup.policy", "compact"}}},
                             {.name = "taken", .partitions = 6, .replication_factor = 3}},
                            {}, h);
    });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].name, "orders");
    EXPECT_FALSE(results[0].error) << results[0].error.message();
    EXPECT_EQ(results[1].name, "taken");
    EXPECT_EQ(results[1].error, kwire::kafka_errc::topic_already_exists);
    EXPECT_EQ(results[1].message, "Topic 'taken' already exists.");
    const auto sent = peers.requests(kp::CreateTopicsRequest::api_key);
    ASSERT_EQ(sent.size(), 2u);
    for (const auto& r : sent) EXPECT_EQ(r.node, 2) << "not sent to the controller";
    const auto first = sent[0].decode<kp::CreateTopicsRequest>();
    ASSERT_EQ(first.topics.size(), 2u);
    ASSERT_EQ(first.topics[0].configs.size(), 1u);
    EXPECT_EQ(first.topics[0].configs[0].name, "cleanup.policy");
    EXPECT_EQ(first.topics[0].configs[0].value, "compact");
}

TEST_F(AdminScripted, CreateTopicsWithAssignmentsAndValidateOnly) {
    peers.on(kp::CreateTopicsRequest::api_key, [&](const scripted_request& r) {
        kp::CreateTopicsResponse resp;
        for (const auto& t : r.decode<kp::CreateTopicsRequest>().topics) resp.topics.emplace_back().name = t.name;
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, results] = run<std::vector<topic_result>>(io, [&](auto h) {
        admin.create_topics({{.name = "placed", .assignments = {{0, {1, 2}}, {1, {2, 3}}}}}, {.validate_only = true}, h);
    });
    ASSERT_FALSE(ec);
    const auto req = peers.requests(kp::CreateTopicsRequest::api_key).at(0).decode<kp::CreateTopicsRequest>();
    EXPECT_TRUE(req.validate_only);
    ASSERT_EQ(req.topics.size(), 1u);
    EXPECT_EQ(req.topics[0].num_partitions, -1);
    EXPECT_EQ(req.topics[0].replication_factor, -1);
    ASSERT_EQ(req.topics[0].assignments.size(), 2u);
    EXPECT_EQ(req.topics[0].assignments[1].partition_index, 1);
    EXPECT_EQ(req.topics[0].assignments[1].broker_ids, (std::vector<std::int32_t>{2, 3}));
}

TEST_F(AdminScripted, DeleteTopicsAndCreatePartitionsReportEachTopic) {
    peers.on(kp::DeleteTopicsRequest::api_key, [&](const scripted_request& r) {
        const auto req = r.decode<kp::DeleteTopicsRequest>();
        kp::DeleteTopicsResponse resp;
        for (const auto& t : req.topics) {
            auto& out = resp.responses.emplace_back();
            out.name = t.name;
            if (t.name == "ghost") out.error_code = 3;
        }
        return scripted_cluster::respond(r, resp);
    });
    peers.on(kp::CreatePartitionsRequest::api_key, [&](const scripted_request& r) {
        kp::CreatePartitionsResponse resp;
        for (const auto& t : r.decode<kp::CreatePartitionsRequest>().topics) {
            auto& out = resp.results.emplace_back();
            out.name = t.name;
            if (t.count < 4) out.error_code = 37, out.error_message = "Topic currently has 4 partitions";
        }
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, deleted] = run<std::vector<topic_result>>(io, [&](auto h) { admin.delete_topics({"a", "ghost"}, h); });
    ASSERT_FALSE(ec);
    ASSERT_EQ(deleted.size(), 2u);
    EXPECT_FALSE(deleted[0].error);
    EXPECT_EQ(deleted[1].error, kwire::kafka_errc::unknown_topic_or_partition);
    EXPECT_EQ(peers.requests(kp::DeleteTopicsRequest::api_key).size(), 1u) << "an unknown topic is not retried";

    auto [pec, grown] = run<std::vector<topic_result>>(io, [&](auto h) {
        admin.create_partitions({{"a", 8, {}}, {"b", 2, {}}}, false, h);
    });
    ASSERT_FALSE(pec);
    ASSERT_EQ(grown.size(), 2u);
    EXPECT_FALSE(grown[0].error);
    EXPECT_EQ(grown[1].error, kwire::kafka_errc::invalid_partitions);
    EXPECT_EQ(grown[1].message, "Topic currently has 4 partitions");
}

TEST_F(AdminScripted, BrokerConfigsGoToThatBrokerTopicConfigsToTheController) {
    peers.controller = 3;
    peers.on(kp::DescribeConfigsRequest::api_key, [&](const scripted_request& r) {
        const auto req = r.decode<kp::DescribeConfigsRequest>();
        kp::DescribeConfigsResponse resp;
        for (const auto& res : req.resources) {
            auto& out = resp.results.emplace_back();
            out.resource_type = res.resource_type;
            out.resource_name = res.resource_name;
            if (res.resource_name == "nope") {
                out.error_code = 3;
                continue;
            }
            auto& c = out.configs.emplace_back();
            c.name = "retention.ms";
            c.value = "1000";
            c.config_source = 1;
            auto& d = out.configs.emplace_back();
            d.name = "cleanup.policy";
            d.value = "delete";
            d.config_source = 5;
        }
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, configs] = run<std::vector<config_description>>(io, [&](auto h) {
        admin.describe_configs({{resource_type::topic, "orders"}, {resource_type::broker, "2"}, {resource_type::topic, "nope"}}, h);
    });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(configs.size(), 3u);
    EXPECT_FALSE(configs[0].error);
    ASSERT_EQ(configs[0].entries.size(), 2u);
    EXPECT_EQ(configs[0].entries[0].name, "cleanup.policy");  // sorted
    EXPECT_TRUE(configs[0].entries[0].is_default);
    EXPECT_EQ(configs[0].entries[1].source, config_source::dynamic_topic);
    EXPECT_EQ(configs[0].entries[1].value, "1000");
    EXPECT_FALSE(configs[1].error);
    EXPECT_EQ(configs[2].error, kwire::kafka_errc::unknown_topic_or_partition) << "one failing resource hides nothing";
    for (const auto& r : peers.requests(kp::DescribeConfigsRequest::api_key)) {
        const auto req = r.decode<kp::DescribeConfigsRequest>();
        EXPECT_EQ(r.node, req.resources.at(0).resource_type == 4 ? 2 : 3) << req.resources.at(0).resource_name;
    }
}

TEST_F(AdminScripted, IncrementalAlterConfigsSendsEachOperation) {
    peers.on(kp::IncrementalAlterConfigsRequest::api_key, [&](const scripted_request& r) {
        const auto req = r.decode<kp::IncrementalAlterConfigsRequest>();
        kp::IncrementalAlterConfigsResponse resp;
        for (const auto& res : req.resources) {
            auto& out = resp.responses.emplace_back();
            out.resource_type = res.resource_type;
            out.resource_name = res.resource_name;
            for (const auto& c : res.configs)
                if (c.name == "bogus") out.error_code = 40, out.error_message = "Unknown config bogus";
        }
        return scripted_cluster::respond(r, resp);
    });
    const std::vector<config_alteration> ops{{"retention.ms", alter_op::set, "5000"},
                                             {"segment.ms", alter_op::remove, std::nullopt},
                                             {"cleanup.policy", alter_op::append, "compact"},
                                             {"follower.replication.throttled.replicas", alter_op::subtract, "0:1"}};
    std::vector<resource_alterations> changes(2);
    changes[0].resource.name = "orders";
    changes[0].alterations = ops;
    changes[1].resource.name = "bad";
    changes[1].alterations = {{"bogus", alter_op::set, "1"}};
    auto [ec, results] = run<std::vector<resource_result>>(io, [&](auto h) { admin.alter_configs(changes, false, h); });
    ASSERT_FALSE(ec);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_FALSE(results[0].error);
    EXPECT_EQ(results[1].error, kwire::kafka_errc::invalid_config);
    EXPECT_EQ(results[1].message, "Unknown config bogus");
    for (const auto& r : peers.requests(kp::IncrementalAlterConfigsRequest::api_key)) {
        const auto req = r.decode<kp::IncrementalAlterConfigsRequest>();
        if (req.resources.at(0).resource_name != "orders") continue;
        const auto& cfgs = req.resources[0].configs;
        ASSERT_EQ(cfgs.size(), 4u);
        EXPECT_EQ(cfgs[0].config_operation, 0);
        EXPECT_EQ(cfgs[0].value, "5000");
        EXPECT_EQ(cfgs[1].config_operation, 1);
        EXPECT_FALSE(cfgs[1].value.has_value());
        EXPECT_EQ(cfgs[2].config_operation, 2);
        EXPECT_EQ(cfgs[3].config_operation, 3);
    }
}

std::vector<std::uint8_t> assignment_bytes() {
    // ConsumerProtocol v0: [("orders", [1, 0])], no user data.
    return {0, 0, 0, 0, 0, 1, 0, 6, 'o', 'r', 'd', 'e', 'r', 's', 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
}

TEST_F(AdminScripted, DescribeGroupsAsksTheCoordinatorAndDecodesAssignments) {
    peers.on(kp::FindCoordinatorRequest::api_key, peers.coordinator_is(3, {15}));  // COORDINATOR_NOT_AVAILABLE first
    peers.on(kp::DescribeGroupsRequest::api_key, [&](const scripted_request& r) {
        kp::DescribeGroupsResponse resp;
        for (const auto& g : r.decode<kp::DescribeGroupsRequest>().groups) {
            auto& out = resp.groups.emplace_back();
            out.group_id = g;
            if (r.node != 3) {
                out.error_code = 16;  // NOT_COORDINATOR
                continue;
            }
            out.group_state = "Stable";
            out.protocol_type = "consumer";
            out.protocol_data = "range";
            auto& m = out.members.emplace_back();
            m.member_id = "m-1";
            m.client_id = "app";
            m.client_host = "/10.0.0.1";
            m.member_assignment = assignment_bytes();
            auto& bad = out.members.emplace_back();
            bad.member_id = "m-2";
            bad.member_assignment = {0, 0, 0, 0, 0, 9};  // claims 9 topics in 0 bytes
        }
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, groups] = run<std::vector<group_description>>(io, [&](auto h) { admin.describe_groups({"app"}, h); });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(groups.size(), 1u);
    const auto& g = groups[0];
    EXPECT_FALSE(g.error) << g.error.message();
    EXPECT_EQ(g.state, "Stable");
    EXPECT_EQ(g.protocol, "range");
    EXPECT_EQ(g.coordinator, 3);
    ASSERT_EQ(g.members.size(), 2u);
    EXPECT_EQ(g.members[0].assignment, (std::vector<topic_partition>{{"orders", 0}, {"orders", 1}}));
    EXPECT_FALSE(g.members[0].assignment_error);
    EXPECT_TRUE(g.members[1].assignment_error);
    EXPECT_TRUE(g.members[1].assignment.empty());
    EXPECT_EQ(peers.requests(kp::FindCoordinatorRequest::api_key).size(), 2u) << "COORDINATOR_NOT_AVAILABLE is retried";
    for (const auto& r : peers.requests(kp::DescribeGroupsRequest::api_key)) EXPECT_EQ(r.node, 3);
}

TEST_F(AdminScripted, DeleteGroupsRetriesNotCoordinatorAndLoadingAndReportsEachGroup) {
    peers.on(kp::FindCoordinatorRequest::api_key, peers.coordinator_is(2));
    auto attempts = std::make_shared<int>(0);
    peers.on(kp::DeleteGroupsRequest::api_key, [&, attempts](const scripted_request& r) {
        kp::DeleteGroupsResponse resp;
        for (const auto& g : r.decode<kp::DeleteGroupsRequest>().groups_names) {
            auto& out = resp.results.emplace_back();
            out.group_id = g;
            if (g == "busy") out.error_code = 68;  // NON_EMPTY_GROUP
            else if (g == "slow" && ++*attempts < 3) out.error_code = *attempts == 1 ? 16 : 14;
        }
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, results] = run<std::vector<group_result>>(io, [&](auto h) { admin.delete_groups({"slow", "busy"}, h); });
    ASSERT_FALSE(ec);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_FALSE(results[0].error) << results[0].error.message();
    EXPECT_EQ(results[1].error, kwire::kafka_errc::non_empty_group);
    EXPECT_EQ(*attempts, 3);
    // NOT_COORDINATOR forgets the coordinator: FindCoordinator is asked again for "slow".
    EXPECT_GE(peers.requests(kp::FindCoordinatorRequest::api_key).size(), 3u);
}

TEST_F(AdminScripted, ListGroupsAsksEveryBrokerAndKeepsWhatTheOthersSaid) {
    peers.on(kp::ListGroupsRequest::api_key, [&](const scripted_request& r) {
        kp::ListGroupsResponse resp;
        if (r.node == 3) resp.error_code = 15;
        else resp.groups.push_back({"group-" + std::to_string(r.node), "consumer", "Stable", "classic", {}});
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, groups] = run<std::vector<group_listing>>(io, [&](auto h) { admin.list_groups(h); });
    EXPECT_EQ(ec, kwire::kafka_errc::coordinator_not_available) << "broker 3's error";
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].group_id, "group-1");
    EXPECT_EQ(groups[0].coordinator, 1);
    EXPECT_EQ(groups[0].state, "Stable");
    EXPECT_EQ(groups[1].coordinator, 2);
}

TEST_F(AdminScripted, DeleteRecordsGoesToEachPartitionsLeader) {
    peers.topics = {{"logs", 3}};  // leader of partition p: p % 3 + 1
    peers.on(kp::DeleteRecordsRequest::api_key, [&](const scripted_request& r) {
        kp::DeleteRecordsResponse resp;
        for (const auto& t : r.decode<kp::DeleteRecordsRequest>().topics) {
            auto& out = resp.topics.emplace_back();
            out.name = t.name;
            for (const auto& p : t.partitions) {
                auto& po = out.partitions.emplace_back();
                po.partition_index = p.partition_index;
                po.low_watermark = p.offset;
                if (p.partition_index % 3 + 1 != r.node) po.error_code = 6;  // NOT_LEADER_OR_FOLLOWER
            }
        }
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, results] = run<std::vector<deleted_records>>(io, [&](auto h) {
        admin.delete_records({{{"logs", 0}, 10}, {{"logs", 2}, 20}, {{"none", 0}, 5}}, h);
    });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(results.size(), 3u);
    EXPECT_FALSE(results[0].error);
    EXPECT_EQ(results[0].low_watermark, 10);
    EXPECT_EQ(results[1].low_watermark, 20);
    EXPECT_EQ(results[2].error, kwire::kafka_errc::unknown_topic_or_partition);
    const auto sent = peers.requests(kp::DeleteRecordsRequest::api_key);
    ASSERT_EQ(sent.size(), 2u);
    for (const auto& r : sent) {
        const auto req = r.decode<kp::DeleteRecordsRequest>();
        EXPECT_EQ(req.topics.at(0).partitions.at(0).partition_index % 3 + 1, r.node);
    }
}

TEST_F(AdminScripted, DescribeClusterUsesDescribeClusterWhereTheBrokersHaveIt) {
    peers.on(kp::DescribeClusterRequest::api_key, [&](const scripted_request& r) {
        kp::DescribeClusterResponse resp;
        resp.cluster_id = "from-describe-cluster";
        resp.controller_id = 2;
        resp.brokers.push_back({1, "127.0.0.1", 1111, "rack-a", false, {}});
        return scripted_cluster::respond(r, resp);
    });
    auto [ec, d] = run<cluster_description>(io, [&](auto h) { admin.describe_cluster(h); });
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(d.from_describe_cluster);
    EXPECT_EQ(d.cluster_id, "from-describe-cluster");
    EXPECT_EQ(d.controller_id, 2);
    ASSERT_EQ(d.brokers.size(), 1u);
    EXPECT_EQ(d.brokers[0].rack, "rack-a");
}

TEST(AdminStatistics, AnAdminClientEmitsStatisticsOfItsRequestsAndBrokers) {
    scripted_cluster peers{3};
    net::io_context io;
    std::vector<boost::json::object> seen;
    admin_config cfg;
    cfg.bootstrap_servers = peers.addresses();
    cfg.api_timeout = 10s;
    cfg.client_id = "stats-admin";
    cfg.statistics_interval = 20ms;
    cfg.on_statistics = [&](std::string_view text) {
        boost::json::error_code jec;
        auto v = boost::json::parse(text, jec);
        ASSERT_FALSE(jec) << text;
        seen.push_back(v.as_object());
    };
    admin_client admin{io.get_executor(), cfg};
    auto [ec, topics] = run<std::vector<topic_listing>>(io, [&](auto h) { admin.list_topics(false, h); });
    ASSERT_FALSE(ec) << ec.message();
    const auto before = seen.size();
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (seen.size() < before + 2 && std::chrono::steady_clock::now() < deadline) io.run_for(20ms);
    ASSERT_GE(seen.size(), before + 2) << "one every statistics.interval.ms";
    const auto& s = seen.back();
    EXPECT_EQ(s.at("type").as_string(), "admin");
    EXPECT_EQ(s.at("client_id").as_string(), "stats-admin");
    EXPECT_GE(s.at("tx").as_int64(), 1) << "Metadata at least";
    EXPECT_EQ(s.at("tx").as_int64(), s.at("rx").as_int64()) << "nothing unanswered";
    EXPECT_FALSE(s.at("brokers").as_object().empty());
}

TEST_F(AdminScripted, TheDeadlineBoundsACallWhoseControllerNeverAnswers) {
    admin_config cfg = config();
    cfg.api_timeout = 1s;
    admin_client impatient(io.get_executor(), cfg);
    peers.on(kp::CreateTopicsRequest::api_key, [&](const scripted_request& r) {
        kp::CreateTopicsResponse resp;
        for (const auto& t : r.decode<kp::CreateTopicsRequest>().topics) resp.topics.push_back({t.name, {}, 41, {}, {}, {}, {}, {}, {}});
        return scripted_cluster::respond(r, resp);  // NOT_CONTROLLER, forever
    });
    const auto start = std::chrono::steady_clock::now();
    auto [ec, results] = run<std::vector<topic_result>>(io, [&](auto h) {
        impatient.create_topics({{.name = "t", .partitions = 1, .replication_factor = 1}}, {}, h);
    });
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].error, kwire::kafka_errc::not_controller) << "the last answer, once time is up";
    EXPECT_GE(peers.requests(kp::CreateTopicsRequest::api_key).size(), 2u);
}

TEST_F(AdminScripted, ACancelledCallCompletesAtOnceWithOperationAbortedAfterItsRequestWasSent) {
    peers.on(kp::CreateTopicsRequest::api_key, [](const scripted_request&) {
        return std::optional<std::vector<std::uint8_t>>(std::vector<std::uint8_t>{});  // never answers
    });
    net::cancellation_signal signal;
    std::optional<boost::system::error_code> result;
    admin.create_topics({{.name = "t", .partitions = 1, .replication_factor = 1}}, {},
                        net::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, std::vector<topic_result>) {
                            result = ec;
                        }));
    ASSERT_TRUE(kwire::test::run_until(io, [&] { return !peers.requests(kp::CreateTopicsRequest::api_key).empty(); }));
    // `total` would promise that nothing happened, but the request is out: ignored.
    signal.emit(net::cancellation_type::total);
    kwire::test::run_until(io, [&] { return result.has_value(); }, 100ms);
    EXPECT_FALSE(result.has_value());
    const auto start = std::chrono::steady_clock::now();
    signal.emit(net::cancellation_type::terminal);
    EXPECT_FALSE(result.has_value()) << "completed inside emit()";
    ASSERT_TRUE(kwire::test::run_until(io, [&] { return result.has_value(); }));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 50ms);
    EXPECT_EQ(*result, net::error::operation_aborted);
}

TEST_F(AdminScripted, AwaitableOperatorsEndACallWithTheTimerAndTheClientStaysUsable) {
    peers.on(kp::DescribeGroupsRequest::api_key, [](const scripted_request&) {
        return std::optional<std::vector<std::uint8_t>>(std::vector<std::uint8_t>{});  // never answers
    });
    std::optional<std::size_t> winner;
    std::chrono::steady_clock::duration took{};
    bool listed = false;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            using namespace net::experimental::awaitable_operators;
            net::steady_timer timer(io, 20ms);
            const auto start = std::chrono::steady_clock::now();
            std::vector<std::string> groups;  // (a braced list here trips g++ 12's coroutines)
            groups.push_back("g");
            auto r = co_await (admin.describe_groups(std::move(groups), net::use_awaitable) ||
                               timer.async_wait(net::use_awaitable));
            took = std::chrono::steady_clock::now() - start;
            winner = r.index();
            const auto topics = co_await admin.list_topics(false, net::use_awaitable);
            (void)topics;
            listed = true;
        },
        net::detached);
    ASSERT_TRUE(kwire::test::run_until(io, [&] { return listed; }));
    EXPECT_EQ(winner, 1u);
    EXPECT_LT(took, 50ms);
}

// --- allow.auto.create.topics: the producer against a broker that does not auto-create -------

/// Produce answers: every partition acknowledged at offset 0.
std::optional<std::vector<std::uint8_t>> acknowledge(const scripted_request& r) {
    kp::ProduceResponse resp;
    for (const auto& t : r.decode<kp::ProduceRequest>().topic_data) {
        auto& out = resp.responses.emplace_back();
        out.name = t.name;
        out.topic_id = t.topic_id;
        for (const auto& p : t.partition_data) out.partition_responses.emplace_back().index = p.index;
    }
    return scripted_cluster::respond(r, resp);
}

std::pair<std::error_code, kwire::delivery> send_one(scripted_cluster& peers, bool allow, std::int32_t partitions = -1) {
    net::io_context io;
    kwire::producer_config cfg;
    cfg.bootstrap_servers = peers.addresses();
    cfg.allow_auto_create_topics = allow;
    cfg.enable_idempotence = false;
    cfg.delivery_timeout = 1500ms;
    cfg.topic_creation_partitions = partitions;
    kwire::producer p(io.get_executor(), cfg);
    std::pair<std::error_code, kwire::delivery> out{kwire::client::client_errc::closed, {}};
    p.send({.topic = "fresh", .value = std::nullopt}, [&](std::error_code ec, kwire::delivery d) { out = {ec, d}; });
    p.close([&](std::error_code) { io.stop(); });
    io.run_for(20s);
    return out;
}

TEST(ScriptedAutoCreate, TrueCreatesTheTopicWithCreateTopicsWhenTheBrokerDoesNotAndDelivers) {
    scripted_cluster peers(3);
    peers.controller = 3;
    peers.on(kp::ProduceRequest::api_key, acknowledge);
    peers.on(kp::CreateTopicsRequest::api_key, [&](const scripted_request& r) {
        kp::CreateTopicsResponse resp;
        for (const auto& t : r.decode<kp::CreateTopicsRequest>().topics) {
            peers.add_topic(t.name, 2);
            resp.topics.emplace_back().name = t.name;
        }
        return scripted_cluster::respond(r, resp);
    });
    const auto [ec, d] = send_one(peers, true, 4);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(d.offset, 0);
    const auto created = peers.requests(kp::CreateTopicsRequest::api_key);
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(created[0].node, 3) << "CreateTopics goes to the controller";
    const auto req = created[0].decode<kp::CreateTopicsRequest>();
    ASSERT_EQ(req.topics.size(), 1u);
    EXPECT_EQ(req.topics[0].name, "fresh");
    EXPECT_EQ(req.topics[0].num_partitions, 4) << "topic.creation.default.partitions";
    EXPECT_EQ(req.topics[0].replication_factor, -1) << "the broker's default";
    // Metadata asked the broker to auto-create first.
    bool asked = false;
    for (const auto& m : peers.requests(kp::MetadataRequest::api_key))
        asked = asked || m.decode<kp::MetadataRequest>().allow_auto_topic_creation;
    EXPECT_TRUE(asked);
}

TEST(ScriptedAutoCreate, FalseNeverCreatesAndFailsNamingTheErrorWithinTheDeliveryTimeout) {
    scripted_cluster peers(3);
    peers.on(kp::ProduceRequest::api_key, acknowledge);
    const auto start = std::chrono::steady_clock::now();
    const auto [ec, d] = send_one(peers, false);
    EXPECT_EQ(ec, kwire::kafka_errc::unknown_topic_or_partition) << ec.message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_TRUE(peers.requests(kp::CreateTopicsRequest::api_key).empty());
    const auto metadata = peers.requests(kp::MetadataRequest::api_key);
    EXPECT_GE(metadata.size(), 2u) << "metadata is retried while the record waits";
    for (const auto& m : metadata) {
        const auto req = m.decode<kp::MetadataRequest>();
        EXPECT_FALSE(req.allow_auto_topic_creation);
        EXPECT_TRUE(req.topics.has_value()) << "on v4+ the topic is named, with the flag off";
    }
}

}  // namespace

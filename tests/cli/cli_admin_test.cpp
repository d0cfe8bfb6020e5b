// kwire topics, groups, offsets and cluster, run as the real binary: against librdkafka's mock
// cluster for what it speaks (Metadata, ListOffsets, OffsetCommit/OffsetFetch, ApiVersions), and
// against the scripted cluster (tests/admin/scripted_broker.hpp) for what it does not
// (CreateTopics, DeleteTopics, IncrementalAlterConfigs, ListGroups, DescribeGroups, DeleteGroups).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_support.hpp"
#include "kwire/protocol/messages.hpp"
#include "mock_cluster.hpp"
#include "scripted_broker.hpp"

namespace {

using kwire::peers::mock_cluster;
using kwire::test::scripted_cluster;
using kwire::test::scripted_request;
using namespace kwire::cli_test;
namespace kp = kwire::protocol;

json parse_json(const std::string& text) {
    try {
        return json_parser(text).parse_document();
    } catch (const std::exception& e) {
        ADD_FAILURE() << e.what() << "\n" << text;
        return {};
    }
}

/// A mock cluster whose ListOffsets stays at v0-3 (its v4+ answers are malformed, see
/// tests/peers/mock_cluster_test.cpp), with topic "events": 2 partitions, 3 + 5 records.
class CliAdminMock : public ::testing::Test {
protected:
    void SetUp() override {
        mc.set_api_version(2, 0, 3);
        mc.create_topic("events", 2, 3);
        mc.create_topic("other", 1, 1);
        for (const auto& [partition, lines] : {std::pair{"0", "a\nb\nc\n"}, std::pair{"1", "1\n2\n3\n4\n5\n"}}) {
            const auto r = run_kwire({"produce", "-b", mc.bootstrap(), "-t", "events", "-p", partition}, lines);
            ASSERT_TRUE(r.ok()) << r.describe();
        }
    }
    mock_cluster mc{3};
};

TEST(CliAdminHelp, EveryCommandAndSubcommandHasHelpListingItsOptions) {
    const std::vector<std::vector<std::string>> commands{
        {"topics", "list"}, {"topics", "describe"}, {"topics", "create"}, {"topics", "delete"},
        {"topics", "add-partitions"}, {"topics", "alter-config"}, {"groups", "list"}, {"groups", "describe"},
        {"groups", "delete"}, {"groups", "lag"}, {"groups", "reset-offsets"}, {"offsets"}, {"cluster"}};
    for (auto args : commands) {
        args.push_back("--help");
        const auto r = run_kwire(args);
        ASSERT_TRUE(r.ok()) << r.describe();
        EXPECT_TRUE(contains(r.out, "Usage: kwire " + args[0])) << r.out;
        EXPECT_TRUE(contains(r.out, "--bootstrap-server")) << r.out;
        EXPECT_TRUE(contains(r.out, "--property NAME=VALUE")) << r.out;
        EXPECT_TRUE(contains(r.out, "config FILE")) << r.out;
    }
    for (const char* cmd : {"topics", "groups"}) {
        const auto r = run_kwire({cmd, "--help"});
        ASSERT_TRUE(r.ok()) << r.describe();
        EXPECT_TRUE(contains(r.out, "describe")) << r.out;
        const auto missing = run_kwire({cmd});
        EXPECT_EQ(missing.exit_code, 2) << missing.describe();
        const auto unknown = run_kwire({cmd, "frobnicate", "-b", "x:1"});
        EXPECT_EQ(unknown.exit_code, 2) << unknown.describe();
        EXPECT_TRUE(contains(unknown.err, "unknown subcommand 'frobnicate'")) << unknown.err;
    }
    const auto top = run_kwire({"--help"});
    for (const char* cmd : {"topics", "groups", "offsets", "cluster"}) EXPECT_TRUE(contains(top.out, cmd)) << top.out;
}

TEST(CliAdminUsage, BadCombinationsAreUsageErrors) {
    EXPECT_EQ(run_kwire({"topics", "create", "-b", "x:1"}).exit_code, 2);  // no -t
    const auto both = run_kwire({"topics", "create", "-b", "x:1", "-t", "t", "--partitions", "3", "--replica-assignment", "1:2"});
    EXPECT_EQ(both.exit_code, 2) << both.describe();
    EXPECT_EQ(run_kwire({"topics", "alter-config", "-b", "x:1", "-t", "t"}).exit_code, 2);  // nothing to change
    EXPECT_EQ(run_kwire({"groups", "reset-offsets", "-b", "x:1", "-g", "g", "--all-topics"}).exit_code, 2);  // no target
    const auto bad = run_kwire({"topics", "list", "-b", "x:1", "-X", "default.api.timeout.ms=soon"});
    EXPECT_EQ(bad.exit_code, 2) << bad.describe();
    EXPECT_TRUE(contains(bad.err, "default.api.timeout.ms")) << bad.err;
}

TEST(CliAdminErrors, AnUnreachableClusterExits1NamingTheAddress) {
    const auto r = run_kwire({"topics", "list", "-b", "127.0.0.1:1", "-X", "default.api.timeout.ms=1500"}, {}, 20s);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "127.0.0.1:1")) << r.err;
    EXPECT_TRUE(r.out.empty());
}

TEST_F(CliAdminMock, TopicsListAsATableAndAsJson) {
    const auto r = run_kwire({"topics", "list", "-b", mc.bootstrap()});
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 3u) << r.out;
    EXPECT_EQ(words_of(lines[0]), (std::vector<std::string>{"TOPIC", "PARTITIONS"}));
    EXPECT_EQ(words_of(lines[1]), (std::vector<std::string>{"events", "2"}));
    EXPECT_EQ(words_of(lines[2]), (std::vector<std::string>{"other", "1"}));

    const auto j = run_kwire({"topics", "list", "-b", mc.bootstrap(), "--json"});
    ASSERT_TRUE(j.ok()) << j.describe();
    const auto doc = parse_json(j.out);
    const auto& topics = doc["topics"].array();
    ASSERT_EQ(topics.size(), 2u);
    EXPECT_EQ(topics[0]["name"].string(), "events");
    EXPECT_EQ(topics[0]["partitions"].number(), 2);
}

TEST_F(CliAdminMock, TopicsDescribeShowsPartitionsAndAMissingTopicWithoutCreatingIt) {
    mc.partition_set_leader("events", 0, 2);
    const auto r = run_kwire({"topics", "describe", "-b", mc.bootstrap(), "-t", "events", "-t", "ghost"});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_TRUE(contains(r.out, "Topic 'events': 2 partitions, replication factor 3")) << r.out;
    EXPECT_TRUE(contains(r.out, "Topic 'ghost': UNKNOWN_TOPIC_OR_PARTITION")) << r.out;
    EXPECT_TRUE(contains(r.err, "topic 'ghost': UNKNOWN_TOPIC_OR_PARTITION")) << r.err;
    // The mock lacks DescribeConfigs: said, not fatal.
    EXPECT_TRUE(contains(r.out, "Configs: not available")) << r.out;
    bool leader_row = false;
    for (const auto& line : lines_of(r.out)) {
        const auto w = words_of(line);
        if (w.size() >= 2 && w[0] == "0" && w[1] == "2") leader_row = true;
    }
    EXPECT_TRUE(leader_row) << "partition 0 led by broker 2:\n" << r.out;

    const auto j = run_kwire({"topics", "describe", "-b", mc.bootstrap(), "-t", "events", "--json"});
    ASSERT_TRUE(j.ok()) << j.describe();
    const auto doc = parse_json(j.out);
    const auto& t = doc["topics"].array().at(0);
    EXPECT_EQ(t["name"].string(), "events");
    EXPECT_TRUE(t["error"].is_null());
    ASSERT_EQ(t["partitions"].array().size(), 2u);
    EXPECT_EQ(t["partitions"].array()[0]["leader"].number(), 2);
    EXPECT_EQ(t["partitions"].array()[0]["replicas"].array().size(), 3u);
    EXPECT_TRUE(t["configs"].is_null());
    EXPECT_FALSE(t["configs_error"].is_null());

    const auto list = run_kwire({"topics", "list", "-b", mc.bootstrap()});
    EXPECT_FALSE(contains(list.out, "ghost")) << "describing a topic created it:\n" << list.out;
}

TEST_F(CliAdminMock, OffsetsShowsEarliestAndLatestPerPartition) {
    const auto r = run_kwire({"offsets", "-b", mc.bootstrap(), "-t", "events"});
    ASSERT_TRUE(r.ok()) << r.describe();
    const auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), 3u) << r.out;
    EXPECT_EQ(words_of(lines[1]), (std::vector<std::string>{"events", "0", "0", "3", "3", "-"})) << r.out;
    EXPECT_EQ(words_of(lines[2]), (std::vector<std::string>{"events", "1", "0", "5", "5", "-"})) << r.out;

    const auto j = run_kwire({"offsets", "-b", mc.bootstrap(), "-t", "events", "--json"});
    ASSERT_TRUE(j.ok()) << j.describe();
    const auto doc = parse_json(j.out);
    const auto& parts = doc["partitions"].array();
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[1]["latest"].number(), 5);
    EXPECT_EQ(parts[1]["earliest"].number(), 0);

    const auto missing = run_kwire({"offsets", "-b", mc.bootstrap(), "-t", "nope"});
    EXPECT_EQ(missing.exit_code, 1) << missing.describe();
    EXPECT_TRUE(contains(missing.err, "topic 'nope': UNKNOWN_TOPIC_OR_PARTITION")) << missing.err;
}

TEST_F(CliAdminMock, ClusterShowsBrokersControllerAndApiVersions) {
    const auto r = run_kwire({"cluster", "-b", mc.bootstrap(), "--api-versions"});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_TRUE(contains(r.out, "3 brokers:")) << r.out;
    for (const auto& address : mc.broker_addresses()) EXPECT_TRUE(contains(r.out, address)) << r.out;
    EXPECT_TRUE(contains(r.out, "Broker 1 (")) << r.out;
    EXPECT_TRUE(contains(r.out, "Metadata")) << r.out;

    const auto j = run_kwire({"cluster", "-b", mc.bootstrap(), "--json", "--api-versions"});
    ASSERT_TRUE(j.ok()) << j.describe();
    const auto doc = parse_json(j.out);
    ASSERT_EQ(doc["brokers"].array().size(), 3u);
    const auto& apis = doc["brokers"].array()[0]["api_versions"].array();
    bool listed = false;
    for (const auto& a : apis)
        if (a["name"].string() == "ListOffsets") listed = a["max"].number() == 3;  // as the test capped it
    EXPECT_TRUE(listed) << j.out;
}

TEST_F(CliAdminMock, GroupsResetOffsetsDryRunThenExecuteThenLag) {
    const auto dry = run_kwire({"groups", "reset-offsets", "-b", mc.bootstrap(), "-g", "readers", "-t", "events",
                                "--to-offset", "2"});
    ASSERT_TRUE(dry.ok()) << dry.describe();
    EXPECT_TRUE(contains(dry.out, "Dry run")) << dry.out;
    const auto before = run_kwire({"groups", "lag", "-b", mc.bootstrap(), "-g", "readers"});
    ASSERT_TRUE(before.ok()) << before.describe();
    EXPECT_TRUE(contains(before.out, "has no committed offsets")) << "a dry run committed:\n" << before.out;

    const auto exec = run_kwire({"groups", "reset-offsets", "-b", mc.bootstrap(), "-g", "readers", "-t", "events",
                                 "--to-offset", "2", "--execute"});
    ASSERT_TRUE(exec.ok()) << exec.describe();
    EXPECT_TRUE(contains(exec.out, "Committed the new offsets of group 'readers'")) << exec.out;

    const auto lag = run_kwire({"groups", "lag", "-b", mc.bootstrap(), "-g", "readers"});
    ASSERT_TRUE(lag.ok()) << lag.describe();
    const auto lines = lines_of(lag.out);
    ASSERT_EQ(lines.size(), 4u) << lag.out;
    EXPECT_EQ(words_of(lines[1]), (std::vector<std::string>{"events", "0", "2", "3", "1", "-"})) << lag.out;
    EXPECT_EQ(words_of(lines[2]), (std::vector<std::string>{"events", "1", "2", "5", "3", "-"})) << lag.out;
    EXPECT_EQ(lines[3], "Total lag: 4");

    const auto shifted = run_kwire({"groups", "reset-offsets", "-b", mc.bootstrap(), "-g", "readers", "--all-topics",
                                    "--shift-by", "10", "--execute", "--json"});
    ASSERT_TRUE(shifted.ok()) << shifted.describe();
    const auto plan = parse_json(shifted.out);
    EXPECT_EQ(plan["partitions"].array()[0]["new"].number(), 3) << "kept within the end offset";
    const auto j = run_kwire({"groups", "lag", "-b", mc.bootstrap(), "-g", "readers", "--json"});
    ASSERT_TRUE(j.ok()) << j.describe();
    EXPECT_EQ(parse_json(j.out)["total_lag"].number(), 0) << j.out;
}

TEST_F(CliAdminMock, ProducingToAMissingTopicWithAutoCreateOffFailsAndCreatesNothing) {
    const auto r = run_kwire({"produce", "-b", mc.bootstrap(), "-t", "never", "-X", "allow.auto.create.topics=false", "-X",
                              "delivery.timeout.ms=2000"},
                             "x\n", 20s);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "'never'")) << r.err;
    EXPECT_TRUE(contains(r.err, "UNKNOWN_TOPIC_OR_PARTITION")) << r.err;
    const auto list = run_kwire({"topics", "list", "-b", mc.bootstrap()});
    EXPECT_FALSE(contains(list.out, "never")) << list.out;
    // And with it on (the default), the topic is created and the record delivered.
    const auto on = run_kwire({"produce", "-b", mc.bootstrap(), "-t", "created"}, "x\n", 20s);
    EXPECT_TRUE(on.ok()) << on.describe();
    EXPECT_TRUE(contains(run_kwire({"topics", "list", "-b", mc.bootstrap()}).out, "created"));
}

// --- the APIs the mock lacks, against the scripted cluster ------------------------------------

class CliAdminScripted : public ::testing::Test {
protected:
    scripted_cluster peers{3};
};

TEST_F(CliAdminScripted, TopicsCreateReportsEachTopicAndPassesTheConfig) {
    peers.on(kp::CreateTopicsRequest::api_key, [](const scripted_request& r) {
        kp::CreateTopicsResponse resp;
        for (const auto& t : r.decode<kp::CreateTopicsRequest>().topics) {
            auto& out = resp.topics.emplace_back();
            out.name = t.name;
            if (t.name == "taken") out.error_code = 36, out.error_message = "Topic 'taken' already exists.";
            if (t.configs.size() != 1 || t.configs[0].name != "cleanup.policy" || t.num_partitions != 6)
                out.error_code = 40, out.error_message = "unexpected request";
        }
        return scripted_cluster::respond(r, resp);
    });
    const auto r = run_kwire({"topics", "create", "-b", peers.bootstrap(), "-t", "orders", "-t", "taken", "--partitions",
                              "6", "--replication-factor", "3", "--config", "cleanup.policy=compact"});
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_EQ(r.out, "Created topic 'orders'.\n");
    EXPECT_EQ(r.err, "kwire: cannot create topic 'taken': TOPIC_ALREADY_EXISTS: Topic 'taken' already exists.\n");
    const auto again = run_kwire({"topics", "create", "-b", peers.bootstrap(), "-t", "taken", "--partitions", "6",
                                  "--config", "cleanup.policy=compact", "--if-not-exists"});
    EXPECT_TRUE(again.ok()) << again.describe();
}

TEST_F(CliAdminScripted, TopicsDeleteAndAlterConfig) {
    peers.on(kp::DeleteTopicsRequest::api_key, [](const scripted_request& r) {
        kp::DeleteTopicsResponse resp;
        for (const auto& t : r.decode<kp::DeleteTopicsRequest>().topics)
            resp.responses.push_back({t.name, {}, static_cast<std::int16_t>(t.name == "ghost" ? 3 : 0), {}, {}});
        return scripted_cluster::respond(r, resp);
    });
    peers.on(kp::IncrementalAlterConfigsRequest::api_key, [](const scripted_request& r) {
        const auto req = r.decode<kp::IncrementalAlterConfigsRequest>();
        kp::IncrementalAlterConfigsResponse resp;
        for (const auto& res : req.resources) {
            auto& out = resp.responses.emplace_back();
            out.resource_type = res.resource_type;
            out.resource_name = res.resource_name;
            const bool expected = res.configs.size() == 2 && res.configs[0].config_operation == 0 &&
                                  res.configs[1].config_operation == 1 && res.configs[1].name == "segment.ms";
            if (!expected) out.error_code = 40, out.error_message = "unexpected operations";
        }
        return scripted_cluster::respond(r, resp);
    });
    const auto del = run_kwire({"topics", "delete", "-b", peers.bootstrap(), "-t", "old", "-t", "ghost"});
    EXPECT_EQ(del.exit_code, 1) << del.describe();
    EXPECT_EQ(del.out, "Deleted topic 'old'.\n");
    EXPECT_TRUE(contains(del.err, "cannot delete topic 'ghost': UNKNOWN_TOPIC_OR_PARTITION")) << del.err;
    EXPECT_TRUE(run_kwire({"topics", "delete", "-b", peers.bootstrap(), "-t", "ghost", "--if-exists"}).ok());

    const auto alter = run_kwire({"topics", "alter-config", "-b", peers.bootstrap(), "-t", "orders", "--broker", "2",
                                  "--set", "retention.ms=1000", "--delete", "segment.ms"});
    ASSERT_TRUE(alter.ok()) << alter.describe();
    EXPECT_EQ(alter.out, "Altered configs of topic 'orders'.\nAltered configs of broker 2.\n");
    const auto sent = peers.requests(kp::IncrementalAlterConfigsRequest::api_key);
    ASSERT_EQ(sent.size(), 2u);
    for (const auto& req : sent) {
        if (req.decode<kp::IncrementalAlterConfigsRequest>().resources.at(0).resource_type == 4) {
            EXPECT_EQ(req.node, 2) << "a broker's configs go to that broker";
        }
    }
}

TEST_F(CliAdminScripted, GroupsListDescribeDelete) {
    peers.on(kp::ListGroupsRequest::api_key, [](const scripted_request& r) {
        kp::ListGroupsResponse resp;
        if (r.node == 1) resp.groups.push_back({"billing", "consumer", "Stable", "classic", {}});
        return scripted_cluster::respond(r, resp);
    });
    peers.on(kp::FindCoordinatorRequest::api_key, peers.coordinator_is(1));
    peers.on(kp::DescribeGroupsRequest::api_key, [](const scripted_request& r) {
        kp::DescribeGroupsResponse resp;
        auto& g = resp.groups.emplace_back();
        g.group_id = r.decode<kp::DescribeGroupsRequest>().groups.at(0);
        g.group_state = "Stable";
        g.protocol_type = "consumer";
        g.protocol_data = "range";
        auto& m = g.members.emplace_back();
        m.member_id = "member-1";
        m.client_id = "billing-app";
        m.client_host = "/10.1.2.3";
        m.member_assignment = {0, 0, 0, 0, 0, 1, 0, 4, 'b', 'i', 'l', 'l', 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff};
        return scripted_cluster::respond(r, resp);
    });
    peers.on(kp::DeleteGroupsRequest::api_key, [](const scripted_request& r) {
        kp::DeleteGroupsResponse resp;
        for (const auto& g : r.decode<kp::DeleteGroupsRequest>().groups_names) resp.results.push_back({g, 68, {}});
        return scripted_cluster::respond(r, resp);
    });
    const auto list = run_kwire({"groups", "list", "-b", peers.bootstrap()});
    ASSERT_TRUE(list.ok()) << list.describe();
    EXPECT_EQ(words_of(lines_of(list.out).at(1)), (std::vector<std::string>{"billing", "consumer", "Stable", "1"}));
    const auto lj = parse_json(run_kwire({"groups", "list", "-b", peers.bootstrap(), "--json"}).out);
    EXPECT_EQ(lj["groups"].array().at(0)["group"].string(), "billing");

    const auto d = run_kwire({"groups", "describe", "-b", peers.bootstrap(), "-g", "billing"});
    ASSERT_TRUE(d.ok()) << d.describe();
    EXPECT_TRUE(contains(d.out, "Group 'billing': state Stable, protocol consumer/range, coordinator 1, 1 member")) << d.out;
    EXPECT_TRUE(contains(d.out, "bill:1,3")) << d.out;
    const auto dj = parse_json(run_kwire({"groups", "describe", "-b", peers.bootstrap(), "-g", "billing", "--json"}).out);
    const auto& assignment = dj["groups"].array().at(0)["members"].array().at(0)["assignment"].array();
    ASSERT_EQ(assignment.size(), 2u);
    EXPECT_EQ(assignment[1]["partition"].number(), 3);

    const auto del = run_kwire({"groups", "delete", "-b", peers.bootstrap(), "-g", "billing"});
    EXPECT_EQ(del.exit_code, 1) << del.describe();
    EXPECT_EQ(del.err, "kwire: cannot delete group 'billing': NON_EMPTY_GROUP\n");

    // reset-offsets refuses an active group before touching anything.
    const auto reset = run_kwire({"groups", "reset-offsets", "-b", peers.bootstrap(), "-g", "billing", "--all-topics",
                                  "--to-earliest", "--execute"});
    EXPECT_EQ(reset.exit_code, 1) << reset.describe();
    EXPECT_TRUE(contains(reset.err, "group 'billing' is active")) << reset.err;
    EXPECT_TRUE(peers.requests(kp::OffsetCommitRequest::api_key).empty());
}

}  // namespace

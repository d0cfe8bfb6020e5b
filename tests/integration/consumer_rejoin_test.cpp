// A classic member's commits and its joins: a commit answered for a generation the member has
// already left is no verdict on the one it is in. Against the scripted coordinator
// (scripted_group.hpp), whose JoinGroup can be held while requests queue behind it on the same
// connection -- as Kafka, and librdkafka's mock, hold a JoinGroup until the round completes.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "consumer_fixture.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "scripted_group.hpp"
#include "scripted_log.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::driver;
using kwire::test::run_for;
using kwire::test::run_until;

// The chaos suite's classic-static-cooperative scenario (seed 31723857045528) against
// librdkafka's mock: a member got REBALANCE_IN_PROGRESS for a commit, rejoined, and its commit's
// retry went out behind its JoinGroup; answered ILLEGAL_GENERATION once the join had completed,
// it was taken as a verdict on the new generation -- membership reset, partitions lost, another
// join. On a coordinator where every JoinGroup starts a round, that repeated once per round
// forever, no commit was ever accepted, and the partitions were re-read round after round.
TEST(ConsumerRejoin, ACommitAnsweredForTheGenerationJustLeftDoesNotResetTheNewOne) {
    kwire::test::scripted_cluster cluster(1);
    cluster.add_topic("rj", 1);
    auto& log = *kwire::test::scripted_log::start(cluster, 1);
    auto& group = *kwire::test::scripted_group::start(cluster);
    std::vector<std::string> values;
    for (int k = 0; k < 20; ++k) values.push_back("v-" + std::to_string(k));
    log.append("rj", 0, values);

    boost::asio::io_context io;
    kwire::consumer_config cfg;
    cfg.bootstrap_servers = cluster.addresses();
    cfg.group_id = "g-rejoin";
    cfg.auto_offset_reset = kwire::client::offset_reset::earliest;
    cfg.commit = kwire::client::commit_policy::manual();
    cfg.assignors = {kwire::client::assignor_kind::cooperative_sticky};  // the partition stays through the rejoin
    cfg.session_timeout = 6000ms;
    cfg.heartbeat_interval = 50ms;
    cfg.fetch_max_wait = 100ms;
    cfg.retry_backoff = 20ms;
    cfg.request_timeout = 5000ms;
    kwire::consumer c(io.get_executor(), cfg);
    int lost = 0;
    kwire::rebalance_listener listener;
    listener.lost = [&](const std::vector<kwire::topic_partition>& tps) { lost += static_cast<int>(tps.size()); };
    c.subscribe({"rj"}, listener);
    driver d(c);  // acknowledges every record
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 20 || d.error; }, 20s)) << d.count();
    const auto generation = group.generation("g-rejoin");

    // The rebalance: the member learns of it from its Heartbeat and rejoins. While its JoinGroup
    // is held, the application commits: the commit goes out under the generation being left and
    // waits behind the JoinGroup, to be answered ILLEGAL_GENERATION right after the join.
    std::atomic<bool> held{false};
    std::error_code commit_outcome;
    bool commit_done = false;
    group.before_join([&](const kwire::protocol::JoinGroupRequest& r) {
        if (r.member_id.empty() || held.exchange(true)) return;
        boost::asio::post(io, [&] {
            c.commit([&](std::error_code ec) {
                commit_outcome = ec;
                commit_done = true;
            });
        });
        std::this_thread::sleep_for(300ms);
    });
    group.start_rebalance("g-rejoin");
    ASSERT_TRUE(run_until(io, [&] { return commit_done; }, 10s));
    run_for(io, 1000ms);  // time for any join the answer might wrongly start

    const auto commits = group.commits();
    ASSERT_FALSE(commits.empty());
    EXPECT_EQ(commits.front().generation, generation) << "the commit went out under the generation being left";
    EXPECT_EQ(commits.front().error, 22) << "and was answered ILLEGAL_GENERATION after the join";
    EXPECT_TRUE(commit_outcome) << "the commit was not accepted, and says so";
    EXPECT_EQ(group.answers(kwire::protocol::JoinGroupRequest::api_key).size(), 2u)
        << "one join at the start and one for the rebalance: the stale answer started no other";
    EXPECT_EQ(group.generation("g-rejoin"), generation + 2);
    EXPECT_EQ(lost, 0) << "the partition was never lost";
    EXPECT_EQ(c.assignment(), (std::vector<kwire::topic_partition>{{"rj", 0}}));

    // The member is in the new generation: its next commit is accepted.
    std::error_code again{std::make_error_code(std::errc::interrupted)};
    c.commit([&](std::error_code ec) { again = ec; });
    ASSERT_TRUE(run_until(io, [&] { return again != std::errc::interrupted; }, 10s));
    EXPECT_FALSE(again) << again.message();
    EXPECT_EQ(group.committed("g-rejoin", "rj", 0), 20);
    EXPECT_FALSE(d.error) << d.error.message();
}

}  // namespace

// group.protocol=consumer (KIP-848) against the scripted cluster's coordinator
// (scripted_group::start_consumer_protocol): librdkafka 2.0.2's mock has no ConsumerGroupHeartbeat.
// Assignment by the broker, incremental hand-over through revoke-then-acknowledge, fencing and
// rejoining at epoch 0, commits carrying the member epoch, leaving, and a broker without the API.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "consumer_fixture.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/error.hpp"
#include "scripted_group.hpp"
#include "scripted_log.hpp"

namespace {

using namespace std::chrono_literals;
using kwire::test::driver;
using kwire::test::run_for;
using kwire::test::run_until;
using tp_set = std::set<std::pair<std::string, std::int32_t>>;

tp_set owned(const kwire::consumer& c) {
    tp_set out;
    for (const auto& tp : c.assignment()) out.insert({tp.topic, tp.partition});
    return out;
}

class ConsumerGroupProtocol : public ::testing::Test {
protected:
    kwire::test::scripted_cluster cluster{1};
    kwire::test::scripted_log& log = *kwire::test::scripted_log::start(cluster, 1);

    void SetUp() override { cluster.topic_ids = true; }

    void topic(const std::string& name, int partitions, int records) {
        cluster.add_topic(name, partitions);
        for (int p = 0; p < partitions; ++p) {
            std::vector<std::string> values;
            for (int i = 0; i < records; ++i) values.push_back("p" + std::to_string(p) + "-" + std::to_string(i));
            log.append(name, p, values);
        }
    }

    kwire::consumer_config config(const std::string& group) const {
        kwire::consumer_config cfg;
        cfg.bootstrap_servers = cluster.addresses();
        cfg.group_id = group;
        cfg.group_protocol = kwire::client::group_protocol_kind::consumer;
        cfg.auto_offset_reset = kwire::client::offset_reset::earliest;
        cfg.fetch_max_wait = 100ms;
        cfg.retry_backoff = 20ms;
        cfg.request_timeout = 5000ms;
        return cfg;
    }
};

TEST_F(ConsumerGroupProtocol, TheBrokerSplitsPartitionsAndMovesThemOnlyOnceReleased) {
    topic("k", 4, 25);
    auto& group = *kwire::test::scripted_group::start_consumer_protocol(cluster, 50);
    boost::asio::io_context io;
    auto a = std::make_unique<kwire::consumer>(io.get_executor(), config("g848"));
    std::vector<std::vector<kwire::topic_partition>> a_revoked, a_lost;
    kwire::rebalance_listener la;
    la.revoked = [&](const std::vector<kwire::topic_partition>& tps) { a_revoked.push_back(tps); };
    la.lost = [&](const std::vector<kwire::topic_partition>& tps) { a_lost.push_back(tps); };
    a->subscribe({"k"}, la);
    driver da(*a);
    da.start();
    ASSERT_TRUE(run_until(io, [&] { return owned(*a).size() == 4 || da.error; }, 20s)) << da.error.message();
    ASSERT_TRUE(run_until(io, [&] { return da.count() >= 100 || da.error; }, 20s));

    kwire::consumer b(io.get_executor(), config("g848"));
    b.subscribe({"k"});
    driver db(b);
    db.start();
    ASSERT_TRUE(run_until(io, [&] { return (owned(*a).size() == 2 && owned(b).size() == 2) || da.error || db.error; }, 20s))
        << owned(*a).size() << "/" << owned(b).size();
    for (const auto& p : owned(b)) EXPECT_FALSE(owned(*a).count(p)) << "never owned twice";
    ASSERT_EQ(a_revoked.size(), 1u) << "A gave up exactly what moved, once";
    EXPECT_EQ(a_revoked[0].size(), 2u);
    EXPECT_TRUE(a_lost.empty());
    // B got them only after A's acknowledgement said it no longer owned them: every answer
    // giving B a partition came after A reported owning less.
    const auto hbs = group.heartbeats();
    for (const auto& h : hbs) {
        EXPECT_EQ(h.error, 0) << "member " << h.member_id << " epoch " << h.epoch;
        EXPECT_EQ(h.version, 1);
    }
    // Every record of the topic was seen by someone; A's acknowledged ones were committed with its
    // epoch at v9 before the move (B starts where A's commits ended).
    std::set<std::pair<std::int32_t, std::int64_t>> all;
    for (const auto& s : da.seen) all.insert({std::get<1>(s), std::get<2>(s)});
    for (const auto& s : db.seen) all.insert({std::get<1>(s), std::get<2>(s)});
    EXPECT_EQ(all.size(), 100u);
    EXPECT_EQ(db.count(), 0u) << "A had consumed and committed all of B's partitions";
    for (const auto& c : group.commits()) {
        EXPECT_EQ(c.version, 9);
        EXPECT_EQ(c.error, 0);
        EXPECT_GT(c.generation, 0) << "the member epoch";
    }

    // A leaves (epoch -1): B takes everything.
    bool closed = false;
    a->close([&](std::error_code ec) {
        EXPECT_FALSE(ec) << ec.message();
        closed = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return closed; }, 10s));
    ASSERT_TRUE(run_until(io, [&] { return owned(b).size() == 4 || db.error; }, 20s));
    bool left = false;
    for (const auto& h : group.heartbeats()) left = left || h.epoch == -1;
    EXPECT_TRUE(left);
    for (int p = 0; p < 4; ++p) EXPECT_EQ(group.committed("g848", "k", p), 25);
    ASSERT_FALSE(db.error) << db.error.message();
}

TEST_F(ConsumerGroupProtocol, AFencedMemberLosesItsPartitionsAndRejoinsAtEpochZero) {
    topic("f", 2, 10);
    auto& group = *kwire::test::scripted_group::start_consumer_protocol(cluster, 50);
    boost::asio::io_context io;
    auto cfg = config("g-fence");
    cfg.commit = kwire::commit_policy::manual();  // nothing committed: the rejoin re-reads from the start
    kwire::consumer c(io.get_executor(), cfg);
    std::vector<std::vector<kwire::topic_partition>> lost, revoked;
    kwire::rebalance_listener l;
    l.lost = [&](const std::vector<kwire::topic_partition>& tps) { lost.push_back(tps); };
    l.revoked = [&](const std::vector<kwire::topic_partition>& tps) { revoked.push_back(tps); };
    c.subscribe({"f"}, l);
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 20 || d.error; }, 20s));
    const auto owners = group.owners("g-fence");
    ASSERT_EQ(owners.size(), 1u);
    const auto member = owners.begin()->first;
    group.fence_member("g-fence", member);
    ASSERT_TRUE(run_until(io, [&] { return !lost.empty() || d.error; }, 10s));
    EXPECT_EQ(lost[0].size(), 2u) << "lost, not revoked: no commit";
    EXPECT_TRUE(revoked.empty());
    ASSERT_TRUE(run_until(io, [&] { return owned(c).size() == 2 || d.error; }, 10s));
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 40 || d.error; }, 20s)) << "re-read from the committed offset";
    ASSERT_FALSE(d.error) << d.error.message();
    const auto hbs = group.heartbeats();
    bool fenced = false, rejoined = false;
    for (const auto& h : hbs) {
        if (h.error == 110) fenced = true;
        else if (fenced && h.epoch == 0) {
            rejoined = true;
            EXPECT_EQ(h.member_id, member) << "the same member id";
            ASSERT_TRUE(h.owned);
            EXPECT_TRUE(h.owned->empty());
        }
    }
    EXPECT_TRUE(fenced);
    EXPECT_TRUE(rejoined);
}

TEST_F(ConsumerGroupProtocol, ARevocationThatOutlivesAFenceLeavesTheRejoinedMembersPartitionsAlone) {
    // A is told to give a partition up; its revocation waits for a commit the coordinator keeps
    // refusing (retriable). Meanwhile A is fenced, rejoins alone and gets both partitions back at
    // its new epoch. When the old commit finally goes through, the old revocation must neither
    // take a partition from the new ownership (A would never fetch it again while the
    // coordinator counts it as A's) nor commit what A read under the lost ownership.
    topic("r", 2, 10);
    auto& group = *kwire::test::scripted_group::start_consumer_protocol(cluster, 50);
    boost::asio::io_context io;
    auto cfg = config("g-outlived");
    cfg.commit = kwire::commit_policy::manual();  // what A read stays marked: the revocation has a commit to make
    cfg.retry_backoff = 250ms;  // commit retries far apart: the fence and the rejoin land between two
    kwire::consumer a(io.get_executor(), cfg);
    a.subscribe({"r"});
    driver da(a);
    da.start();
    ASSERT_TRUE(run_until(io, [&] { return da.count() >= 20 || da.error; }, 20s)) << da.error.message();
    const auto member_a = group.owners("g-outlived").begin()->first;
    group.refuse_commits(14);  // COORDINATOR_LOAD_IN_PROGRESS
    auto refused = [&] {
        int n = 0;
        for (const auto& c : group.commits()) n += c.member_id == member_a && c.error == 14;
        return n;
    };

    auto b = std::make_unique<kwire::consumer>(io.get_executor(), config("g-outlived"));
    b->subscribe({"r"});
    driver db(*b);
    db.start();
    ASSERT_TRUE(run_until(io, [&] { return refused() >= 1 || da.error || db.error; }, 20s)) << "A's revocation commits";
    bool b_closed = false;
    b->close([&](std::error_code) { b_closed = true; });
    ASSERT_TRUE(run_until(io, [&] { return b_closed; }, 10s));

    const auto before_fence = group.heartbeats().size();
    group.fence_member("g-outlived", member_a);
    const tp_set both{{"r", 0}, {"r", 1}};
    auto acknowledged_both_after_rejoin = [&] {
        const auto hbs = group.heartbeats();
        bool rejoined = false;
        for (auto i = before_fence; i < hbs.size(); ++i) {
            if (hbs[i].member_id != member_a || hbs[i].error != 0) continue;
            if (hbs[i].epoch == 0) rejoined = true;
            else if (rejoined && hbs[i].owned && *hbs[i].owned == both) return true;
        }
        return false;
    };
    ASSERT_TRUE(run_until(io, [&] { return acknowledged_both_after_rejoin() || da.error; }, 10s));
    ASSERT_EQ(owned(a), both);

    group.refuse_commits(0);
    run_for(io, 1s);  // the old revocation's commit is retried (and accepted) or dropped now
    EXPECT_EQ(owned(a), both) << "the old revocation took a partition of the new ownership";
    EXPECT_EQ(group.owners("g-outlived")[member_a], both);
    for (int p = 0; p < 2; ++p)
        EXPECT_EQ(group.committed("g-outlived", "r", p), -1)
            << "p" << p << ": nothing A read under its lost ownership is committed under the new one";

    log.append("r", 0, {"late-0"});
    log.append("r", 1, {"late-1"});
    auto saw = [&](const std::string& value) {
        for (const auto& s : da.seen)
            if (std::get<3>(s) == value) return true;
        return false;
    };
    EXPECT_TRUE(run_until(io, [&] { return (saw("late-0") && saw("late-1")) || da.error; }, 10s))
        << "A fetches both partitions it owns";
    ASSERT_FALSE(da.error) << da.error.message();
}

TEST_F(ConsumerGroupProtocol, ACommitWithAStaleEpochIsRetriedWithTheNextOne) {
    topic("e", 1, 30);
    auto& group = *kwire::test::scripted_group::start_consumer_protocol(cluster, 200);
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), config("g-stale"));
    c.subscribe({"e"});
    driver d(c);
    bool advanced = false;
    d.on = [&](const kwire::consumer_record& r) {
        if (r.offset == 10 && !advanced) {
            advanced = true;
            group.advance_member_epoch("g-stale", group.owners("g-stale").begin()->first);
        }
        r.ack();
    };
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return group.committed("g-stale", "e", 0) == 30 || d.error; }, 20s))
        << group.committed("g-stale", "e", 0);
    ASSERT_FALSE(d.error) << d.error.message();
    int stale = 0;
    for (const auto& cm : group.commits()) stale += cm.error == 113;
    EXPECT_GT(stale, 0) << "the epoch moved under the member";
}

TEST_F(ConsumerGroupProtocol, AStaticMemberLeavesWithEpochMinusTwo) {
    topic("s", 1, 5);
    auto& group = *kwire::test::scripted_group::start_consumer_protocol(cluster, 50);
    boost::asio::io_context io;
    auto cfg = config("g-static848");
    cfg.group_instance_id = "inst-1";
    kwire::consumer c(io.get_executor(), cfg);
    c.subscribe({"s"});
    driver d(c);
    d.start();
    ASSERT_TRUE(run_until(io, [&] { return d.count() >= 5 || d.error; }, 20s));
    bool closed = false;
    c.close([&](std::error_code) { closed = true; });
    ASSERT_TRUE(run_until(io, [&] { return closed; }, 10s));
    const auto hbs = group.heartbeats();
    ASSERT_FALSE(hbs.empty());
    EXPECT_EQ(hbs.back().epoch, -2);
}

TEST_F(ConsumerGroupProtocol, ABrokerWithoutConsumerGroupHeartbeatFailsThePoll) {
    topic("u", 1, 5);
    kwire::test::scripted_group::start(cluster);  // classic only
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), config("g-old"));
    c.subscribe({"u"});
    std::error_code seen;
    c.poll(5s, [&](std::error_code ec, kwire::record_batch) { seen = ec; });
    ASSERT_TRUE(run_until(io, [&] { return static_cast<bool>(seen); }, 10s));
    EXPECT_EQ(seen, kwire::client::client_errc::unsupported_version) << seen.message();
}

}  // namespace

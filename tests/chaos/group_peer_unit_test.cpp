// The scripted KIP-848 coordinator (tests/admin/scripted_group) the group chaos scenarios run
// against, on its own: where a heartbeat answer is lost, it must answer as Kafka's
// GroupMetadataManager does, or the chaos blames the client for the peer. Heartbeats are sent
// by hand over a blocking connection, and an answer the test ignores is a lost one.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "blocking_connection.hpp"
#include "kwire/protocol/messages/consumer_group_heartbeat.hpp"
#include "scripted_group.hpp"

namespace kwire::test {
namespace {

namespace kp = kwire::protocol;
using tp_set = std::set<std::pair<std::string, std::int32_t>>;

class ScriptedGroupPeer : public ::testing::Test {
protected:
    scripted_cluster cluster{1};
    std::shared_ptr<scripted_group> group;
    std::optional<peers::blocking_connection> conn;

    void SetUp() override {
        cluster.topic_ids = true;
        cluster.add_topic("t", 2);
        group = scripted_group::start_consumer_protocol(cluster, 100);
        conn.emplace(cluster.addresses().front());
    }

    /// A heartbeat of `member` at `epoch`; `full` sets what a member sends after an error
    /// (rebalance timeout, subscription); `owned` the partitions it says it owns (nullopt: unchanged).
    kp::ConsumerGroupHeartbeatResponse beat(const std::string& member, std::int32_t epoch, bool full,
                                            std::optional<tp_set> owned) {
        kp::ConsumerGroupHeartbeatRequest req;
        req.group_id = "g";
        req.member_id = member;
        req.member_epoch = epoch;
        if (full || epoch == 0) {
            req.rebalance_timeout_ms = 5000;
            req.subscribed_topic_names = std::vector<std::string>{"t"};
        }
        if (owned) {
            req.topic_partitions.emplace();
            if (!owned->empty()) {
                auto& t = req.topic_partitions->emplace_back();
                t.topic_id = scripted_cluster::topic_id_of("t");
                for (const auto& [topic, p] : *owned) t.partitions.push_back(p);
            }
        }
        return conn->call(req, 1);
    }

    static std::optional<tp_set> assignment(const kp::ConsumerGroupHeartbeatResponse& r) {
        if (!r.assignment) return std::nullopt;
        tp_set out;
        for (const auto& t : r.assignment->topic_partitions)
            for (const auto p : t.partitions) out.insert({"t", p});
        return out;
    }

    /// A joined with both partitions and said so; then B joined, so A must give one up. Returns
    /// A's epoch and the answer telling A what to keep (which the tests may "lose").
    std::pair<std::int32_t, kp::ConsumerGroupHeartbeatResponse> a_must_give_one_up() {
        const auto joined = beat("A", 0, true, tp_set{});
        EXPECT_EQ(joined.error_code, 0);
        EXPECT_EQ(assignment(joined), (tp_set{{"t", 0}, {"t", 1}}));
        const auto epoch = joined.member_epoch;
        EXPECT_EQ(beat("A", epoch, false, tp_set{{"t", 0}, {"t", 1}}).error_code, 0);
        EXPECT_EQ(beat("B", 0, true, tp_set{}).error_code, 0);
        auto revoke = beat("A", epoch, false, std::nullopt);
        EXPECT_EQ(revoke.error_code, 0);
        EXPECT_EQ(revoke.member_epoch, epoch) << "a revocation keeps the epoch";
        EXPECT_TRUE(assignment(revoke) && assignment(revoke)->size() == 1u);
        return {epoch, revoke};
    }
};

TEST_F(ScriptedGroupPeer, AnAssignmentWhoseAnswerWasLostIsSentAgainOnAFullHeartbeat) {
    const auto [epoch, lost] = a_must_give_one_up();
    // Not full: the assignment has not changed since the coordinator sent it, so it is not sent.
    EXPECT_FALSE(beat("A", epoch, false, std::nullopt).assignment);
    // Full (what the member sends after the error that lost the answer): sent again, as Kafka does.
    const auto again = beat("A", epoch, true, tp_set{{"t", 0}, {"t", 1}});
    ASSERT_EQ(again.error_code, 0);
    EXPECT_EQ(assignment(again), assignment(lost));
}

TEST_F(ScriptedGroupPeer, ThePreviousEpochIsAcceptedWhenTheAnswerBumpingItWasLost) {
    const auto [epoch, revoke] = a_must_give_one_up();
    const auto kept = *assignment(revoke);
    // A releases the other partition; the answer bumps its epoch -- and is lost.
    const auto bumped = beat("A", epoch, false, kept);
    ASSERT_EQ(bumped.error_code, 0);
    ASSERT_GT(bumped.member_epoch, epoch);
    // A's full heartbeat after the error still carries the old epoch: accepted (it owns nothing
    // outside its assignment), answered with the new epoch and the assignment.
    const auto retried = beat("A", epoch, true, kept);
    ASSERT_EQ(retried.error_code, 0);
    EXPECT_EQ(retried.member_epoch, bumped.member_epoch);
    EXPECT_EQ(assignment(retried), kept);
}

TEST_F(ScriptedGroupPeer, ThePreviousEpochOwningMoreThanItsAssignmentIsFenced) {
    const auto [epoch, revoke] = a_must_give_one_up();
    const auto bumped = beat("A", epoch, false, *assignment(revoke));
    ASSERT_GT(bumped.member_epoch, epoch);
    EXPECT_EQ(beat("A", epoch, true, tp_set{{"t", 0}, {"t", 1}}).error_code, 110) << "FENCED_MEMBER_EPOCH";
    EXPECT_EQ(beat("A", bumped.member_epoch + 1, true, *assignment(revoke)).error_code, 110) << "a newer epoch";
}

}  // namespace
}  // namespace kwire::test

// The rules cluster's groups (support_rules_groups.cpp) through raw requests: offsets committed in
// a transaction are UNSTABLE_OFFSET_COMMIT to a reader that requires stable offsets until the
// marker, visible after a commit and dropped by an abort (KIP-447); TxnOffsetCommit is checked
// against the group's live membership (a restarted static member fences its old member id).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "blocking_connection.hpp"
#include "kwire/protocol/messages/end_txn.hpp"
#include "kwire/protocol/messages/init_producer_id.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "kwire/protocol/messages/offset_fetch.hpp"
#include "kwire/protocol/messages/txn_offset_commit.hpp"
#include "support_rules_broker.hpp"

namespace {

namespace kp = kwire::protocol;
constexpr std::int16_t illegal_generation = 22;
constexpr std::int16_t fenced_instance_id = 82;
constexpr std::int16_t unstable_offset_commit = 88;

struct fixture {
    kwire::test::rules_cluster rc{1};
    std::optional<kwire::peers::blocking_connection> conn;
    std::int64_t producer_id = -1;
    std::int16_t epoch = 0;

    fixture() {
        rc.add_topic("t", 1);
        rc.serve_groups();
        rc.enable_transactions_v2();  // TxnOffsetCommit v5 adds the group itself
        conn.emplace(rc.cluster().addresses().front(), std::chrono::seconds(5));
        kp::InitProducerIdRequest init;
        init.transactional_id = "tx";
        init.transaction_timeout_ms = 60000;
        const auto id = conn->call(init, 4);
        EXPECT_EQ(id.error_code, 0);
        producer_id = id.producer_id;
        epoch = id.producer_epoch;
    }

    std::int16_t txn_offset_commit(std::int64_t offset, const std::string& member = {}, std::int32_t generation = -1,
                                   std::optional<std::string> instance = std::nullopt) {
        kp::TxnOffsetCommitRequest req;
        req.transactional_id = "tx";
        req.group_id = "g";
        req.producer_id = producer_id;
        req.producer_epoch = epoch;
        req.generation_id = generation;
        req.member_id = member;
        req.group_instance_id = std::move(instance);
        auto& t = req.topics.emplace_back();
        t.name = "t";
        t.partitions.push_back({0, offset, -1, std::string(), {}});
        return conn->call(req, 5).topics.at(0).partitions.at(0).error_code;
    }

    /// The partition's answer: error and committed offset.
    std::pair<std::int16_t, std::int64_t> offset_fetch(bool require_stable) {
        kp::OffsetFetchRequest req;
        req.group_id = "g";
        req.topics->push_back({"t", {0}, {}});
        req.require_stable = require_stable;
        const auto p = conn->call(req, 7).topics.at(0).partitions.at(0);
        return {p.error_code, p.committed_offset};
    }

    void end_txn(bool commit) {
        kp::EndTxnRequest end;
        end.transactional_id = "tx";
        end.producer_id = producer_id;
        end.producer_epoch = epoch;
        end.committed = commit;
        const auto ended = conn->call(end, 5);
        ASSERT_EQ(ended.error_code, 0);
        epoch = ended.producer_epoch;  // v2: every EndTxn bumps it
    }

    /// A static member ("instance-1") joins: its member id and generation.
    std::pair<std::string, std::int32_t> join() {
        kp::JoinGroupRequest req;
        req.group_id = "g";
        req.session_timeout_ms = 10000;
        req.rebalance_timeout_ms = 10000;
        req.group_instance_id = "instance-1";
        req.protocol_type = "consumer";
        req.protocols.push_back({"range", {}, {}});
        const auto resp = conn->call(req, 5);
        EXPECT_EQ(resp.error_code, 0);
        return {resp.member_id, resp.generation_id};
    }
};

TEST(RulesClusterGroups, TransactionalOffsetsAreUnstableUntilTheMarkerThenCommittedOrDropped) {
    fixture f;
    ASSERT_EQ(f.txn_offset_commit(5), 0);
    EXPECT_EQ(f.offset_fetch(true), std::make_pair(unstable_offset_commit, std::int64_t{-1}))
        << "KIP-447: a reader requiring stable offsets waits for the transaction";
    EXPECT_EQ(f.offset_fetch(false), std::make_pair(std::int16_t{0}, std::int64_t{-1}))
        << "without require_stable: what is committed so far";
    f.end_txn(true);
    EXPECT_EQ(f.offset_fetch(true), std::make_pair(std::int16_t{0}, std::int64_t{5}));

    ASSERT_EQ(f.txn_offset_commit(9), 0);
    EXPECT_EQ(f.offset_fetch(true).first, unstable_offset_commit);
    f.end_txn(false);
    EXPECT_EQ(f.offset_fetch(true), std::make_pair(std::int16_t{0}, std::int64_t{5})) << "the abort dropped 9";
    EXPECT_EQ(f.rc.committed_offsets("g").at({"t", 0}), 5);
}

TEST(RulesClusterGroups, TxnOffsetCommitIsCheckedAgainstTheLiveGroup) {
    fixture f;
    const auto [first, first_generation] = f.join();
    EXPECT_EQ(f.txn_offset_commit(3, first, first_generation, "instance-1"), 0);
    f.end_txn(true);
    const auto [second, second_generation] = f.join();  // the instance restarted: a new member id
    ASSERT_NE(second, first);
    EXPECT_EQ(f.txn_offset_commit(4, first, first_generation, "instance-1"), fenced_instance_id)
        << "the replaced member is a zombie";
    EXPECT_EQ(f.txn_offset_commit(4, second, first_generation, "instance-1"), illegal_generation);
    EXPECT_EQ(f.txn_offset_commit(4, second, second_generation, "instance-1"), 0);
    f.end_txn(true);
    EXPECT_EQ(f.offset_fetch(true), std::make_pair(std::int16_t{0}, std::int64_t{4}));
}

}  // namespace

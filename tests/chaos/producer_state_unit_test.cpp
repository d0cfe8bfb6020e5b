// Kafka's idempotent-producer rules on one partition (support_producer_state.hpp), rule by rule.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "support_producer_state.hpp"

namespace {

using kwire::test::produce_verdict;
using kwire::test::producer_state_table;
using kwire::test::retained_batch;
namespace ke = kwire::test::kafka_error;

constexpr std::int64_t pid = 4000;
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();

/// A partition log in miniature: appends what the table accepts, `count` records a batch.
struct partition {
    producer_state_table table;
    std::int64_t end = 0;

    produce_verdict produce(std::int16_t epoch, std::int32_t first_seq, std::int32_t count, std::int64_t id = pid) {
        const auto last_seq = producer_state_table::last_sequence(first_seq, count);
        auto v = table.check(id, epoch, first_seq, last_seq);
        if (v.append()) {
            table.commit(id, epoch, {first_seq, last_seq, end, end + count - 1, 1700000000000 + end});
            end += count;
        }
        return v;
    }
};

TEST(ProducerState, LastSequenceWrapsFromInt32MaxToZero) {
    EXPECT_EQ(producer_state_table::last_sequence(0, 1), 0);
    EXPECT_EQ(producer_state_table::last_sequence(10, 5), 14);
    EXPECT_EQ(producer_state_table::last_sequence(int32_max, 1), int32_max);
    EXPECT_EQ(producer_state_table::last_sequence(int32_max, 2), 0);
    EXPECT_EQ(producer_state_table::last_sequence(int32_max - 1, 4), 1);
}

TEST(ProducerState, InSequenceIsLastPlusOneOrZeroAfterInt32Max) {
    EXPECT_TRUE(producer_state_table::in_sequence(-1, 0));
    EXPECT_TRUE(producer_state_table::in_sequence(4, 5));
    EXPECT_FALSE(producer_state_table::in_sequence(4, 4));
    EXPECT_FALSE(producer_state_table::in_sequence(4, 6));
    EXPECT_TRUE(producer_state_table::in_sequence(int32_max, 0));
    EXPECT_FALSE(producer_state_table::in_sequence(int32_max, std::numeric_limits<std::int32_t>::min()));
}

TEST(ProducerState, BatchesInSequenceAreAppended) {
    partition p;
    EXPECT_TRUE(p.produce(0, 0, 3).append());
    EXPECT_TRUE(p.produce(0, 3, 2).append());
    EXPECT_TRUE(p.produce(0, 5, 1).append());
    EXPECT_EQ(p.end, 6);
    ASSERT_NE(p.table.find(pid), nullptr);
    EXPECT_EQ(p.table.find(pid)->batches.back().last_seq, 5);
}

TEST(ProducerState, AGapOrARepeatIsOutOfOrder) {
    partition p;
    ASSERT_TRUE(p.produce(0, 0, 3).append());
    EXPECT_EQ(p.produce(0, 4, 1).error, ke::out_of_order_sequence);  // 3 missing
    EXPECT_EQ(p.produce(0, 2, 1).error, ke::out_of_order_sequence);  // overlaps, not a retained range
    EXPECT_EQ(p.produce(0, 0, 2).error, ke::out_of_order_sequence);  // a prefix of a batch is no duplicate
    EXPECT_EQ(p.end, 3);
    EXPECT_TRUE(p.produce(0, 3, 1).append());
}

TEST(ProducerState, SequencesWrapFromInt32MaxToZero) {
    partition p;
    ASSERT_TRUE(p.produce(0, int32_max - 1, 2).append());  // unknown producer: any start
    EXPECT_TRUE(p.produce(0, 0, 2).append());
    EXPECT_TRUE(p.produce(0, 2, 1).append());

    partition q;  // a batch spanning the wrap
    ASSERT_TRUE(q.produce(0, int32_max - 1, 4).append());
    EXPECT_EQ(q.table.find(pid)->batches.back().last_seq, 1);
    EXPECT_EQ(q.produce(0, int32_max - 1, 4).duplicate_of->first_offset, 0);
    EXPECT_TRUE(q.produce(0, 2, 1).append());
}

TEST(ProducerState, UnknownProducerMayStartAtAnySequence) {
    partition p;
    EXPECT_TRUE(p.produce(0, 5, 5).append());  // KIP-360: a later batch arriving first is taken
    EXPECT_EQ(p.produce(0, 0, 5).error, ke::out_of_order_sequence);  // ... and the first one is then out of order
    EXPECT_TRUE(p.produce(0, 10, 1).append());
    EXPECT_TRUE(p.produce(3, 77, 1, pid + 1).append());  // any epoch too
}

TEST(ProducerState, DuplicateOfARetainedBatchIsAnsweredWithTheOriginalOffset) {
    partition p;
    ASSERT_TRUE(p.produce(0, 0, 3).append());   // offsets 0..2
    ASSERT_TRUE(p.produce(0, 3, 2).append());   // offsets 3..4
    ASSERT_TRUE(p.produce(0, 5, 4).append());   // offsets 5..8
    const auto v = p.produce(0, 3, 2);
    EXPECT_EQ(v.error, ke::none);
    EXPECT_FALSE(v.append());
    ASSERT_TRUE(v.duplicate_of);
    EXPECT_EQ(v.duplicate_of->first_offset, 3);
    EXPECT_EQ(v.duplicate_of->last_offset, 4);
    EXPECT_EQ(v.duplicate_of->max_timestamp, 1700000000003);
    EXPECT_EQ(p.end, 9);
    EXPECT_EQ(p.produce(0, 5, 4).duplicate_of->first_offset, 5);  // the latest batch too
    EXPECT_TRUE(p.produce(0, 9, 1).append());                      // the sequence goes on where it was
}

TEST(ProducerState, OnlyTheLastFiveBatchesAreDuplicatesTheSixthBackIsOutOfOrder) {
    partition p;
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(p.produce(0, i, 1).append()) << i;
    ASSERT_EQ(p.table.find(pid)->batches.size(), producer_state_table::batches_retained);
    EXPECT_EQ(p.table.find(pid)->batches.front().first_seq, 1);
    for (int i = 1; i < 6; ++i) {
        const auto v = p.produce(0, i, 1);
        ASSERT_TRUE(v.duplicate_of) << i;
        EXPECT_EQ(v.duplicate_of->first_offset, i);
    }
    const auto sixth_back = p.produce(0, 0, 1);
    EXPECT_FALSE(sixth_back.duplicate_of);
    EXPECT_EQ(sixth_back.error, ke::out_of_order_sequence);
    EXPECT_EQ(p.end, 6);
}

TEST(ProducerState, DuplicateNeedsTheSameEpoch) {
    partition p;
    ASSERT_TRUE(p.produce(0, 0, 2).append());
    ASSERT_TRUE(p.produce(1, 0, 2).append());  // bumped: the epoch-0 batches are forgotten
    EXPECT_EQ(p.produce(0, 0, 2).error, ke::invalid_producer_epoch);
    EXPECT_TRUE(p.produce(1, 0, 2).duplicate_of);
    EXPECT_EQ(p.end, 4);
}

TEST(ProducerState, EpochBumpMustStartAtSequenceZero) {
    partition p;
    ASSERT_TRUE(p.produce(0, 0, 5).append());
    EXPECT_EQ(p.produce(1, 5, 1).error, ke::out_of_order_sequence);
    EXPECT_EQ(p.produce(2, 1, 1).error, ke::out_of_order_sequence);
    EXPECT_EQ(p.table.find(pid)->epoch, 0);  // a rejected bump changes nothing
    EXPECT_TRUE(p.produce(1, 0, 1).append());
    EXPECT_EQ(p.table.find(pid)->epoch, 1);
    EXPECT_EQ(p.table.find(pid)->batches.size(), 1u);
    EXPECT_TRUE(p.produce(5, 0, 1).append());  // bumps need not be by one
}

TEST(ProducerState, LowerEpochIsInvalidProducerEpoch) {
    partition p;
    ASSERT_TRUE(p.produce(2, 0, 1).append());
    EXPECT_EQ(p.produce(1, 1, 1).error, ke::invalid_producer_epoch);
    EXPECT_EQ(p.produce(1, 0, 1).error, ke::invalid_producer_epoch);
    EXPECT_EQ(p.produce(0, 0, 1).error, ke::invalid_producer_epoch);
    EXPECT_TRUE(p.produce(2, 1, 1).append());
}

TEST(ProducerState, ProducersAreIndependent) {
    partition p;
    ASSERT_TRUE(p.produce(0, 0, 2, 1).append());
    ASSERT_TRUE(p.produce(0, 7, 2, 2).append());
    EXPECT_TRUE(p.produce(0, 2, 1, 1).append());
    EXPECT_EQ(p.produce(0, 2, 1, 2).error, ke::out_of_order_sequence);
    EXPECT_TRUE(p.produce(0, 0, 2, 1).duplicate_of);
    EXPECT_FALSE(p.produce(0, 0, 2, 2).duplicate_of);
}

TEST(ProducerState, CheckChangesNothing) {
    producer_state_table t;
    EXPECT_TRUE(t.check(pid, 0, 9, 9).append());
    EXPECT_EQ(t.find(pid), nullptr);
}

}  // namespace

// The commit rule: never past a record the application has not finished.
#include "consumer/offset_tracker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

using kwire::client::detail::offset_tracker;

TEST(OffsetTracker, AcknowledgingInOrderMovesTheCommitAlong) {
    offset_tracker t(100);
    for (std::int64_t o = 100; o < 110; ++o) t.fetched(o);
    EXPECT_EQ(t.committable(), 100);
    t.ack(100);
    EXPECT_EQ(t.committable(), 101);
    for (std::int64_t o = 101; o < 110; ++o) t.ack(o);
    EXPECT_EQ(t.committable(), 110);
    EXPECT_EQ(t.pending(), 0);
}

TEST(OffsetTracker, OutOfOrderAcknowledgementsNeverCommitPastAnUnfinishedRecord) {
    offset_tracker t(0);
    for (std::int64_t o = 0; o < 5; ++o) t.fetched(o);
    t.ack(1);
    t.ack(3);
    t.ack(4);
    EXPECT_EQ(t.committable(), 0);  // record 0 is not finished
    t.ack(0);
    EXPECT_EQ(t.committable(), 2);  // 2 still in progress
    t.ack(2);
    EXPECT_EQ(t.committable(), 5);
}

TEST(OffsetTracker, SixHundredOfAThousandCommitsExactlyThose) {
    offset_tracker t(5000);
    for (std::int64_t o = 5000; o < 6000; ++o) t.fetched(o);
    for (std::int64_t o = 5000; o < 5600; ++o) t.ack(o);
    EXPECT_EQ(t.committable(), 5600);
    EXPECT_EQ(t.pending(), 400);
}

TEST(OffsetTracker, OffsetsWithoutRecordsNeedNoAcknowledgement) {
    offset_tracker t(0);
    t.fetched(0);
    t.fetched(7);   // 1..6 compacted away
    t.fetched(8);
    t.fetched_up_to(10);  // 9 was a transaction marker
    t.ack(0);
    EXPECT_EQ(t.committable(), 7);
    t.ack(8);
    EXPECT_EQ(t.committable(), 7);
    t.ack(7);
    EXPECT_EQ(t.committable(), 10);
}

TEST(OffsetTracker, RepeatedAndUnknownAcknowledgementsAreIgnored) {
    offset_tracker t(0);
    t.fetched(0);
    t.fetched(1);
    t.ack(0);
    t.ack(0);
    t.ack(57);
    t.ack(-3);
    EXPECT_EQ(t.committable(), 1);
    EXPECT_EQ(t.pending(), 1);
    t.reset(40);
    EXPECT_EQ(t.committable(), 40);
    t.ack(1);
    EXPECT_EQ(t.committable(), 40);
}

TEST(OffsetTracker, RandomOrderAgainstASimpleModel) {
    std::mt19937 rng(7);
    for (int round = 0; round < 50; ++round) {
        const std::int64_t start = rng() % 1000;
        offset_tracker t(start);
        std::vector<std::int64_t> offsets;
        std::int64_t o = start;
        for (int i = 0; i < 300; ++i) {
            o += 1 + static_cast<std::int64_t>(rng() % 3);  // gaps of 0-2 offsets
            offsets.push_back(o);
            t.fetched(o);
        }
        std::vector<std::int64_t> order = offsets;
        std::shuffle(order.begin(), order.end(), rng);
        std::vector<bool> done(offsets.size(), false);
        for (auto ack : order) {
            t.ack(ack);
            done[static_cast<std::size_t>(std::find(offsets.begin(), offsets.end(), ack) - offsets.begin())] = true;
            // Model: the first offset not done, or one past the last fetched.
            std::int64_t expect = offsets.back() + 1;
            for (std::size_t i = 0; i < offsets.size(); ++i)
                if (!done[i]) {
                    expect = offsets[i];
                    break;
                }
            // Before the first record the committable offset may sit anywhere up to it.
            if (expect == offsets.front()) ASSERT_LE(t.committable(), expect);
            else ASSERT_EQ(t.committable(), expect);
        }
    }
}

#include "kwire/client/partitioner.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

using kwire::client::murmur2;

// Values computed by Java's org.apache.kafka.common.utils.Utils.murmur2 on the UTF-8 bytes of
// each string (the same table kafkajs checks its Java-compatible partitioner against).
TEST(Murmur2, MatchesJavaUtilsMurmur2) {
    const std::map<std::string, std::int32_t> java = {
        {"0", 971027396},         {"1", -1993445489},      {"128", -326012175},
        {"2187", -1508407203},    {"16384", -325739742},   {"78125", -1654490814},
        {"279936", 1462227128},   {"823543", -2014198330},
    };
    for (const auto& [key, expected] : java) EXPECT_EQ(murmur2(key), expected) << key;
}

TEST(Murmur2, PartitionIsPositiveHashModuloCount) {
    // toPositive(-1993445489) = -1993445489 & 0x7fffffff = 154038159; % 10 = 9.
    const std::string key = "1";
    const std::span<const std::uint8_t> bytes{reinterpret_cast<const std::uint8_t*>(key.data()), key.size()};
    EXPECT_EQ(kwire::client::murmur2_partition(bytes, 10), 154038159 % 10);
    EXPECT_EQ(kwire::client::murmur2_partition(bytes, 1), 0);
}

TEST(StickyPartition, StaysUntilABatchCompletesThenMovesElsewhere) {
    kwire::client::sticky_partition sticky(42);
    const auto first = sticky.current(6);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(sticky.current(6), first);
    std::set<std::int32_t> seen{first};
    auto last = first;
    for (int i = 0; i < 200; ++i) {
        sticky.batch_completed(6);
        const auto now = sticky.current(6);
        EXPECT_NE(now, last);  // with more than one partition it always moves
        EXPECT_GE(now, 0);
        EXPECT_LT(now, 6);
        seen.insert(now);
        last = now;
    }
    EXPECT_EQ(seen.size(), 6u);  // and over time it uses every partition
}

TEST(StickyPartition, SinglePartitionAndShrinkingCounts) {
    kwire::client::sticky_partition sticky(7);
    EXPECT_EQ(sticky.current(1), 0);
    sticky.batch_completed(1);
    EXPECT_EQ(sticky.current(1), 0);
    const auto p = sticky.current(100);
    EXPECT_LT(p, 100);
    EXPECT_LT(sticky.current(3), 3);  // a partition beyond a smaller count is re-picked
}

// The consumer protocol's subscription and assignment behind their version prefix: golden bytes
// worked out by hand from the published layouts, round trips at every version, Java's rule for
// newer versions, and hostile input (prefixes, huge counts) failing cleanly without allocating.
#include "group/consumer_protocol.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
using bytes = std::vector<std::uint8_t>;

// Counts the bytes requested from the global allocator while `counting` is set, so a test can
// show that a decoder rejected a huge count before reserving room for it. Sanitizer builds keep
// their own allocator (replacing only some of its operators mismatches the rest); there, a
// reservation of gigabytes would itself abort the test.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KWIRE_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KWIRE_TEST_ASAN 1
#endif

namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> allocated{0};
}  // namespace

#ifndef KWIRE_TEST_ASAN
void* operator new(std::size_t n) {
    if (counting) allocated += n;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
// GCC cannot tell that these pair with the operator new above once both are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

namespace {

kd::consumer_subscription sample_subscription() {
    return kd::make_subscription({"orders", "payments"}, {{"orders", 3}, {"orders", 1}, {"payments", 0}}, 7,
                                 std::string("rack-a"), kd::cooperative_sticky_user_data(7));
}

kd::consumer_assignment sample_assignment() {
    auto a = kd::make_assignment({{"payments", 2}, {"orders", 0}, {"orders", 5}});
    a.user_data = bytes{9, 8, 7};
    return a;
}

/// What survives a round trip at `v`: the fields that version has.
kd::consumer_subscription as_of(kd::consumer_subscription s, std::int16_t v) {
    if (v < 1) s.owned_partitions.clear();
    if (v < 2) s.generation_id = -1;
    if (v < 3) s.rack_id.reset();
    return s;
}

template <class M, class Decode> void check_prefixes_fail(const bytes& full, Decode decode) {
    for (std::size_t n = 0; n < full.size(); ++n) {
        M m;
        const auto ec = decode(kwire::protocol::bytes_view(full.data(), n), m, nullptr);
        EXPECT_TRUE(ec) << "a prefix of " << n << " of " << full.size() << " bytes decoded";
    }
}

}  // namespace

TEST(ConsumerProtocol, SubscriptionV0GoldenBytes) {
    kd::consumer_subscription s;
    s.topics = {"a", "bc"};
    bytes out;
    ASSERT_FALSE(kd::encode_subscription(out, s, 0));
    const bytes expected = {
        0x00, 0x00,                    // version 0
        0x00, 0x00, 0x00, 0x02,        // Topics: 2
        0x00, 0x01, 'a',               //   "a"
        0x00, 0x02, 'b', 'c',          //   "bc"
        0xff, 0xff, 0xff, 0xff,        // UserData: null
    };
    EXPECT_EQ(out, expected);
    kd::consumer_subscription back;
    std::int16_t v = -5;
    ASSERT_FALSE(kd::decode_subscription(out, back, &v));
    EXPECT_EQ(v, 0);
    EXPECT_EQ(back, s);
}

TEST(ConsumerProtocol, SubscriptionV1GoldenBytes) {
    const auto s = kd::make_subscription({"t"}, {{"t", 2}, {"t", 0}}, 4, std::nullopt, bytes{0x01, 0x02});
    bytes out;
    ASSERT_FALSE(kd::encode_subscription(out, s, 1));
    const bytes expected = {
        0x00, 0x01,                    // version 1
        0x00, 0x00, 0x00, 0x01,        // Topics: 1
        0x00, 0x01, 't',               //   "t"
        0x00, 0x00, 0x00, 0x02,        // UserData: 2 bytes
        0x01, 0x02,
        0x00, 0x00, 0x00, 0x01,        // OwnedPartitions: 1 topic
        0x00, 0x01, 't',               //   Topic "t"
        0x00, 0x00, 0x00, 0x02,        //   Partitions: 2 (sorted)
        0x00, 0x00, 0x00, 0x00,        //     0
        0x00, 0x00, 0x00, 0x02,        //     2
        // no GenerationId (v2+) or RackId (v3+)
    };
    EXPECT_EQ(out, expected);
    kd::consumer_subscription back;
    ASSERT_FALSE(kd::decode_subscription(out, back));
    EXPECT_EQ(back, as_of(s, 1));
}

TEST(ConsumerProtocol, AssignmentV0AndSubscriptionV3GoldenBytes) {
    bytes out;
    ASSERT_FALSE(kd::encode_assignment(out, kd::make_assignment({{"t", 1}}), 0));
    const bytes assignment = {
        0x00, 0x00,                    // version 0
        0x00, 0x00, 0x00, 0x01,        // AssignedPartitions: 1 topic
        0x00, 0x01, 't',               //   "t"
        0x00, 0x00, 0x00, 0x01,        //   Partitions: 1
        0x00, 0x00, 0x00, 0x01,        //     1
        0xff, 0xff, 0xff, 0xff,        // UserData: null
    };
    EXPECT_EQ(out, assignment);

    out.clear();
    ASSERT_FALSE(kd::encode_subscription(out, kd::make_subscription({"t"}, {}, 0x0102, std::string("r"))));
    const bytes subscription = {
        0x00, 0x03,                    // version 3 (the default)
        0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',
        0xff, 0xff, 0xff, 0xff,        // UserData: null
        0x00, 0x00, 0x00, 0x00,        // OwnedPartitions: none
        0x00, 0x00, 0x01, 0x02,        // GenerationId
        0x00, 0x01, 'r',               // RackId
    };
    EXPECT_EQ(out, subscription);
}

TEST(ConsumerProtocol, RoundTripsAtEveryVersionAndEveryPrefixFails) {
    for (std::int16_t v = 0; v <= 3; ++v) {
        SCOPED_TRACE("v" + std::to_string(v));
        const auto s = sample_subscription();
        bytes out;
        ASSERT_FALSE(kd::encode_subscription(out, s, v));
        kd::consumer_subscription back;
        std::int16_t got = -1;
        ASSERT_FALSE(kd::decode_subscription(out, back, &got));
        EXPECT_EQ(got, v);
        EXPECT_EQ(back, as_of(s, v));
        bytes again;
        ASSERT_FALSE(kd::encode_subscription(again, back, v));
        EXPECT_EQ(again, out);
        check_prefixes_fail<kd::consumer_subscription>(out, kd::decode_subscription);

        const auto a = sample_assignment();
        out.clear();
        ASSERT_FALSE(kd::encode_assignment(out, a, v));
        kd::consumer_assignment aback;
        ASSERT_FALSE(kd::decode_assignment(out, aback, &got));
        EXPECT_EQ(got, v);
        EXPECT_EQ(aback, a);  // every version has every field
        check_prefixes_fail<kd::consumer_assignment>(out, kd::decode_assignment);
    }
}

TEST(ConsumerProtocol, NewerVersionsReadAsTheNewestKnownIgnoringTheRest) {
    const auto s = sample_subscription();
    bytes out;
    ASSERT_FALSE(kd::encode_subscription(out, s, 3));
    out[1] = 9;                                         // version 9, from some future client ...
    out.insert(out.end(), {0x00, 0x00, 0x00, 0x2a});  // ... with a field kwire does not know
    kd::consumer_subscription back;
    std::int16_t v = 0;
    ASSERT_FALSE(kd::decode_subscription(out, back, &v));
    EXPECT_EQ(v, 9);
    EXPECT_EQ(back, s);

    const bytes negative = {0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(kd::decode_subscription(negative, back), kwire::make_error_code(kwire::errc::unsupported_version));
    kd::consumer_assignment a;
    EXPECT_EQ(kd::decode_assignment(negative, a), kwire::make_error_code(kwire::errc::unsupported_version));
}

TEST(ConsumerProtocol, EncodingRejectsVersionsOutsideTheSchema) {
    bytes out;
    EXPECT_EQ(kd::encode_subscription(out, {}, 4), kwire::make_error_code(kwire::errc::unsupported_version));
    EXPECT_EQ(kd::encode_assignment(out, {}, -1), kwire::make_error_code(kwire::errc::unsupported_version));
    EXPECT_TRUE(out.empty());
}

TEST(ConsumerProtocol, HugeCountsFailWithoutAllocating) {
    const bytes huge_topics = {0x00, 0x03, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 't'};
    const bytes huge_partitions = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
    };
    const bytes huge_user_data = {0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x00};
    kd::consumer_subscription s;
    kd::consumer_assignment a;
    std::error_code e1, e2, e3;
    allocated = 0;
    counting = true;
    e1 = kd::decode_subscription(huge_topics, s);
    e2 = kd::decode_assignment(huge_partitions, a);
    e3 = kd::decode_subscription(huge_user_data, s);
    counting = false;
    EXPECT_EQ(e1, kwire::make_error_code(kwire::errc::length_too_large));
    EXPECT_EQ(e2, kwire::make_error_code(kwire::errc::length_too_large));
    EXPECT_EQ(e3, kwire::make_error_code(kwire::errc::length_too_large));
#ifndef KWIRE_TEST_ASAN
    EXPECT_LT(allocated.load(), 1024u);
    // The counter does see what a decoder allocates: 4 KiB of user data.
    kd::consumer_subscription big;
    big.user_data = bytes(4096, 0x5a);
    bytes encoded;
    ASSERT_FALSE(kd::encode_subscription(encoded, big));
    allocated = 0;
    counting = true;
    e1 = kd::decode_subscription(encoded, s);
    counting = false;
    EXPECT_FALSE(e1);
    EXPECT_GE(allocated.load(), 4096u);
#endif
}

TEST(ConsumerProtocol, FailedDecodesLeaveTheTargetAlone) {
    auto s = sample_subscription();
    const auto before = s;
    const bytes truncated = {0x00, 0x00, 0x00, 0x00, 0x00};  // the topic count cut short
    EXPECT_EQ(kd::decode_subscription(truncated, s), kwire::make_error_code(kwire::errc::truncated));
    EXPECT_EQ(s, before);
}

TEST(ConsumerProtocol, MembersFromSubscriptions) {
    auto s = kd::make_subscription({"b", "a"}, {{"b", 1}, {"a", 0}, {"b", 1}}, 12);
    auto m = kd::member_from_subscription("m-1", std::string("i-1"), s);
    EXPECT_EQ(m.member_id, "m-1");
    EXPECT_EQ(m.group_instance_id, "i-1");
    EXPECT_EQ(m.topics, (std::vector<std::string>{"b", "a"}));
    EXPECT_EQ(m.owned, (std::vector<kc::topic_partition>{{"a", 0}, {"b", 1}}));
    EXPECT_EQ(m.generation, 12);

    // A v1 subscription has no GenerationId: cooperative-sticky user data carries it instead.
    s.user_data = kd::cooperative_sticky_user_data(5);
    bytes out;
    ASSERT_FALSE(kd::encode_subscription(out, s, 1));
    kd::consumer_subscription v1;
    ASSERT_FALSE(kd::decode_subscription(out, v1));
    EXPECT_EQ(kd::member_from_subscription("m", {}, v1).generation, 5);
    v1.user_data = bytes{1, 2};  // too short to hold one
    EXPECT_EQ(kd::member_from_subscription("m", {}, v1).generation, -1);
    v1.user_data.reset();
    EXPECT_EQ(kd::member_from_subscription("m", {}, v1).generation, -1);
    EXPECT_EQ(kd::cooperative_sticky_user_data(0x01020304), (bytes{1, 2, 3, 4}));
}

TEST(ConsumerProtocol, AssignmentsGroupByTopicAndFlattenSorted) {
    const auto a = kd::make_assignment({{"y", 2}, {"x", 1}, {"y", 0}, {"x", 1}});
    ASSERT_EQ(a.assigned_partitions.size(), 2u);
    EXPECT_EQ(a.assigned_partitions[0].topic, "x");
    EXPECT_EQ(a.assigned_partitions[0].partitions, (std::vector<std::int32_t>{1}));
    EXPECT_EQ(a.assigned_partitions[1].topic, "y");
    EXPECT_EQ(a.assigned_partitions[1].partitions, (std::vector<std::int32_t>{0, 2}));
    EXPECT_EQ(kd::assigned_partitions(a), (std::vector<kc::topic_partition>{{"x", 1}, {"y", 0}, {"y", 2}}));
    EXPECT_TRUE(kd::assigned_partitions({}).empty());
}

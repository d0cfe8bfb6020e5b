// The admin client's decisions without I/O: error classification, routing partitions to
// leaders, per-item tracking across attempts, and the ConsumerProtocol assignment decoder.
#include <gtest/gtest.h>

#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"
#include "routing.hpp"

namespace {

using namespace kwire::admin;
using namespace kwire::admin::detail;
using namespace std::chrono_literals;

TEST(AdminClassify, RoutingErrorsAskForTheirRoute) {
    EXPECT_EQ(classify(std::int16_t{0}), next_step::done);
    EXPECT_EQ(classify(std::int16_t{41}), next_step::find_controller);       // NOT_CONTROLLER
    EXPECT_EQ(classify(std::int16_t{16}), next_step::find_coordinator);      // NOT_COORDINATOR
    EXPECT_EQ(classify(std::int16_t{15}), next_step::find_coordinator);      // COORDINATOR_NOT_AVAILABLE
    EXPECT_EQ(classify(std::int16_t{14}), next_step::retry);                 // COORDINATOR_LOAD_IN_PROGRESS
    EXPECT_EQ(classify(std::int16_t{6}), next_step::refresh_metadata);       // NOT_LEADER_OR_FOLLOWER
    EXPECT_EQ(classify(std::int16_t{5}), next_step::refresh_metadata);       // LEADER_NOT_AVAILABLE
    EXPECT_EQ(classify(std::int16_t{7}), next_step::retry);                  // REQUEST_TIMED_OUT
}

TEST(AdminClassify, FinalErrorsAreReportedNotRetried) {
    for (const int code : {36 /*TOPIC_ALREADY_EXISTS*/, 38 /*INVALID_REPLICATION_FACTOR*/, 44 /*POLICY*/,
                                    68 /*NON_EMPTY_GROUP*/, 69 /*GROUP_ID_NOT_FOUND*/, 29 /*TOPIC_AUTHORIZATION*/})
        EXPECT_EQ(classify(static_cast<std::int16_t>(code)), next_step::done) << code;
    // An unknown topic means what it says for admin calls, unless a leader says it right after
    // metadata listed the topic.
    EXPECT_EQ(classify(std::int16_t{3}), next_step::done);
    EXPECT_EQ(classify(std::int16_t{3}, true), next_step::refresh_metadata);
}

TEST(AdminClassify, TransportErrorsRetryElsewhereButConfigAndVersionErrorsDoNot) {
    using kwire::client::client_errc;
    EXPECT_EQ(classify(make_error_code(client_errc::connection_closed)), next_step::refresh_metadata);
    EXPECT_EQ(classify(make_error_code(client_errc::request_timed_out)), next_step::refresh_metadata);
    EXPECT_EQ(classify(std::make_error_code(std::errc::connection_refused)), next_step::refresh_metadata);
    EXPECT_EQ(classify(make_error_code(client_errc::unsupported_version)), next_step::done);
    EXPECT_EQ(classify(make_error_code(client_errc::closed)), next_step::done);
    EXPECT_EQ(classify(kwire::kafka_error(41)), next_step::find_controller);
    EXPECT_EQ(classify(std::error_code{}), next_step::done);
}

TEST(AdminRouting, PartitionsGoToTheirLeadersAndUnknownOnesAreReported) {
    const std::vector<topic_partition> tps{{"a", 0}, {"a", 1}, {"a", 2}, {"b", 0}, {"gone", 0}, {"a", 9}};
    const auto routes = route_by_leader(tps, [](const topic_partition& tp) -> std::pair<std::int32_t, std::int16_t> {
        if (tp.topic == "gone") return {-1, 3};
        if (tp.partition == 9) return {-1, 0};  // no leader right now
        return {tp.partition % 2 + 1, 0};
    });
    ASSERT_EQ(routes.by_leader.size(), 2u);
    EXPECT_EQ(routes.by_leader.at(1), (std::vector<topic_partition>{{"a", 0}, {"a", 2}, {"b", 0}}));
    EXPECT_EQ(routes.by_leader.at(2), (std::vector<topic_partition>{{"a", 1}}));
    ASSERT_EQ(routes.unroutable.size(), 2u);
    EXPECT_EQ(routes.unroutable[0].first, (topic_partition{"gone", 0}));
    EXPECT_EQ(routes.unroutable[0].second, 3);
    EXPECT_EQ(routes.unroutable[1].first, (topic_partition{"a", 9}));
    EXPECT_EQ(routes.unroutable[1].second, 5);  // LEADER_NOT_AVAILABLE
}

TEST(AdminItemTracker, RetriableItemsStayPendingOthersAreFinal) {
    item_tracker<std::string, int> t;
    for (const auto* k : {"a", "b", "c"}) t.add(k);
    EXPECT_EQ(t.answer("a", 1, 0, false), next_step::done);
    EXPECT_EQ(t.answer("b", 2, 41, false), next_step::find_controller);  // NOT_CONTROLLER: again
    EXPECT_EQ(t.answer("c", 3, 36, false), next_step::done);             // TOPIC_ALREADY_EXISTS: final
    EXPECT_EQ(t.pending(), (std::set<std::string>{"b"}));
    EXPECT_FALSE(t.finished());
    EXPECT_EQ(t.answer("b", 4, 0, false), next_step::done);
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(t.results().at("a"), 1);
    EXPECT_EQ(t.results().at("b"), 4);
    EXPECT_EQ(t.results().at("c"), 3);
}

TEST(AdminItemTracker, PastTheDeadlineTheLastAnswerIsTheResult) {
    item_tracker<std::string, int> t;
    t.add("a");
    t.add("b");
    t.add("c");
    EXPECT_EQ(t.answer("a", 1, 14, false), next_step::retry);
    EXPECT_EQ(t.answer("b", 2, 14, true), next_step::done);  // retriable, but no time left
    EXPECT_EQ(t.fail("c", 3, make_error_code(kwire::client::client_errc::unsupported_version), false), next_step::done);
    t.give_up([](const std::string&) { return -1; });
    EXPECT_TRUE(t.finished());
    EXPECT_EQ(t.results().at("a"), 1);  // its last answer, not the fallback
    EXPECT_EQ(t.results().at("b"), 2);
    EXPECT_EQ(t.results().at("c"), 3);
}

// --- ConsumerProtocol assignment --------------------------------------------------------------

struct bytes_builder {
    std::vector<std::uint8_t> b;
    bytes_builder& i16(int v) {
        b.push_back(static_cast<std::uint8_t>(v >> 8));
        b.push_back(static_cast<std::uint8_t>(v));
        return *this;
    }
    bytes_builder& i32(std::int32_t v) {
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(static_cast<std::uint32_t>(v) >> s));
        return *this;
    }
    bytes_builder& str(const std::string& s) {
        i16(static_cast<int>(s.size()));
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
};

std::vector<std::uint8_t> sample_assignment(int version = 0) {
    bytes_builder w;
    w.i16(version).i32(2);
    w.str("orders").i32(3).i32(2).i32(0).i32(5);
    w.str("audit").i32(1).i32(7);
    w.i32(3);  // user data: 3 bytes
    w.b.insert(w.b.end(), {1, 2, 3});
    return w.b;
}

TEST(ConsumerAssignment, DecodesTopicsAndPartitionsSorted) {
    std::vector<topic_partition> out;
    ASSERT_FALSE(decode_consumer_assignment(sample_assignment(), out));
    EXPECT_EQ(out, (std::vector<topic_partition>{{"audit", 7}, {"orders", 0}, {"orders", 2}, {"orders", 5}}));
}

TEST(ConsumerAssignment, LaterVersionsNullUserDataAndEmptyInputDecode) {
    std::vector<topic_partition> out;
    auto v3 = sample_assignment(3);
    v3.insert(v3.end(), {0, 0, 0, 1});  // a field a later version appends
    ASSERT_FALSE(decode_consumer_assignment(v3, out));
    EXPECT_EQ(out.size(), 4u);
    bytes_builder null_user_data;
    null_user_data.i16(0).i32(1).str("t").i32(1).i32(4).i32(-1);
    ASSERT_FALSE(decode_consumer_assignment(null_user_data.b, out));
    EXPECT_EQ(out, (std::vector<topic_partition>{{"t", 4}}));
    ASSERT_FALSE(decode_consumer_assignment({}, out));  // a member with nothing assigned yet
    EXPECT_TRUE(out.empty());
}

TEST(ConsumerAssignment, EveryTruncationIsAnErrorNeverACrash) {
    const auto full = sample_assignment();
    for (std::size_t n = 1; n < full.size(); ++n) {
        std::vector<topic_partition> out;
        const auto ec = decode_consumer_assignment(std::span(full.data(), n), out);
        EXPECT_TRUE(ec) << "cut at " << n;
        EXPECT_TRUE(out.empty());
    }
}

TEST(ConsumerAssignment, HugeCountsAreRejectedBeforeAllocating) {
    std::vector<topic_partition> out;
    bytes_builder topics;
    topics.i16(0).i32(0x7fffffff);
    EXPECT_TRUE(decode_consumer_assignment(topics.b, out));
    bytes_builder parts;
    parts.i16(0).i32(1).str("t").i32(0x40000000);
    EXPECT_TRUE(decode_consumer_assignment(parts.b, out));
    bytes_builder negative;
    negative.i16(0).i32(-2);
    EXPECT_TRUE(decode_consumer_assignment(negative.b, out));
    bytes_builder bad_version;
    bad_version.i16(-1).i32(0);
    EXPECT_TRUE(decode_consumer_assignment(bad_version.b, out));
}

}  // namespace

namespace {

TEST(AdminConfig, AdminSettingsMeanTheSameAsPropertyAndAsStructField) {
    // A value out of range: the same message whether it came as a property or a field.
    admin_config by_property;
    std::string property_what;
    EXPECT_EQ(apply_properties(by_property, kwire::client::properties{{"default.api.timeout.ms", "0"}}, &property_what),
              kwire::client::client_errc::invalid_config);
    admin_config by_struct;
    by_struct.api_timeout = 0ms;
    std::string struct_what;
    EXPECT_EQ(validate(by_struct, &struct_what), kwire::client::client_errc::invalid_config);
    EXPECT_EQ(property_what, "default.api.timeout.ms=0: out of range [1, 1099511627776]");
    EXPECT_EQ(struct_what, property_what);

    // Admin and connection properties together; a producer property is unknown to the admin client.
    admin_config cfg;
    std::string what;
    ASSERT_FALSE(apply_properties(cfg,
                                  kwire::client::properties{{"retry.backoff.max.ms", "250"}, {"request.timeout.ms", "700"}},
                                  &what))
        << what;
    EXPECT_EQ(cfg.retry_backoff_max, 250ms);
    EXPECT_EQ(cfg.request_timeout, 700ms);
    EXPECT_EQ(apply_properties(cfg, kwire::client::properties{{"linger.ms", "5"}}, &what),
              kwire::client::client_errc::invalid_config);
    EXPECT_EQ(what, "unknown property 'linger.ms'");
}

}  // namespace

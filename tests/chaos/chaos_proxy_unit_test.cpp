// The chaos proxy on its own: its schedule follows the seed alone, every fault kind really
// happens in front of an independent broker (librdkafka's mock) without costing a kwire
// producer a record, and pause() stops the faults. (Exactly once under kills needs a broker
// that drops re-sent batches: the producer scenarios run against support_rules_broker.)
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "blocking_connection.hpp"
#include "kcat.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "mock_cluster.hpp"
#include "support_chaos_proxy.hpp"

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using kwire::test::chaos_decision;
using kwire::test::chaos_dice;
using kwire::test::chaos_fault;
using kwire::test::chaos_proxy;
using kwire::test::chaos_settings;
using kwire::test::frame_direction;

constexpr frame_direction req = frame_direction::request;
constexpr frame_direction resp = frame_direction::response;

/// The decisions for a scripted sequence of frames.
std::vector<chaos_decision> schedule(chaos_dice dice, const std::vector<frame_direction>& frames) {
    std::vector<chaos_decision> out;
    for (auto d : frames) out.push_back(dice.next(d));
    return out;
}

std::vector<chaos_decision> only(const std::vector<chaos_decision>& all, const std::vector<frame_direction>& frames,
                                 frame_direction which) {
    std::vector<chaos_decision> out;
    for (std::size_t i = 0; i < all.size(); ++i)
        if (frames[i] == which) out.push_back(all[i]);
    return out;
}

std::vector<frame_direction> alternating(int n) {
    std::vector<frame_direction> out;
    for (int i = 0; i < n; ++i) out.push_back(i % 2 ? resp : req);
    return out;
}

TEST(ChaosDice, TheSameSeedGivesTheSameSchedule) {
    chaos_settings s;
    s.seed = 424242;
    s.fault_probability = 0.3;
    const auto frames = alternating(400);
    const auto a = schedule(chaos_dice(s, 1, 7), frames);
    EXPECT_EQ(a, schedule(chaos_dice(s, 1, 7), frames));
    int faults = 0;
    for (const auto& d : a) faults += d.fault != chaos_fault::none;
    EXPECT_GT(faults, 60);  // about 0.3 * 400 with grace: the schedule is not empty

    auto other_seed = s;
    other_seed.seed = 424243;
    EXPECT_NE(a, schedule(chaos_dice(other_seed, 1, 7), frames));
    EXPECT_NE(a, schedule(chaos_dice(s, 1, 8), frames)) << "another connection, other dice";
    EXPECT_NE(a, schedule(chaos_dice(s, 2, 7), frames)) << "another broker, other dice";
}

TEST(ChaosDice, RequestsAndResponsesDrawFromTheirOwnStreams) {
    // How responses interleave with requests depends on timing; the k-th request's fate must not.
    chaos_settings s;
    s.seed = 99;
    s.fault_probability = 0.5;
    const auto one = alternating(200);
    std::vector<frame_direction> other;  // all 100 requests first, then the responses
    for (int i = 0; i < 100; ++i) other.push_back(req);
    for (int i = 0; i < 100; ++i) other.push_back(resp);
    const auto a = schedule(chaos_dice(s, 0, 0), one);
    const auto b = schedule(chaos_dice(s, 0, 0), other);
    EXPECT_EQ(only(a, one, req), only(b, other, req));
    EXPECT_EQ(only(a, one, resp), only(b, other, resp));
}

TEST(ChaosDice, DrawsOnlyEnabledKindsForTheirDirectionAfterTheGrace) {
    chaos_settings s;
    s.seed = 5;
    s.fault_probability = 1;
    s.grace_frames = 3;
    s.enabled = chaos_settings::only(chaos_fault::kill_mid_request) | chaos_settings::only(chaos_fault::delay);
    const auto frames = alternating(200);
    const auto a = schedule(chaos_dice(s, 0, 0), frames);
    std::map<chaos_fault, int> seen;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i < 6) {
            EXPECT_EQ(a[i].fault, chaos_fault::none) << "frame " << i << " is in the grace";
            continue;
        }
        ++seen[a[i].fault];
        if (frames[i] == resp) {
            EXPECT_EQ(a[i].fault, chaos_fault::delay) << "kill_mid_request is not a response fault";
        }
        if (a[i].fault == chaos_fault::kill_mid_request) {
            EXPECT_TRUE(a[i].cut > 0 && a[i].cut < 1);
        }
        if (a[i].fault == chaos_fault::delay) {
            EXPECT_GE(a[i].delay_ms, 1);
        }
    }
    EXPECT_GT(seen[chaos_fault::kill_mid_request], 20);
    EXPECT_GT(seen[chaos_fault::delay], 60);
    EXPECT_EQ(seen.size(), 2u);
}

TEST(ChaosDice, ChunksCoverTheFrame) {
    for (std::size_t bytes : {1u, 2u, 7u, 100u, 4099u})
        for (int chunks : {1, 2, 3, 8}) {
            const auto c = kwire::test::chunk_sizes(bytes, chunks);
            std::size_t sum = 0;
            for (auto x : c) {
                EXPECT_GT(x, 0u);
                sum += x;
            }
            EXPECT_EQ(sum, bytes);
            EXPECT_EQ(c.size(), std::min<std::size_t>(bytes, static_cast<std::size_t>(chunks)));
        }
}

// --- against a real peer ---------------------------------------------------------------------

struct produce_outcome {
    int acknowledged = 0;
    int failed = 0;
    bool finished = false;
};

/// Sends `waves` waves of `per_wave` records ("v<i>", keyed) through `bootstrap`, waiting for
/// each wave's acknowledgements before the next, so that every wave makes its own requests.
produce_outcome produce_waves(const std::vector<std::string>& bootstrap, const std::string& topic, int waves,
                              int per_wave, std::chrono::seconds limit) {
    net::io_context io;
    kwire::producer_config cfg;
    cfg.bootstrap_servers = bootstrap;
    cfg.linger = 1ms;
    cfg.delivery_timeout = 60s;
    cfg.request_timeout = 5s;
    cfg.retry_backoff = 20ms;
    cfg.reconnect_backoff = 10ms;
    cfg.reconnect_backoff_max = 100ms;
    kwire::producer p(io.get_executor(), cfg);
    produce_outcome out;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            for (int w = 0; w < waves; ++w) {
                for (int i = w * per_wave; i < (w + 1) * per_wave; ++i) {
                    const auto key = "k" + std::to_string(i % 13), value = "v" + std::to_string(i);
                    p.send({.topic = topic,
                            .key = kwire::protocol::bytes_view(reinterpret_cast<const std::uint8_t*>(key.data()),
                                                                key.size()),
                            .value = kwire::protocol::bytes_view(
                                reinterpret_cast<const std::uint8_t*>(value.data()), value.size())},
                           [&](std::error_code ec, kwire::delivery) { ++(ec ? out.failed : out.acknowledged); });
                }
                co_await p.flush(net::use_awaitable);
            }
            out.finished = true;
        },
        net::detached);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!out.finished && std::chrono::steady_clock::now() < deadline) io.run_for(50ms);
    return out;
}

/// How often each value is in the topic, read from the mock directly (not through the proxy).
std::map<std::string, int> stored_values(const kwire::peers::mock_cluster& mc, const std::string& topic,
                                         int partitions) {
    std::map<std::string, int> out;
    for (int p = 0; p < partitions; ++p)
        for (const auto& r : kwire::peers::kcat_consume(mc.bootstrap(), topic, p)) ++out[r.value];
    return out;
}

class ChaosProxyFault : public ::testing::TestWithParam<chaos_fault> {};

TEST_P(ChaosProxyFault, HappensAndAProducerLosesNothing) {
    if (!kwire::peers::program_available("kcat")) GTEST_SKIP() << "kcat not installed";
    const auto fault = GetParam();
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("chaos", 3, 1);
    chaos_settings s;
    s.seed = 11 + static_cast<std::uint64_t>(fault);
    s.enabled = chaos_settings::only(fault);
    s.fault_probability = 0.15;
    chaos_proxy proxy(mc.broker_addresses(), s);
    constexpr int waves = 30, per_wave = 10;
    const auto out = produce_waves(proxy.addresses(), "chaos", waves, per_wave, 60s);
    SCOPED_TRACE(proxy.describe() + " -> " + proxy.report());
    ASSERT_TRUE(out.finished);
    EXPECT_EQ(out.acknowledged, waves * per_wave);
    EXPECT_EQ(out.failed, 0);
    EXPECT_GT(proxy.count(fault), 0u) << "the fault never happened";
    for (std::size_t k = 1; k < kwire::test::chaos_fault_kinds; ++k) {
        if (static_cast<chaos_fault>(k) != fault) {
            EXPECT_EQ(proxy.count(static_cast<chaos_fault>(k)), 0u) << kwire::test::to_string(static_cast<chaos_fault>(k));
        }
    }

    const auto stored = stored_values(mc, "chaos", 3);
    int missing = 0, duplicated = 0;
    for (int i = 0; i < waves * per_wave; ++i) {
        const auto it = stored.find("v" + std::to_string(i));
        if (it == stored.end()) ++missing;
        else if (it->second > 1) ++duplicated;
    }
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(stored.size(), static_cast<std::size_t>(waves * per_wave)) << "records nobody sent";
    // The mock stores an idempotent batch sent again after its answer was lost (it checks no
    // sequences; a Kafka broker would drop the copy): kills may leave such copies here. Frames
    // that are only held or split lose nothing, so nothing may be stored twice.
    if (fault == chaos_fault::delay || fault == chaos_fault::partial_write) {
        EXPECT_EQ(duplicated, 0);
    }
    std::printf("[ chaos ] %s: %d records stored twice (re-sent after a lost answer)\n", kwire::test::to_string(fault),
                duplicated);
}

INSTANTIATE_TEST_SUITE_P(EachKind, ChaosProxyFault,
                         ::testing::Values(chaos_fault::kill_before_request, chaos_fault::kill_after_response,
                                           chaos_fault::kill_mid_request, chaos_fault::kill_mid_response,
                                           chaos_fault::kill_answer_lost, chaos_fault::delay,
                                           chaos_fault::partial_write),
                         [](const auto& param) { return std::string(kwire::test::to_string(param.param)); });

/// The member id a first JoinGroup (no member id) through a proxy in front of the mock is given.
std::string first_member_id(bool name_new_members, const std::string& group) {
    kwire::peers::mock_cluster mc(1);
    chaos_settings s;
    s.fault_probability = 0;
    s.name_new_members = name_new_members;
    chaos_proxy proxy(mc.broker_addresses(), s);
    kwire::protocol::JoinGroupRequest join;
    join.group_id = group;
    join.session_timeout_ms = 6000;
    join.rebalance_timeout_ms = 6000;
    join.protocol_type = "consumer";
    auto& p = join.protocols.emplace_back();
    p.name = "range";
    kwire::peers::blocking_connection conn(proxy.addresses().front(), 15s);
    const auto joined = conn.call(join, 5);  // the mock answers after its first rebalance delay (3 s)
    EXPECT_EQ(joined.error_code, 0);
    return joined.member_id;
}

TEST(ChaosProxy, NamesNewMembersWhenAskedSoThatNamesAreNeverReused) {
    // The mock names a member after its heap address, which comes back after an expiry
    // (support_group_clusters.hpp); the proxy's names never do.
    const auto named = first_member_id(true, "named");
    EXPECT_EQ(named.rfind("chaos-member-", 0), 0u) << named;
    EXPECT_NE(first_member_id(true, "named-again"), named);
    const auto own = first_member_id(false, "own");
    EXPECT_FALSE(own.empty());
    EXPECT_NE(own.rfind("chaos-member-", 0), 0u) << own;
}

TEST(ChaosProxy, PauseStopsTheFaultsAndResumeBringsThemBack) {
    if (!kwire::peers::program_available("kcat")) GTEST_SKIP() << "kcat not installed";
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("paused", 1, 1);
    chaos_settings s;
    s.seed = 3;
    s.fault_probability = 1;  // every frame after the grace, while not paused
    s.enabled = chaos_settings::only(chaos_fault::kill_before_request);
    chaos_proxy proxy(mc.broker_addresses(), s);
    proxy.pause();
    const auto calm = produce_waves(proxy.addresses(), "paused", 5, 4, 30s);
    EXPECT_TRUE(calm.finished);
    EXPECT_EQ(calm.acknowledged, 20);
    EXPECT_EQ(proxy.kills(), 0u);
    EXPECT_GT(proxy.frames(), 10u);

    proxy.resume();
    // Nothing but ApiVersions gets through now: the producer cannot finish.
    const auto stormy = produce_waves(proxy.addresses(), "paused", 1, 1, 2s);
    EXPECT_FALSE(stormy.finished);
    EXPECT_GT(proxy.count(chaos_fault::kill_before_request), 0u);
    EXPECT_GT(proxy.resets() + proxy.clean_closes(), 0u);
}

}  // namespace

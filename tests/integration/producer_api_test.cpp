// The producer's surface: every completion token, autoflush publishers, user partitioners, and
// records with headers read back by kcat (an independent consumer) byte for byte, per codec.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../require_codec.hpp"
#include "kcat.hpp"
#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "producer_fixture.hpp"
#include "support_proxy.hpp"

namespace net = boost::asio;

namespace {

using kwire::protocol::bytes_view;
using kwire::test::bv;
using kwire::test::config_for;
using kwire::test::run_until;




}  // namespace

TEST(ProducerApi, UseAwaitableDeferredAndAsTuple) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("tokens", 1, 1);
    net::io_context io;
    kwire::producer p(io.get_executor(), config_for(mc));
    std::vector<std::int64_t> offsets;
    bool done = false;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            const std::string v = "awaited";
            // boost::system::error_code is Asio's error type: use_awaitable returns the delivery
            // and would throw boost::system::system_error on failure.
            const kwire::delivery d1 = co_await p.send({.topic = "tokens", .value = bv(v)}, net::use_awaitable);
            offsets.push_back(d1.offset);
            auto [ec2, d2] = co_await p.send({.topic = "tokens", .value = bv(v)}, net::as_tuple(net::use_awaitable));
            EXPECT_FALSE(ec2);
            offsets.push_back(d2.offset);
            // deferred: nothing happens until the operation is launched (the record's buffers
            // must live until then: here they do).
            auto op = p.send({.topic = "tokens", .value = bv(v)}, net::deferred);
            auto [ec3, d3] = co_await std::move(op)(net::as_tuple(net::use_awaitable));
            EXPECT_FALSE(ec3);
            offsets.push_back(d3.offset);
            co_await p.flush(net::use_awaitable);  // throws on a flush error
            done = true;
        },
        net::detached);
    ASSERT_TRUE(run_until(io, [&] { return done; }));
    EXPECT_EQ(offsets, (std::vector<std::int64_t>{0, 1, 2}));
}

// Linger 0 on an idle producer: send() writes its request before it returns, without a turn of
// the executor in between (an awaited send's latency), yet never completes inside send(). A send
// made while a request is in flight waits for the next drain, so a burst shares requests.
TEST(ProducerApi, AnIdleProducerWritesAnUnlingeredSendBeforeSendReturns) {
    using namespace std::chrono_literals;
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("at-once", 1, 1);
    kwire::test::kafka_proxy proxy(mc.broker_addresses());  // counts the Produce requests
    constexpr std::int16_t produce_api = 0;
    net::io_context io;
    auto cfg = config_for(mc);
    cfg.bootstrap_servers = proxy.addresses();
    cfg.linger = 0ms;
    kwire::producer p(io.get_executor(), cfg);
    bool warm = false;  // metadata, the producer id and the connection in place
    p.send({.topic = "at-once", .value = bv("warm-up")}, [&](std::error_code ec, kwire::delivery) {
        EXPECT_FALSE(ec) << ec.message();
        warm = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return warm; }));
    const int before = proxy.requests(produce_api);

    std::vector<std::int64_t> offsets;
    auto record_offset = [&](std::error_code ec, kwire::delivery d) {
        EXPECT_FALSE(ec) << ec.message();
        offsets.push_back(d.offset);
    };
    p.send({.topic = "at-once", .value = bv("first")}, record_offset);
    EXPECT_TRUE(offsets.empty());  // no completion inside send()
    p.send({.topic = "at-once", .value = bv("second")}, record_offset);
    // The io_context is not running: only send() itself can have written the first request.
    const auto limit = std::chrono::steady_clock::now() + 10s;
    while (proxy.requests(produce_api) == before && std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(1ms);
    EXPECT_EQ(proxy.requests(produce_api), before + 1);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(proxy.requests(produce_api), before + 1) << "the second send waits for the executor";

    ASSERT_TRUE(run_until(io, [&] { return offsets.size() == 2; }));
    EXPECT_EQ(offsets, (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(proxy.requests(produce_api), before + 2);
}

TEST(ProducerApi, AutoflushPublisherSkipsLingerWhileOtherTopicsKeepBatching) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("fast", 1, 1);
    mc.create_topic("slow", 1, 1);
    net::io_context io;
    auto cfg = config_for(mc);
    cfg.linger = std::chrono::seconds(10);  // anything lingering would take 10 s
    kwire::producer p(io.get_executor(), cfg);
    auto fast = p.make_publisher("fast", {.autoflush = true});
    bool fast_done = false, slow_done = false;
    fast.send(std::nullopt, bv("now"), [&](std::error_code ec, kwire::delivery) {
        EXPECT_FALSE(ec);
        fast_done = true;
    });
    p.send({.topic = "slow", .value = bv("later")}, [&](std::error_code, kwire::delivery) { slow_done = true; });
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until(io, [&] { return fast_done; }, std::chrono::seconds(5)));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
    EXPECT_FALSE(slow_done);  // still lingering
    bool flushed = false;
    p.flush([&](std::error_code) { flushed = true; });  // flush sends what lingers, now
    ASSERT_TRUE(run_until(io, [&] { return flushed && slow_done; }, std::chrono::seconds(5)));
}

TEST(ProducerApi, UserPartitionerDecides) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("custom", 4, 1);
    net::io_context io;
    auto cfg = config_for(mc);
    cfg.partitioner = [](std::string_view topic, std::optional<std::span<const std::uint8_t>> key, std::int32_t n) {
        EXPECT_EQ(topic, "custom");
        EXPECT_EQ(n, 4);
        return key ? static_cast<std::int32_t>(key->size() % 4) : 3;
    };
    kwire::producer p(io.get_executor(), cfg);
    std::vector<std::int32_t> partitions(3, -1);
    const std::string k1 = "a", k2 = "abc";
    p.send({.topic = "custom", .key = bv(k1), .value = bv("x")}, [&](std::error_code, kwire::delivery d) { partitions[0] = d.partition; });
    p.send({.topic = "custom", .key = bv(k2), .value = bv("x")}, [&](std::error_code, kwire::delivery d) { partitions[1] = d.partition; });
    p.send({.topic = "custom", .value = bv("x")}, [&](std::error_code, kwire::delivery d) { partitions[2] = d.partition; });
    ASSERT_TRUE(run_until(io, [&] { return partitions[2] >= 0 && partitions[1] >= 0 && partitions[0] >= 0; }));
    EXPECT_EQ(partitions, (std::vector<std::int32_t>{1, 3, 3}));
}

class ProducerKcat : public ::testing::TestWithParam<kwire::codec::compression> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(GetParam()); }
};

TEST_P(ProducerKcat, KcatReadsBackKeysValuesAndHeadersIdenticalAndInOrder) {
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("readback", 2, 3);
    net::io_context io;
    auto cfg = config_for(mc);
    cfg.compression = GetParam();
    kwire::producer p(io.get_executor(), cfg);
    constexpr int n = 300;
    int acked = 0;
    for (int i = 0; i < n; ++i) {
        const std::string key = "k" + std::to_string(i);
        const std::string value = "value " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i % 50), 'z');
        const std::string hv = "h" + std::to_string(i);
        const std::string nv = std::to_string(i % 7);  // a named string: the view must outlive send()
        const kwire::codec::header_view headers[] = {{"trace", bv(hv)}, {"n", bv(nv)}};
        p.send({.topic = "readback", .key = bv(key), .value = bv(value), .headers = headers, .partition = i % 2},
               [&](std::error_code ec, kwire::delivery) {
                   EXPECT_FALSE(ec) << ec.message();
                   ++acked;
               });
    }
    ASSERT_TRUE(run_until(io, [&] { return acked == n; }));
    for (std::int32_t part = 0; part < 2; ++part) {
        const auto records = kwire::peers::kcat_consume(mc.bootstrap(), "readback", part);
        ASSERT_EQ(records.size(), static_cast<std::size_t>(n / 2));
        for (std::size_t j = 0; j < records.size(); ++j) {
            const int i = static_cast<int>(j) * 2 + part;
            EXPECT_EQ(records[j].offset, static_cast<std::int64_t>(j));
            EXPECT_EQ(records[j].key, "k" + std::to_string(i));
            EXPECT_EQ(records[j].value, "value " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i % 50), 'z'));
            EXPECT_EQ(records[j].headers,
                      (kwire::peers::header_list{{"trace", "h" + std::to_string(i)}, {"n", std::to_string(i % 7)}}));
        }
    }
}

// Batches of several hundred KB: lz4 writes them as many 64 KiB blocks, compressed while the
// records are appended; kcat must read every record back.
TEST_P(ProducerKcat, KcatReadsBackBatchesSpanningManyCompressionBlocks) {
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("bigbatches", 1, 3);
    net::io_context io;
    auto cfg = config_for(mc);
    cfg.compression = GetParam();
    cfg.linger = std::chrono::milliseconds(200);
    cfg.batch_size = 900'000;
    kwire::producer p(io.get_executor(), cfg);
    constexpr int n = 4000;
    auto value_of = [](int i) {
        std::string v = "{\"seq\":" + std::to_string(i) + ",\"pad\":\"";
        for (int j = 0; v.size() < 240; ++j) v += static_cast<char>('a' + (i * 7 + j * 13) % 26);
        return v + "\"}";
    };
    int acked = 0;
    for (int i = 0; i < n; ++i) {
        const std::string value = value_of(i);
        p.send({.topic = "bigbatches", .value = bv(value), .partition = 0}, [&](std::error_code ec, kwire::delivery) {
            EXPECT_FALSE(ec) << ec.message();
            ++acked;
        });
    }
    ASSERT_TRUE(run_until(io, [&] { return acked == n; }));
    const auto records = kwire::peers::kcat_consume(mc.bootstrap(), "bigbatches", 0);
    ASSERT_EQ(records.size(), static_cast<std::size_t>(n));
    for (std::size_t j = 0; j < records.size(); ++j) {
        EXPECT_EQ(records[j].offset, static_cast<std::int64_t>(j));
        EXPECT_EQ(records[j].value, value_of(static_cast<int>(j))) << j;
    }
}

INSTANTIATE_TEST_SUITE_P(EveryCodec, ProducerKcat,
                         ::testing::Values(kwire::codec::compression::none, kwire::codec::compression::gzip,
                                           kwire::codec::compression::snappy, kwire::codec::compression::lz4,
                                           kwire::codec::compression::zstd),
                         [](const auto& param_info) { return std::string(kwire::codec::compression_name(param_info.param)); });

// The producer against librdkafka's mock cluster (3 brokers): acknowledged sends report the
// partition and offset the broker gave, in order per partition, with every codec.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <map>
#include <string>
#include <vector>

#include "../require_codec.hpp"
#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "producer_fixture.hpp"

namespace {

using kwire::protocol::bytes_view;
using kwire::test::bv;
using kwire::test::config_for;
using kwire::test::run_until;


struct result {
    std::error_code ec;
    kwire::delivery d;
    bool done = false;
};



class ProducerTest : public ::testing::TestWithParam<kwire::codec::compression> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(GetParam()); }
};

TEST_P(ProducerTest, AcknowledgedSendsCarryTheBrokersOffsetsInOrder) {
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("orders", 4, 3);
    boost::asio::io_context io;
    auto cfg = config_for(mc);
    cfg.compression = GetParam();
    kwire::producer p(io.get_executor(), cfg);

    constexpr int n = 2000;
    std::vector<result> results(n);
    for (int i = 0; i < n; ++i) {
        const std::string key = "key-" + std::to_string(i % 17);
        const std::string value = "value-" + std::to_string(i) + std::string(50, 'x');
        p.send({.topic = "orders", .key = bv(key), .value = bv(value)},
               [&results, i](std::error_code ec, kwire::delivery d) {
                   EXPECT_FALSE(results[i].done) << "completed twice";
                   results[i] = {ec, d, true};
               });
    }
    bool flushed = false;
    p.flush([&](std::error_code ec) {
        EXPECT_FALSE(ec);
        flushed = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return flushed; }));

    std::map<std::int32_t, std::int64_t> last_offset;
    for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(results[i].done) << i;
        ASSERT_FALSE(results[i].ec) << i << ": " << results[i].ec.message();
        const auto& d = results[i].d;
        // Same key, same partition: murmur2 of the key decides.
        const std::string key = "key-" + std::to_string(i % 17);
        EXPECT_EQ(d.partition, kwire::client::murmur2_partition(bv(key).span(), 4));
        auto [it, fresh] = last_offset.emplace(d.partition, d.offset);
        if (!fresh) {
            EXPECT_GT(d.offset, it->second) << "offsets must grow in send order within a partition";
            it->second = d.offset;
        }
    }
    std::int64_t total = 0;
    for (auto& [part, off] : last_offset) total += off + 1;
    EXPECT_EQ(total, n);  // offsets start at 0 and leave no hole
}

INSTANTIATE_TEST_SUITE_P(EveryCodec, ProducerTest,
                         ::testing::Values(kwire::codec::compression::none, kwire::codec::compression::gzip,
                                           kwire::codec::compression::snappy, kwire::codec::compression::lz4,
                                           kwire::codec::compression::zstd),
                         [](const auto& param_info) { return std::string(kwire::codec::compression_name(param_info.param)); });

TEST(Producer, UseFutureAndExplicitPartition) {
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("futures", 3, 1);
    boost::asio::io_context io;
    kwire::producer p(io.get_executor(), config_for(mc));
    auto f = p.send({.topic = "futures", .value = bv("hello"), .partition = 2}, boost::asio::use_future);
    ASSERT_TRUE(run_until(io, [&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }));
    const kwire::delivery d = f.get();  // future<delivery>: a failure would throw boost::system::system_error
    EXPECT_EQ(d.partition, 2);
    EXPECT_EQ(d.offset, 0);
}

TEST(Producer, InvalidPartitionFailsWithoutEverCallingBackInline) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("small", 2, 1);
    boost::asio::io_context io;
    kwire::producer p(io.get_executor(), config_for(mc));
    result first;
    p.send({.topic = "small", .value = bv("warm-up")}, [&](std::error_code ec, kwire::delivery d) { first = {ec, d, true}; });
    ASSERT_TRUE(run_until(io, [&] { return first.done; }));
    ASSERT_FALSE(first.ec) << first.ec.message();
    result bad;
    p.send({.topic = "small", .value = bv("x"), .partition = 7}, [&](std::error_code ec, kwire::delivery d) { bad = {ec, d, true}; });
    EXPECT_FALSE(bad.done);  // not from inside send()
    ASSERT_TRUE(run_until(io, [&] { return bad.done; }));
    EXPECT_EQ(bad.ec, kwire::client::client_errc::invalid_partition);
}

}  // namespace

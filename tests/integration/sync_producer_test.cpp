// The blocking wrapper: sends from a plain thread, futures resolve with the broker's offsets.
#include "kwire/client/sync_producer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mock_cluster.hpp"

TEST(SyncProducer, BlockingSendsReturnOffsetsAndDestructionDeliversPendingRecords) {
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("sync", 1, 3);
    kwire::producer_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.linger = std::chrono::milliseconds(1);
    std::vector<std::future<kwire::delivery>> pending;
    {
        kwire::sync_producer p(cfg);
        const std::string first = "first";
        const kwire::delivery d = p.send({.topic = "sync", .value = kwire::protocol::bytes_view(
                                                    reinterpret_cast<const std::uint8_t*>(first.data()), first.size())})
                                      .get();  // throws boost::system::system_error on failure
        EXPECT_EQ(d.partition, 0);
        EXPECT_EQ(d.offset, 0);
        for (int i = 0; i < 100; ++i) {
            const std::string v = std::string("v").append(std::to_string(i));  // copied by send()
            pending.push_back(p.send({.topic = "sync", .value = kwire::protocol::bytes_view(
                                                        reinterpret_cast<const std::uint8_t*>(v.data()), v.size())}));
        }
    }  // the destructor closes: everything pending is delivered first
    for (std::size_t i = 0; i < pending.size(); ++i) {
        ASSERT_EQ(pending[i].wait_for(std::chrono::seconds(0)), std::future_status::ready);
        const kwire::delivery d = pending[i].get();
        EXPECT_EQ(d.offset, static_cast<std::int64_t>(i + 1));
    }
}

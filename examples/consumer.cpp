// Joins a consumer group, prints what it reads, acknowledges each record and commits.
//
//   kwire-example-consumer BOOTSTRAP TOPIC [GROUP] [COUNT]
//   kwire-example-consumer localhost:9092 orders billing 10
//
// Stops after COUNT records (default 10), or when a poll brings nothing for 10 seconds. The
// commit policy here is manual: acknowledged records are committed by commit(), and again on
// close(). (The default policy, interval(0), would commit after every acknowledgement.)
// Errors come back as boost::system::error_code; as_tuple keeps them values (plain
// use_awaitable would throw them as boost::system::system_error).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/client/consumer.hpp"

namespace asio = boost::asio;

static std::string_view text(const std::optional<kwire::protocol::bytes_view>& b) {
    if (!b) return "(null)";
    return {reinterpret_cast<const char*>(b->data()), b->size()};
}

static asio::awaitable<int> consume(kwire::consumer& consumer, std::string topic, long count) {
    consumer.subscribe({topic});
    long seen = 0;
    int status = 0;
    while (seen < count) {
        auto [ec, batch] = co_await consumer.poll(std::chrono::seconds(10), asio::as_tuple(asio::use_awaitable));
        if (ec) {
            std::fprintf(stderr, "poll: %s\n", ec.message().c_str());
            status = 1;
            break;
        }
        if (batch.empty()) {
            std::fprintf(stderr, "nothing new for 10 s; stopping\n");
            break;
        }
        for (const auto& r : batch) {  // views into the fetched data, valid until the next poll
            std::printf("%.*s [%d] @%lld: %.*s = %.*s\n", static_cast<int>(r.topic.size()), r.topic.data(),
                        r.partition, static_cast<long long>(r.offset), static_cast<int>(text(r.key).size()),
                        text(r.key).data(), static_cast<int>(text(r.value).size()), text(r.value).data());
            r.ack();  // done with it: its offset may be committed
            ++seen;
        }
        // Commits everything acknowledged so far (the manual policy's only automatic commits are
        // before a rebalance takes partitions away, and on close).
        auto [cec] = co_await consumer.commit(asio::as_tuple(asio::use_awaitable));
        if (cec) std::fprintf(stderr, "commit: %s\n", cec.message().c_str());
    }
    auto [ec] = co_await consumer.close(asio::as_tuple(asio::use_awaitable));  // commits, leaves the group
    if (ec) std::fprintf(stderr, "close: %s\n", ec.message().c_str());
    std::printf("%ld records\n", seen);
    co_return ec ? 1 : status;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC [GROUP] [COUNT]\n", argv[0]);
        return 2;
    }
    try {
        asio::io_context io;
        kwire::consumer_config cfg;
        kwire::client::apply_properties(cfg, {{"bootstrap.servers", argv[1]}});  // a comma-separated list
        cfg.client_id = "kwire-example-consumer";
        cfg.group_id = argc > 3 ? argv[3] : "kwire-example";
        cfg.auto_offset_reset = kwire::client::offset_reset::earliest;  // a new group starts at the beginning
        cfg.commit = kwire::commit_policy::manual();
        kwire::consumer consumer(io.get_executor(), cfg);

        int status = 1;
        asio::co_spawn(io, consume(consumer, argv[2], argc > 4 ? std::atol(argv[4]) : 10),
                       [&](std::exception_ptr e, int result) {
                           if (e) std::rethrow_exception(e);
                           status = result;
                       });
        io.run();
        return status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}

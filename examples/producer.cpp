// Sends a few records with co_await and prints where each landed.
//
//   kwire-example-producer BOOTSTRAP TOPIC [COUNT]
//   kwire-example-producer localhost:9092 orders 10
//
// The producer runs on the io_context below and starts no thread; send() completes once the
// broker has acknowledged the record (acks=all, idempotent: the defaults).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "kwire/client/producer.hpp"

namespace asio = boost::asio;

static asio::awaitable<int> produce(kwire::producer& producer, std::string topic, int count) {
    int failed = 0;
    for (int i = 0; i < count; ++i) {
        const std::string key = "key-" + std::to_string(i);
        const std::string value = "hello from kwire, record " + std::to_string(i);
        const kwire::record r{.topic = topic, .key = kwire::protocol::bytes_view::from(key), .value = kwire::protocol::bytes_view::from(value)};
        // as_tuple: the error (a boost::system::error_code) comes back as a value; with plain
        // use_awaitable, send returns the delivery and throws boost::system::system_error.
        auto [ec, d] = co_await producer.send(r, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            std::fprintf(stderr, "record %d: %s\n", i, ec.message().c_str());
            ++failed;
            continue;
        }
        std::printf("record %d -> %s partition %d offset %lld\n", i, topic.c_str(), d.partition,
                    static_cast<long long>(d.offset));
    }
    // Delivers anything still pending, then closes the connections.
    auto [ec] = co_await producer.close(asio::as_tuple(asio::use_awaitable));
    if (ec) std::fprintf(stderr, "close: %s\n", ec.message().c_str());
    co_return failed == 0 && !ec ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC [COUNT]\n", argv[0]);
        return 2;
    }
    const int count = argc > 3 ? std::atoi(argv[3]) : 5;
    try {
        asio::io_context io;
        kwire::producer_config cfg;
        kwire::client::apply_properties(cfg, {{"bootstrap.servers", argv[1]}});  // a comma-separated list
        cfg.client_id = "kwire-example-producer";
        kwire::producer producer(io.get_executor(), cfg);

        int status = 1;
        asio::co_spawn(io, produce(producer, argv[2], count), [&](std::exception_ptr e, int result) {
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

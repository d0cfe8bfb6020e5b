// A program outside kwire's tree, built against an installed kwire (installed_package_test.sh):
// it includes the public headers, constructs a producer and a consumer on its own io_context,
// and runs a coroutine that shows the Asio-shaped API against a broker that is not there
// (127.0.0.1:1): a send awaited with use_awaitable throws boost::system::system_error once its
// delivery.timeout.ms passes, and a poll raced by a 20 ms timer through awaitable operators ends
// with the timer, within 50 ms. Then it closes both.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/codec/compression.hpp"

namespace asio = boost::asio;

int main() {
    asio::io_context io;
    kwire::producer_config pcfg;
    pcfg.bootstrap_servers = {"127.0.0.1:1"};
    pcfg.delivery_timeout = std::chrono::milliseconds(300);
    kwire::producer producer(io.get_executor(), pcfg);
    kwire::consumer_config ccfg;
    ccfg.bootstrap_servers = {"127.0.0.1:1"};
    kwire::consumer consumer(io.get_executor(), ccfg);
    consumer.assign({{"orders", 0, kwire::offset::beginning}});

    bool threw = false, poll_cancelled = false, closed = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            const std::string value = "never delivered";
            try {
                co_await producer.send({.topic = "orders", .value = kwire::protocol::bytes_view::from(value)},
                                       asio::use_awaitable);
            } catch (const boost::system::system_error& e) {
                std::printf("send threw boost::system::system_error: %s\n", e.code().message().c_str());
                threw = true;
            }

            using namespace asio::experimental::awaitable_operators;
            asio::steady_timer timer(io, std::chrono::milliseconds(20));
            const auto start = std::chrono::steady_clock::now();
            auto first = co_await (consumer.poll(std::chrono::seconds(10), asio::as_tuple(asio::use_awaitable)) ||
                                   timer.async_wait(asio::as_tuple(asio::use_awaitable)));
            const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
            std::printf("poll raced by a 20 ms timer: %s after %lld ms\n", first.index() == 1 ? "timer won" : "poll won",
                        static_cast<long long>(took.count()));
            poll_cancelled = first.index() == 1 && took < std::chrono::milliseconds(50);

            auto [pec] = co_await producer.close(asio::as_tuple(asio::use_awaitable));
            auto [cec] = co_await consumer.close(asio::as_tuple(asio::use_awaitable));
            std::printf("producer closed: %s; consumer closed: %s\n", pec ? pec.message().c_str() : "ok",
                        cec ? cec.message().c_str() : "ok");
            closed = true;
        },
        asio::detached);
    io.run();

    std::printf("codecs:");
    for (auto c : {kwire::codec::compression::gzip, kwire::codec::compression::snappy, kwire::codec::compression::lz4,
                   kwire::codec::compression::zstd})
        if (kwire::codec::compression_available(c))
            std::printf(" %s", std::string(kwire::codec::compression_name(c)).c_str());
    const bool ok = threw && poll_cancelled && closed;
    std::printf("\nkwire package consumer: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

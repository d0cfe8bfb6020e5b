// A program outside kwire's tree, built against an installed kwire (installed_package_test.sh):
// it includes the public headers, constructs a producer and a consumer on its own io_context,
// and runs a coroutine that closes them. No broker is needed (nothing is sent).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>

#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/codec/compression.hpp"

namespace asio = boost::asio;

int main() {
    asio::io_context io;
    kwire::producer_config pcfg;
    pcfg.bootstrap_servers = {"127.0.0.1:1"};
    kwire::producer producer(io.get_executor(), pcfg);
    kwire::consumer_config ccfg;
    ccfg.bootstrap_servers = {"127.0.0.1:1"};
    kwire::consumer consumer(io.get_executor(), ccfg);

    bool closed = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
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
    std::printf("\nkwire package consumer: %s\n", closed ? "ok" : "FAILED");
    return closed ? 0 : 1;
}

// Blocking sends with kwire::sync_producer, for code without an event loop: one record per line
// of standard input (or the values given after the topic), each waited for.
//
//   kwire-example-sync-producer BOOTSTRAP TOPIC [VALUE...]
//   seq 5 | kwire-example-sync-producer localhost:9092 orders
//
// sync_producer owns an io_context and the one thread that runs it; send() copies the record
// and returns a std::future<kwire::delivery>, whose get() throws boost::system::system_error
// when the record was not delivered.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <boost/system/system_error.hpp>

#include "kwire/client/sync_producer.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC [VALUE...]   (no values: one per stdin line)\n", argv[0]);
        return 2;
    }
    std::vector<std::string> values(argv + 3, argv + argc);
    if (values.empty())
        for (std::string line; std::getline(std::cin, line);) values.push_back(line);

    try {
        kwire::producer_config cfg;
        kwire::client::apply_properties(cfg, {{"bootstrap.servers", argv[1]}});  // a comma-separated list
        cfg.client_id = "kwire-example-sync-producer";
        kwire::sync_producer producer(cfg);

        int failed = 0;
        for (const auto& v : values) {
            const kwire::record r{.topic = argv[2], .value = kwire::protocol::bytes_view::from(v)};
            try {
                const kwire::delivery d = producer.send(r).get();  // blocks until acknowledged or failed
                std::printf("'%s' -> partition %d offset %lld\n", v.c_str(), d.partition,
                            static_cast<long long>(d.offset));
            } catch (const boost::system::system_error& e) {
                std::fprintf(stderr, "'%s': %s\n", v.c_str(), e.code().message().c_str());
                ++failed;
            }
        }
        return failed == 0 ? 0 : 1;  // the destructor delivers anything pending, then stops the thread
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}

// What the connection tests (TLS, SASL, name resolution) share: the outcome of one metadata
// request, which is the outcome of connecting (resolve, TLS, ApiVersions, SASL), and a consumer
// reading until it has seen a number of records.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <system_error>

#include "consumer_fixture.hpp"
#include "kwire/client/metadata.hpp"

namespace kwire::test {

/// The outcome of one metadata request made with `cfg`.
inline std::error_code metadata_with(const client::connection_config& cfg, cluster_metadata* out = nullptr) {
    boost::asio::io_context io;
    std::error_code result;
    bool done = false;
    fetch_metadata(io.get_executor(), cfg, {}, [&](std::error_code ec, cluster_metadata md) {
        result = ec;
        done = true;
        if (out) *out = std::move(md);
    });
    if (!run_until(io, [&] { return done; }, std::chrono::seconds(30))) return make_error_code(std::errc::timed_out);
    return result;
}

/// Consumes every partition of `partitions` from the beginning with `cfg` until `n` records (or an
/// error) arrived; returns the driver that saw them.
inline std::error_code consume_n(const consumer_config& cfg, std::vector<partition_offset> partitions, std::size_t n,
                                 std::vector<std::string>* values = nullptr) {
    boost::asio::io_context io;
    kwire::consumer c(io.get_executor(), cfg);
    c.assign(std::move(partitions));
    driver d(c);
    d.start();
    if (!run_until(io, [&] { return d.count() >= n || d.error; }, std::chrono::seconds(30)))
        return make_error_code(std::errc::timed_out);
    if (values)
        for (const auto& s : d.seen) values->push_back(std::get<3>(s));
    return d.error;
}

}  // namespace kwire::test

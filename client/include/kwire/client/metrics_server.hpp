// An HTTP/1.1 endpoint serving `GET /metrics` in the Prometheus text format for one or more metrics
// registries (kwire/client/metrics.hpp), on the application's executor: no thread of its own.
//
//   auto metrics = std::make_shared<kwire::metrics_registry>();
//   cfg.metrics = metrics;                                   // the producer's, consumer's, admin's
//   kwire::metrics_server server(io.get_executor(), {metrics}, {.port = 9400});
//
// Requests are bounded (max_request_bytes for the request line, headers and any body), idle
// connections are closed after idle_timeout, connections beyond max_connections are refused; any
// other path is 404, any other method 405. Built on Boost.Beast, which stays out of this header.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kwire/client/metrics.hpp"

namespace kwire {

using client::metrics_registry;

struct metrics_server_options {
    std::string address = "0.0.0.0";    ///< where to listen ("127.0.0.1" for local scrapers only; "::" for IPv6)
    std::uint16_t port = 0;              ///< 0: any free port (port() says which)
    std::size_t max_request_bytes = 8192;
    std::chrono::milliseconds idle_timeout{30000};
    std::size_t max_connections = 64;
};

class metrics_server {
public:
    /// Listens at once; throws boost::system::system_error when the address cannot be bound.
    metrics_server(boost::asio::any_io_executor ex, std::vector<std::shared_ptr<const metrics_registry>> registries,
                   metrics_server_options options = {});
    /// Closes the listener and every connection.
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    /// The port it listens on.
    std::uint16_t port() const noexcept;
    /// Serves another registry too (thread-safe).
    void add(std::shared_ptr<const metrics_registry> registry);
    /// Stops listening and closes every connection (the destructor does too).
    void close();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace kwire

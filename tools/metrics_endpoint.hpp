// --metrics-port P for the commands that run a client for a while (produce, consume): the client
// records its metrics into a registry, and a kwire::metrics_server on the command's io_context
// serves them at http://0.0.0.0:P/metrics (Prometheus text) until the command ends. And
// --stats-interval MS: the client's statistics JSON (kwire/client/statistics.hpp), one line on
// stderr every MS milliseconds.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <optional>

#include "kwire/client/config.hpp"
#include "kwire/client/metrics_server.hpp"
#include "options.hpp"

namespace kwire::tools {

class metrics_endpoint {
public:
    /// Registers --metrics-port and --stats-interval on `parser`.
    void add_option(option_parser& parser);
    /// With --metrics-port: gives `cfg` a registry and starts serving it on `io` (printing the
    /// address on stderr). Throws usage_error when the port cannot be bound. With
    /// --stats-interval: sets `cfg`'s statistics interval and a handler printing to stderr.
    void start(boost::asio::io_context& io, client::connection_config& cfg);
    /// Stops serving (the listener would otherwise keep io_context::run() from returning), and
    /// lets the server go while its io_context is still alive: call it before the io_context ends.
    void stop() { server_.reset(); }

private:
    std::optional<std::uint16_t> port_;
    std::optional<std::int64_t> stats_interval_ms_;
    std::optional<metrics_server> server_;
};

}  // namespace kwire::tools

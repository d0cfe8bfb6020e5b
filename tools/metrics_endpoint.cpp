// --metrics-port (see metrics_endpoint.hpp).
#include "metrics_endpoint.hpp"

#include <boost/system/system_error.hpp>

#include <cstdio>

namespace kwire::tools {

void metrics_endpoint::add_option(option_parser& parser) {
    parser.add({0, "metrics-port", "PORT",
                "serve Prometheus metrics at http://0.0.0.0:PORT/metrics while\nrunning (0: any free port)",
                [this](std::string_view v) {
                    const auto n = parse_integer(v, 0, 65535);
                    if (!n) throw usage_error("--metrics-port expects a port number, got '" + std::string(v) + "'");
                    port_ = static_cast<std::uint16_t>(*n);
                }});
}

void metrics_endpoint::start(boost::asio::io_context& io, client::connection_config& cfg) {
    if (!port_) return;
    auto registry = std::make_shared<metrics_registry>();
    cfg.metrics = registry;
    try {
        server_.emplace(io.get_executor(), std::vector<std::shared_ptr<const metrics_registry>>{registry},
                        metrics_server_options{.port = *port_});
    } catch (const boost::system::system_error& e) {
        throw usage_error("--metrics-port " + std::to_string(*port_) + ": " + e.code().message());
    }
    std::fprintf(stderr, "kwire: serving metrics at http://0.0.0.0:%u/metrics\n", static_cast<unsigned>(server_->port()));
}

}  // namespace kwire::tools

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
    parser.add({0, "stats-interval", "MS",
                "print the statistics JSON (statistics.interval.ms) on stderr\nevery MS milliseconds",
                [this](std::string_view v) {
                    const auto n = parse_integer(v, 1, std::int64_t{1} << 40);
                    if (!n) throw usage_error("--stats-interval expects milliseconds (1 or more), got '" + std::string(v) + "'");
                    stats_interval_ms_ = *n;
                }});
}

void metrics_endpoint::start(boost::asio::io_context& io, client::connection_config& cfg) {
    if (stats_interval_ms_) {
        cfg.statistics_interval = std::chrono::milliseconds(*stats_interval_ms_);
        cfg.on_statistics = [](std::string_view json) {
            std::fwrite(json.data(), 1, json.size(), stderr);
            std::fputc('\n', stderr);
            std::fflush(stderr);
        };
    }
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

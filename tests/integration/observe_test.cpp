// Observability against real sockets: connection failures logged in words and kept as the
// client's last error, per-broker metrics of a produce run against librdkafka's mock cluster,
// and the Prometheus endpoint read by curl and parsed by Debian's python3-prometheus-client.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kwire/client/metrics.hpp"
#include "kwire/client/metrics_server.hpp"
#include "kwire/client/producer.hpp"
#include "mock_cluster.hpp"
#include "net/cluster.hpp"
#include "producer_fixture.hpp"
#include "subprocess.hpp"

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

using kwire::test::bv;
using kwire::test::config_for;
using kwire::test::run_until;

/// Collects log lines "LEVEL context: message".
struct log_capture {
    std::mutex mutex;
    std::vector<std::string> lines;
    kwire::client::log_handler handler() {
        return [this](const kwire::client::log_record& r) {
            std::lock_guard lock(mutex);
            lines.push_back(std::string(to_string(r.level)) + " " + std::string(to_string(r.context)) + ": " +
                            std::string(r.message));
        };
    }
    std::size_t count(const std::string& text) {
        std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (const auto& l : lines) n += l.find(text) != std::string::npos;
        return n;
    }
};

/// Runs a cluster's metadata refresh against `servers` until it fails, and returns the cluster.
std::shared_ptr<kwire::client::detail::cluster> failed_refresh(net::io_context& io,
                                                               kwire::client::connection_config cfg) {
    auto c = std::make_shared<kwire::client::detail::cluster>(io.get_executor(), std::move(cfg));
    bool done = false;
    c->refresh({"t"}, [&](std::error_code ec) {
        EXPECT_TRUE(ec);
        done = true;
    });
    EXPECT_TRUE(run_until(io, [&] { return done; }, 20s));
    return c;
}

/// A client of a port nobody listens on, reconnecting fast, logging into `logs`.
kwire::client::connection_config refused_config(log_capture& logs) {
    kwire::client::connection_config cfg;
    cfg.bootstrap_servers = {"127.0.0.1:1"};
    cfg.log.handler = logs.handler();
    cfg.reconnect_backoff = 1ms;
    cfg.reconnect_backoff_max = 5ms;
    return cfg;
}

}  // namespace

TEST(Observe, RefusedConnectionIsLoggedOnceAndKeptAsTheLastError) {
    net::io_context io;
    log_capture logs;
    const auto cfg = refused_config(logs);
    auto c = failed_refresh(io, cfg);
    // Five more clients, each failing once.
    for (int i = 0; i < 5; ++i) failed_refresh(io, cfg);
    auto again = std::make_shared<kwire::client::detail::cluster>(io.get_executor(), cfg);
    const auto e = c->last_error();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->description, "connection to 127.0.0.1:1 refused");
    EXPECT_EQ(e->address, "127.0.0.1:1");
    EXPECT_EQ(c->with_last_error("record not acknowledged within delivery.timeout.ms"),
              "record not acknowledged within delivery.timeout.ms (last error: connection to 127.0.0.1:1 refused)");
    EXPECT_FALSE(again->last_error());  // a client of its own: no error yet
    EXPECT_EQ(again->with_last_error("x"), "x");
    // Each cluster is a client with its own logger (and rate limit): one line per client.
    EXPECT_EQ(logs.count("WARN broker: connection to 127.0.0.1:1 refused"), 6u);
}

TEST(Observe, RepeatedFailuresOfOneClientAreRateLimited) {
    net::io_context io;
    log_capture logs;
    auto cfg = refused_config(logs);
    cfg.log.repeat_interval = 300ms;
    cfg.metrics = std::make_shared<kwire::metrics_registry>();
    auto c = std::make_shared<kwire::client::detail::cluster>(io.get_executor(), cfg);
    int failures = 0;
    const auto start = std::chrono::steady_clock::now();
    std::function<void()> again = [&] {
        c->refresh({"t"}, [&](std::error_code) {
            ++failures;
            if (std::chrono::steady_clock::now() - start < 1s) again();
        });
    };
    again();
    ASSERT_TRUE(run_until(io, [&] { return std::chrono::steady_clock::now() - start >= 1100ms; }, 5s));
    const auto attempts = cfg.metrics->total("connection-failure-total");
    ASSERT_TRUE(attempts);
    EXPECT_GE(*attempts, 20) << "failures: " << failures;
    // About one line per 300 ms over ~1 s, the later ones with a suppressed count.
    const auto lines = logs.count("connection to 127.0.0.1:1 refused");
    EXPECT_GE(lines, 2u);
    EXPECT_LE(lines, 5u);
    EXPECT_GE(logs.count("similar messages suppressed)"), 1u);
    EXPECT_EQ(cfg.metrics->total("connection-creation-total"), 0);
}

TEST(Observe, UnresolvableHostSaysSo) {
    net::io_context io;
    log_capture logs;
    kwire::client::connection_config cfg;
    cfg.bootstrap_servers = {"no-such-host.invalid:9092"};
    cfg.log.handler = logs.handler();
    auto c = failed_refresh(io, cfg);
    const auto e = c->last_error();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->description, "host no-such-host.invalid does not resolve");
    EXPECT_EQ(logs.count("WARN broker: host no-such-host.invalid does not resolve"), 1u);
}

TEST(Observe, ProduceRunCountsRequestsBytesAndLatencyPerBroker) {
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("observed", 3, 1);
    for (std::int32_t partition = 0; partition < 3; ++partition) mc.partition_set_leader("observed", partition, partition + 1);
    net::io_context io;
    auto registry = std::make_shared<kwire::metrics_registry>();
    log_capture logs;
    auto cfg = config_for(mc);
    cfg.client_id = "observed-producer";
    cfg.metrics = registry;
    cfg.log.handler = logs.handler();
    cfg.log.level = kwire::client::log_level::debug;
    constexpr int records = 300;
    const std::string value(100, 'v');
    int acked = 0;
    {
        kwire::producer p(io.get_executor(), cfg);
        for (int i = 0; i < records; ++i) {
            const auto key = std::to_string(i);  // keys spread the records over the three partitions
            p.send({.topic = "observed", .key = bv(key), .value = bv(value)},
                   [&](boost::system::error_code ec, kwire::delivery) { acked += !ec; });
        }
        ASSERT_TRUE(run_until(io, [&] { return acked == records; }));
    }
    const kwire::client::metric_labels mine{.client_id = "observed-producer"};
    const auto requests = registry->total("request-total", mine);
    const auto responses = registry->total("response-total", mine);
    ASSERT_TRUE(requests && responses);
    EXPECT_EQ(*requests, *responses);  // nothing left unanswered
    EXPECT_EQ(registry->total("requests-in-flight", mine), 0);
    EXPECT_GE(*registry->total("outgoing-byte-total", mine), records * static_cast<std::int64_t>(value.size()));
    EXPECT_GT(*registry->total("incoming-byte-total", mine), 0);
    // Every partition leader got Produce requests: brokers 1, 2 and 3 each have traffic.
    for (std::int32_t b = 1; b <= 3; ++b) {
        kwire::client::metric_labels broker{.client_id = "observed-producer", .broker = b};
        EXPECT_GE(registry->total("request-total", broker).value_or(0), 1) << "broker " << b;
        EXPECT_EQ(registry->total("connection-creation-total", broker), 1) << "broker " << b;
    }
    // The latency histograms hold one value per response.
    std::uint64_t latencies = 0;
    for (const auto& s : registry->snapshot())
        if (s.name == "request-latency") latencies += s.histogram.count;
    EXPECT_EQ(static_cast<std::int64_t>(latencies), *responses);
    EXPECT_GE(logs.count("DEBUG broker: connected to 127.0.0.1:"), 3u);
}

TEST(Observe, PrometheusEndpointServesWhatCurlReadsAndThePythonParserParses) {
    if (!kwire::peers::program_available("curl")) GTEST_SKIP() << "curl is not installed (scripts/deps.sh)";
    const std::string python = "/usr/bin/python3";
    {
        const auto probe = kwire::peers::run_process(
            {python, "-c", "import prometheus_client.parser"}, {}, 30s);
        if (!probe.ok()) GTEST_SKIP() << "python3-prometheus-client is not installed (scripts/deps.sh)";
    }
    kwire::peers::mock_cluster mc(2);
    mc.create_topic("scraped", 2, 1);
    net::io_context io;
    auto registry = std::make_shared<kwire::metrics_registry>();
    auto cfg = config_for(mc);
    cfg.client_id = "scraped";
    cfg.metrics = registry;
    kwire::metrics_server server(io.get_executor(), {registry}, {.address = "127.0.0.1"});
    kwire::producer p(io.get_executor(), cfg);
    int acked = 0;
    const std::string value(50, 'x');
    for (int i = 0; i < 100; ++i) {
        const auto key = std::to_string(i);
        p.send({.topic = "scraped", .key = bv(key), .value = bv(value)},
               [&](boost::system::error_code ec, kwire::delivery) { acked += !ec; });
    }
    ASSERT_TRUE(run_until(io, [&] { return acked == 100; }));
    const auto requests = *registry->total("request-total");
    const auto bytes_out = *registry->total("outgoing-byte-total");

    // The server runs on the producer's io_context: run it while curl and python ask.
    auto guard = net::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    const auto url = "http://127.0.0.1:" + std::to_string(server.port());
    const auto scraped = kwire::peers::run_process({"curl", "-sS", "--fail", url + "/metrics"}, {}, 30s);
    const auto not_found = kwire::peers::run_process({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url + "/"}, {}, 30s);
    const auto post = kwire::peers::run_process(
        {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url + "/metrics"}, {}, 30s);
    const auto headers = kwire::peers::run_process({"curl", "-sS", "-D", "-", "-o", "/dev/null", url + "/metrics"}, {}, 30s);
    // The parser sums each sample name over its label sets; any line it cannot parse raises.
    const std::string script =
        "import sys\n"
        "from prometheus_client.parser import text_string_to_metric_families\n"
        "totals = {}\n"
        "types = {}\n"
        "for family in text_string_to_metric_families(sys.stdin.read()):\n"
        "    types[family.name] = family.type\n"
        "    for s in family.samples:\n"
        "        if s.labels.get('client_id') != 'scraped': raise SystemExit('label missing: ' + str(s))\n"
        "        key = s.name + ('{le=' + s.labels['le'] + '}' if 'le' in s.labels else '')\n"
        "        totals[key] = totals.get(key, 0) + s.value\n"
        "for k in sorted(totals): print(k, int(totals[k]) if totals[k] == int(totals[k]) else totals[k])\n"
        "for k in sorted(types): print('type', k, types[k])\n";
    const auto parsed = kwire::peers::run_process({python, "-c", script}, scraped.out, 30s);
    guard.reset();
    server.close();
    io.stop();
    runner.join();

    ASSERT_TRUE(scraped.ok()) << scraped.describe();
    EXPECT_EQ(not_found.out, "404");
    EXPECT_EQ(post.out, "405");
    EXPECT_NE(headers.out.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << headers.out;
    ASSERT_TRUE(parsed.ok()) << parsed.describe() << "\n" << scraped.out;
    std::map<std::string, std::string> values;
    std::istringstream lines(parsed.out);
    for (std::string line; std::getline(lines, line);) {
        const auto space = line.rfind(' ');
        values[line.substr(0, space)] = line.substr(space + 1);
    }
    EXPECT_EQ(values["kwire_request_total"], std::to_string(requests)) << parsed.out;
    EXPECT_EQ(values["kwire_response_total"], std::to_string(requests)) << parsed.out;
    EXPECT_EQ(values["kwire_outgoing_byte_total"], std::to_string(bytes_out)) << parsed.out;
    EXPECT_GE(std::stoll(values["kwire_outgoing_byte_total"]), 100 * 50);
    EXPECT_EQ(values["kwire_requests_in_flight"], "0");
    EXPECT_EQ(values["kwire_request_latency_seconds_count"], std::to_string(requests));
    EXPECT_EQ(values["kwire_request_latency_seconds_bucket{le=+Inf}"], std::to_string(requests));
    EXPECT_EQ(values["type kwire_request"], "counter");
    EXPECT_EQ(values["type kwire_request_latency_seconds"], "histogram");
    EXPECT_EQ(values["type kwire_requests_in_flight"], "gauge");
}

TEST(Observe, MetricsServerBoundsRequestsAndClosesIdleConnections) {
    net::io_context io;
    auto registry = std::make_shared<kwire::metrics_registry>();
    registry->counter("request-total", "requests", {.client_id = "x"}).add(5);
    kwire::metrics_server server(io.get_executor(), {registry},
                                 {.address = "127.0.0.1", .max_request_bytes = 1024, .idle_timeout = 300ms});
    auto guard = net::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    const net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), server.port());
    const auto exchange = [&](const std::string& request) {
        net::io_context client;
        net::ip::tcp::socket s(client);
        s.connect(ep);
        net::write(s, net::buffer(request));
        std::string reply;
        boost::system::error_code ec;
        char buf[4096];
        for (;;) {
            const auto n = s.read_some(net::buffer(buf), ec);
            if (ec) break;
            reply.append(buf, n);
        }
        return reply;  // up to the server's close
    };
    // Two requests on one connection (keep-alive), the second asking to close.
    const auto two = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::size_t answers = 0;
    for (auto at = two.find("kwire_request_total{client_id=\"x\"} 5"); at != std::string::npos;
         at = two.find("kwire_request_total{client_id=\"x\"} 5", at + 1))
        ++answers;
    EXPECT_EQ(answers, 2u) << two;
    // A request larger than the bound is refused, and the connection closed.
    const auto big = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'p') + "\r\n\r\n");
    EXPECT_EQ(big.rfind("HTTP/1.1 431", 0), 0u) << big.substr(0, 200);
    // An idle connection is closed after idle_timeout (the read above ends at the close).
    const auto t0 = std::chrono::steady_clock::now();
    const auto idle = exchange("");
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(idle.empty());
    EXPECT_GE(waited, 250ms);
    EXPECT_LE(waited, 5s);
    guard.reset();
    server.close();
    runner.join();
}

TEST(Observe, MetadataChangesAndUnknownLeadersAreLogged) {
    kwire::peers::mock_cluster mc(3);
    mc.create_topic("moving", 2, 1);
    mc.partition_set_leader("moving", 0, 1);
    net::io_context io;
    log_capture logs;
    kwire::client::connection_config cfg;
    cfg.bootstrap_servers = mc.broker_addresses();
    cfg.log.handler = logs.handler();
    cfg.log.level = kwire::client::log_level::info;
    auto c = std::make_shared<kwire::client::detail::cluster>(io.get_executor(), cfg);
    const auto refresh = [&] {
        bool done = false;
        c->refresh({"moving"}, [&](std::error_code ec) {
            EXPECT_FALSE(ec) << ec.message();
            done = true;
        });
        ASSERT_TRUE(run_until(io, [&] { return done; }));
    };
    refresh();
    EXPECT_EQ(logs.count("leader moved"), 0u);  // the first answer is news of nothing
    mc.partition_set_leader("moving", 0, 3);
    refresh();
    EXPECT_EQ(logs.count("INFO metadata: partition moving/0: leader moved from broker 1 to 3"), 1u);
    // A leader the metadata does not name: nothing to connect to, and the log says so.
    EXPECT_EQ(c->broker(42), nullptr);
    EXPECT_EQ(c->broker(42), nullptr);
    EXPECT_EQ(logs.count("WARN metadata: broker 42 is not in the metadata"), 1u);  // rate-limited
}

// Observability against real sockets: connection failures logged in words and kept as the
// client's last error, per-broker metrics of a produce run against librdkafka's mock cluster,
// and the Prometheus endpoint read by curl and parsed by Debian's python3-prometheus-client; the
// producer's errors that say why (a delivery timeout naming the Kafka error a leader kept
// answering with, from scripted brokers), its log lines, and its metrics after a produce run.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
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
#include "kwire/protocol/messages/produce.hpp"
#include "log_capture.hpp"
#include "mock_cluster.hpp"
#include "net/cluster.hpp"
#include "producer_fixture.hpp"
#include "scripted_broker.hpp"
#include "subprocess.hpp"

namespace net = boost::asio;
using namespace std::chrono_literals;

namespace {

using kwire::test::bv;
using kwire::test::config_for;
using kwire::test::run_until;

using kwire::test::log_capture;
using kwire::test::scripted_cluster;
namespace kp = kwire::protocol;

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

// --- the producer (scripted brokers answering Produce as each test says) ---

constexpr std::int16_t produce_key = 0;
constexpr std::int16_t not_leader_or_follower = 6;

/// Answers every partition of every Produce with `error`.
scripted_cluster::script produce_answering(std::int16_t error, std::atomic<int>* seen = nullptr) {
    return [error, seen](const kwire::test::scripted_request& req) {
        if (seen) ++*seen;
        const auto r = req.decode<kp::ProduceRequest>();
        kp::ProduceResponse resp;
        for (const auto& t : r.topic_data) {
            auto& tr = resp.responses.emplace_back();
            tr.name = t.name;
            for (const auto& p : t.partition_data) {
                auto& pr = tr.partition_responses.emplace_back();
                pr.index = p.index;
                pr.error_code = error;
                pr.base_offset = -1;
                pr.log_append_time_ms = -1;
                pr.log_start_offset = -1;
            }
        }
        return std::optional(scripted_cluster::respond(req, resp));
    };
}

/// Every sample of histograms called `name`, summed over their label sets.
kwire::client::metric_histogram::snapshot histogram(const kwire::client::metrics_registry& r, std::string_view name) {
    kwire::client::metric_histogram::snapshot sum;
    for (const auto& s : r.snapshot()) {
        if (s.name != name) continue;
        sum.count += s.histogram.count;
        sum.sum += s.histogram.sum;
        sum.max = std::max(sum.max, s.histogram.max);
    }
    return sum;
}

/// Three scripted brokers whose every Produce answer is NOT_LEADER_OR_FOLLOWER for every
/// partition (partition 1 of "t" is led by broker 2), and a producer configuration for them with
/// metrics and info logs captured.
class ProducerObserveNotLeader : public ::testing::Test {
protected:
    ProducerObserveNotLeader() {
        c.add_topic("t", 3);
        c.on(produce_key, produce_answering(not_leader_or_follower, &produces));
        cfg.bootstrap_servers = c.addresses();
        cfg.required_acks = kwire::client::acks::leader;
        cfg.enable_idempotence = false;  // the scripted brokers hand out no producer ids
        cfg.linger = 0ms;
        cfg.retry_backoff = 20ms;
        cfg.metrics = registry;
        cfg.client_id = "refused";
        cfg.log.handler = logs.handler();
        cfg.log.level = kwire::client::log_level::info;
    }

    scripted_cluster c{3};
    std::atomic<int> produces{0};
    std::shared_ptr<kwire::client::metrics_registry> registry = std::make_shared<kwire::client::metrics_registry>();
    kwire::test::log_capture logs;
    kwire::producer_config cfg;
    net::io_context io;
};

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

TEST_F(ProducerObserveNotLeader, ADeliveryTimeoutNamesTheKafkaErrorTheLeaderKeptAnswering) {
    cfg.delivery_timeout = 1500ms;
    kwire::producer p(io.get_executor(), cfg);
    EXPECT_EQ(p.last_error(), "");
    boost::system::error_code result;
    kwire::delivery where;
    bool done = false;
    p.send({.topic = "t", .value = bv("x"), .partition = 1}, [&](boost::system::error_code ec, kwire::delivery d) {
        result = ec;
        where = d;
        done = true;
    });
    ASSERT_TRUE(run_until(io, [&] { return done; }));
    EXPECT_EQ(result, kwire::client::client_errc::delivery_timed_out);
    EXPECT_GE(produces.load(), 2);  // retried, not given up at the first answer
    EXPECT_EQ(where.partition, 1);
    EXPECT_EQ(p.last_error("t", 1), "NOT_LEADER_OR_FOLLOWER from broker 2");
    EXPECT_EQ(p.describe(result, "t", 1),
              "record not acknowledged within delivery.timeout.ms (last error: NOT_LEADER_OR_FOLLOWER from broker 2)");
    EXPECT_EQ(p.last_error(), "NOT_LEADER_OR_FOLLOWER from broker 2");  // the producer's, over all partitions
    EXPECT_EQ(p.last_error("t", 0), "");  // a partition that saw no error
    // An error that is its own cause gets nothing added.
    EXPECT_EQ(p.describe(kwire::client::client_errc::record_too_large, "t", 1),
              make_error_code(kwire::client::client_errc::record_too_large).message());
}

TEST_F(ProducerObserveNotLeader, RetriesAndFailuresAreCountedByErrorAndLogged) {
    cfg.delivery_timeout = 1000ms;
    kwire::producer p(io.get_executor(), cfg);
    int done = 0;
    for (int i = 0; i < 3; ++i)
        p.send({.topic = "t", .value = bv("x"), .partition = 1}, [&](boost::system::error_code, kwire::delivery) { ++done; });
    ASSERT_TRUE(run_until(io, [&] { return done == 3; }));
    const kwire::client::metric_labels partition1{.client_id = "refused", .topic = "t", .partition = 1};
    auto timeouts = partition1;
    timeouts.error = "DELIVERY_TIMEOUT";
    EXPECT_EQ(registry->total("record-error-total", timeouts), 3);
    EXPECT_EQ(registry->total("record-error-total", partition1), 3);  // no other error
    EXPECT_EQ(registry->total("record-send-total", partition1), 0);
    // Every answer but the first was a retry of the same batch of three records.
    EXPECT_GE(registry->total("record-retry-total", partition1).value_or(0), 3);
    EXPECT_EQ(registry->total("record-retry-total", partition1).value_or(0) % 3, 0);
    EXPECT_EQ(registry->total("records-queued", {.client_id = "refused"}), 0);
    EXPECT_EQ(registry->total("buffered-bytes", {.client_id = "refused"}), 0);
    EXPECT_EQ(logs.count("INFO producer: retrying 3 records of t-1 (attempt 2): NOT_LEADER_OR_FOLLOWER from broker 2"), 1u);
    // One line for the burst, with the cause.
    EXPECT_EQ(logs.count("WARN producer: 3 records of t-1 failed: record not acknowledged within delivery.timeout.ms "
                         "(last error: NOT_LEADER_OR_FOLLOWER from broker 2)"),
              1u);
}

TEST(ProducerObserve, AProduceRunsMetricsMatchWhatWasProduced) {
    kwire::peers::mock_cluster mc(2);
    mc.create_topic("measured", 2, 1);
    net::io_context io;
    auto registry = std::make_shared<kwire::client::metrics_registry>();
    auto cfg = kwire::test::config_for(mc);
    cfg.client_id = "measured";
    cfg.metrics = registry;
    cfg.compression = kwire::codec::compression::gzip;
    constexpr int records = 400;
    const std::string value(200, 'v');  // compresses well
    int acked = 0;
    std::int64_t in_flight_seen = 0;
    kwire::producer p(io.get_executor(), cfg);
    for (int i = 0; i < records; ++i) {
        const auto key = std::to_string(i);
        p.send({.topic = "measured", .key = bv(key), .value = bv(value)},
               [&](boost::system::error_code ec, kwire::delivery) { acked += !ec; });
    }
    in_flight_seen = registry->total("records-queued", {.client_id = "measured"}).value_or(-1);
    const auto buffered_seen = registry->total("buffered-bytes", {.client_id = "measured"}).value_or(-1);
    ASSERT_TRUE(run_until(io, [&] { return acked == records; }));
    const kwire::client::metric_labels mine{.client_id = "measured"};
    EXPECT_EQ(in_flight_seen, records);  // accepted, none completed yet
    EXPECT_GE(buffered_seen, records * static_cast<std::int64_t>(value.size()));
    EXPECT_EQ(registry->total("records-queued", mine), 0);
    EXPECT_EQ(registry->total("buffered-bytes", mine), 0);
    EXPECT_EQ(registry->total("record-send-total", mine), records);
    std::int64_t per_partition = 0;
    for (std::int32_t partition = 0; partition < 2; ++partition) {
        const auto n = registry->total("record-send-total", {.client_id = "measured", .topic = "measured", .partition = partition});
        EXPECT_GT(n.value_or(0), 0) << partition;  // keys spread the records
        per_partition += n.value_or(0);
    }
    EXPECT_EQ(per_partition, records);
    EXPECT_EQ(registry->total("record-error-total", mine), std::nullopt);
    EXPECT_EQ(registry->total("record-retry-total", mine), 0);
    const auto batches = histogram(*registry, "records-per-batch");
    EXPECT_EQ(batches.sum, static_cast<std::uint64_t>(records));
    EXPECT_GE(batches.count, 2u);
    EXPECT_EQ(histogram(*registry, "record-queue-time").count, batches.count);
    const auto sizes = histogram(*registry, "batch-size");
    EXPECT_EQ(sizes.count, batches.count);
    EXPECT_EQ(static_cast<std::int64_t>(sizes.sum), *registry->total("byte-total", mine));  // nothing sent twice
    // gzip on 200 repeated bytes: far below the records' own size.
    EXPECT_LT(sizes.sum, static_cast<std::uint64_t>(records) * value.size() / 2);
    const auto ratio = histogram(*registry, "compression-rate");
    EXPECT_EQ(ratio.count, batches.count);
    EXPECT_LT(ratio.max, 500u);  // permille
    EXPECT_GT(ratio.max, 0u);
    const auto durations = histogram(*registry, "messaging.client.operation.duration");
    EXPECT_EQ(durations.count, static_cast<std::uint64_t>(records));
    EXPECT_GT(durations.sum, 0u);
    // One throttle time per Produce answer: some, and fewer than all answers (Metadata, ...).
    const auto throttles = histogram(*registry, "produce-throttle-time").count;
    EXPECT_GE(throttles, 1u);
    EXPECT_LT(throttles, static_cast<std::uint64_t>(registry->total("response-total", mine).value_or(0)));
    EXPECT_GE(registry->total("producer-id", mine).value_or(-1), 0);  // idempotent by default
    EXPECT_EQ(registry->total("producer-epoch", mine), 0);
    EXPECT_EQ(registry->total("epoch-bump-total", mine), 0);

    // The Prometheus text of it parses, with bytes as bytes and ratios as ratios.
    const std::string python = "/usr/bin/python3";
    if (!kwire::peers::run_process({python, "-c", "import prometheus_client.parser"}, {}, 30s).ok())
        GTEST_SKIP() << "python3-prometheus-client is not installed (scripts/deps.sh)";
    const std::string script =
        "import sys\n"
        "from prometheus_client.parser import text_string_to_metric_families\n"
        "totals = {}\n"
        "for family in text_string_to_metric_families(sys.stdin.read()):\n"
        "    for s in family.samples:\n"
        "        if 'le' in s.labels: continue\n"
        "        totals[s.name] = totals.get(s.name, 0) + s.value\n"
        "for k in sorted(totals): print(k, totals[k])\n";
    const auto parsed = kwire::peers::run_process({python, "-c", script}, kwire::client::to_prometheus(*registry), 30s);
    ASSERT_TRUE(parsed.ok()) << parsed.describe();
    std::map<std::string, double> values;
    std::istringstream lines(parsed.out);
    for (std::string line; std::getline(lines, line);) {
        const auto space = line.rfind(' ');
        values[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    EXPECT_EQ(values["kwire_record_send_total"], records) << parsed.out;
    EXPECT_EQ(values["kwire_batch_size_bytes_sum"], static_cast<double>(sizes.sum)) << parsed.out;
    EXPECT_EQ(values.count("kwire_batch_size_seconds_sum"), 0u) << parsed.out;
    EXPECT_EQ(values["kwire_records_per_batch_sum"], records) << parsed.out;
    EXPECT_GT(values["kwire_compression_rate_ratio_sum"], 0) << parsed.out;
    EXPECT_LT(values["kwire_compression_rate_max"], 0.5) << parsed.out;
    EXPECT_EQ(values["kwire_messaging_client_operation_duration_seconds_count"], records) << parsed.out;
    EXPECT_EQ(values["kwire_records_queued"], 0) << parsed.out;
}

// The command line's observability: warnings on stderr by default (a refused connection says so
// once, not per attempt), -d/-v for more, and --metrics-port serving Prometheus text while
// `kwire produce` runs, read by curl and checked with Debian's python3-prometheus-client.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "cli_support.hpp"
#include "mock_cluster.hpp"
#include "subprocess.hpp"

using namespace kwire::cli_test;

namespace {

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

/// A TCP port nobody listens on right now.
std::uint16_t free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

}  // namespace

TEST(CliObserve, ARefusedBrokerIsAWarningOnStderrOnceNotPerAttempt) {
    const auto r = run_kwire({"produce", "-b", "127.0.0.1:1", "-t", "t", "-X", "delivery.timeout.ms=1500"}, "x\n", 30s);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    // Dozens of attempts in 1.5 s (reconnect.backoff.max.ms=1000), one line (repeats wait 10 s).
    EXPECT_EQ(occurrences(r.err, "kwire: WARN [broker] kwire: connection to 127.0.0.1:1 refused\n"), 1u) << r.err;
    // The timeout says why.
    EXPECT_TRUE(contains(r.err, "kwire: 1 record failed: topic 't': record not acknowledged within delivery.timeout.ms "
                                "(last error: connection to 127.0.0.1:1 refused)\n"))
        << r.err;
}

TEST(CliObserve, ATimeoutAgainstAHostThatDoesNotResolveSaysSo) {
    const auto r =
        run_kwire({"produce", "-b", "no-such-host.invalid:9092", "-t", "t", "-X", "delivery.timeout.ms=1500"}, "x\n", 30s);
    EXPECT_EQ(r.exit_code, 1) << r.describe();
    EXPECT_TRUE(contains(r.err, "record not acknowledged within delivery.timeout.ms (last error: host "
                                "no-such-host.invalid does not resolve)"))
        << r.err;
}

TEST(CliObserve, DebugContextsAndVerbosity) {
    const auto debug = run_kwire({"produce", "-b", "127.0.0.1:1", "-t", "t", "-X", "delivery.timeout.ms=500", "-d",
                                  "broker"},
                                 "x\n", 30s);
    EXPECT_TRUE(contains(debug.err, "kwire: DEBUG [broker] kwire: connecting to 127.0.0.1:1\n")) << debug.err;
    const auto quiet = run_kwire({"produce", "-b", "127.0.0.1:1", "-t", "t", "-X", "delivery.timeout.ms=500"}, "x\n", 30s);
    EXPECT_FALSE(contains(quiet.err, "DEBUG")) << quiet.err;
    const auto bad = run_kwire({"produce", "-b", "127.0.0.1:1", "-t", "t", "-d", "brokre"}, "", 30s);
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_TRUE(contains(bad.err, "unknown context 'brokre'")) << bad.err;
    EXPECT_TRUE(contains(bad.err, "(from -d)")) << bad.err;
    const auto help = run_kwire({"produce", "--help"});
    EXPECT_TRUE(contains(help.out, "--metrics-port")) << help.out;
    EXPECT_TRUE(contains(help.out, "-v, --verbose")) << help.out;
}

TEST(CliObserve, MetricsPortServesPrometheusTextWhileProducing) {
    if (!kwire::peers::program_available("curl")) GTEST_SKIP() << "curl is not installed (scripts/deps.sh)";
    if (!kwire::peers::run_process({"/usr/bin/python3", "-c", "import prometheus_client.parser"}, {}, 30s).ok())
        GTEST_SKIP() << "python3-prometheus-client is not installed (scripts/deps.sh)";
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("watched", 1, 1);
    const auto port = std::to_string(free_port());
    const temp_file scrape("");
    // Passes (exit 0) once broker 1 has every request answered and carried the 50 records: the
    // produce run is done as far as the wire goes. Any unparsable line raises.
    const temp_file check(std::string("import sys\n") +
                                     "from prometheus_client.parser import text_string_to_metric_families\n"
                                     "v = {}\n"
                                     "for f in text_string_to_metric_families(sys.stdin.read()):\n"
                                     "    for s in f.samples:\n"
                                     "        if s.labels.get('client_id') == 'cli' and s.labels.get('broker') == '1':\n"
                                     "            v[s.name] = v.get(s.name, 0) + s.value\n"
                                     "ok = v.get('kwire_outgoing_byte_total', 0) >= 50 * 9 and \\\n"
                                     "     v.get('kwire_requests_in_flight', 1) == 0 and \\\n"
                                     "     v.get('kwire_response_total', 0) == v.get('kwire_request_total', -1) and \\\n"
                                     "     v.get('kwire_request_latency_seconds_count', 0) == v.get('kwire_response_total') and \\\n"
                                     "     v.get('kwire_connection_creation_total') == 1\n"
                                     "if ok: print('requests', int(v['kwire_request_total']), 'bytes', int(v['kwire_outgoing_byte_total']))\n"
                                     "sys.exit(0 if ok else 1)\n");
    const std::string url = "http://127.0.0.1:" + port + "/metrics";
    const std::string script =
        "for i in $(seq 1 50); do echo record-$i; done\n"
        "n=0\n"
        "while [ $n -lt 300 ]; do\n"
        "  if curl -sf " + url + " -o " + scrape.path + " && /usr/bin/python3 " + check.path + " < " + scrape.path +
        " > " + scrape.path + ".ok; then break; fi\n"
        "  sleep 0.1; n=$((n+1))\n"
        "done\n";
    const auto r = kwire::peers::run_process(
        {"sh", "-c", "{ " + script + "} | " + kwire_binary + " produce -b " + mc.bootstrap() +
                         " -t watched -X client.id=cli --metrics-port " + port},
        {}, 90s);
    EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_TRUE(contains(r.err, "kwire: serving metrics at http://0.0.0.0:" + port + "/metrics")) << r.err;
    EXPECT_TRUE(contains(r.err, "50 records")) << r.err;
    std::ifstream ok(scrape.path + ".ok");
    std::stringstream verdict;
    verdict << ok.rdbuf();
    std::remove((scrape.path + ".ok").c_str());
    EXPECT_EQ(verdict.str().rfind("requests ", 0), 0u) << "the endpoint never showed the produce run: " << verdict.str();
}

TEST(CliObserve, StatsIntervalPrintsStatisticsJsonLinesOnStderr) {
    kwire::peers::mock_cluster mc(1);
    mc.create_topic("stats", 1, 1);
    std::string input;
    for (int i = 0; i < 30; ++i) input += "record-" + std::to_string(i) + "\n";
    const auto produced = run_kwire({"produce", "-b", mc.bootstrap(), "-t", "stats"}, input, 60s);
    ASSERT_EQ(produced.exit_code, 0) << produced.describe();
    // Consumes for 8 s (the group forms in about 3), printing statistics every 100 ms; SIGTERM
    // ends it.
    const auto r = kwire::peers::run_process({"timeout", "-s", "TERM", "8", kwire_binary, "consume", "-b", mc.bootstrap(),
                                              "-t", "stats", "-g", "cli-stats", "-o", "beginning", "-X",
                                              "client.id=cli-stats", "--stats-interval", "100"},
                                             {}, 60s);
    EXPECT_EQ(lines_of(r.out).size(), 30u) << r.describe();
    // Every statistics line is one JSON object (python3's json module); the last one shows the
    // run: 30 records consumed, no lag, the group up with the one partition.
    const temp_file check(
        "import json, sys\n"
        "stats = [json.loads(l) for l in sys.stdin.read().splitlines() if l.startswith('{')]\n"
        "assert len(stats) >= 10, len(stats)\n"
        "assert all(s['type'] == 'consumer' and s['client_id'] == 'cli-stats' for s in stats)\n"
        "last = stats[-1]\n"
        "p = last['topics']['stats']['partitions']['0']\n"
        "assert last['rxmsgs'] == 30 and p['rxmsgs'] == 30, last\n"
        "assert p['consumer_lag'] == 0 and p['hi_offset'] == 30, p\n"
        "assert last['cgrp']['state'] == 'up' and last['cgrp']['assignment_size'] == 1, last['cgrp']\n"
        "assert last['tx'] > 0 and last['rx'] > 0, last\n"
        "print('ok', len(stats))\n");
    const auto parsed = kwire::peers::run_process({"/usr/bin/python3", check.path}, r.err, 30s);
    EXPECT_TRUE(parsed.ok()) << parsed.describe() << "\nstderr of kwire consume:\n" << r.err.substr(0, 4000);
    EXPECT_EQ(parsed.out.rfind("ok ", 0), 0u) << parsed.describe();
}

// kwire-bench's options and scenarios (the usage text is their reference), and the client
// configurations: kwire's one per scenario, and librdkafka's several -- the rival at its best
// means every setting a latency- or throughput-minded user of librdkafka would reach for.
#include "options.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace kwire::bench {

namespace {

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: kwire-bench [-b BOOTSTRAP] [--json] [--plot DIR] [--scenario NAME]... [--rounds R]\n"
                 "                   [--messages N] [--latency-messages N] [--size B] [--partitions P] [--brokers N]\n"
                 "                   [--client kwire|librdkafka] [--compression-threads N] [--spin-us N] [--no-reject]\n"
                 "                   [--no-floor] [--metrics]\n"
                 "                   [--consumer] [--consumer-partitions P] [--commit-messages N] [--txn]\n"
                 "\n"
                 "Default set, in this order (R counted rounds after one calibration round, clients alternating):\n"
                 "  instant-acksall   awaited sends (acks=all, idempotent) against the in-bench instant broker, with\n"
                 "                    the TCP ping-pong floor of the same sizes: each client's own overhead\n"
                 "  instant-e2e instant-e2e-10k instant-e2e-100k   send() to poll() through the instant broker,\n"
                 "                    one at a time (with the floor), at 10k/s and at 100k/s\n"
                 "  latency-acks1 latency-acksall   awaited sends against the cluster\n"
                 "  e2e-one e2e-10k e2e-100k   send() on one client to poll() on another: one at a time, 10k/s, 100k/s\n"
                 "  throughput throughput-lz4 throughput-zstd   1M x 100 B, linger 5 ms\n"
                 "  consume commit-interval0   consumers: from the beginning; in a group, interval(0) commits\n"
                 "Others by name: consume-lz4 consume-zstd commit-interval100 commit-manual1000 (--consumer: all six)\n"
                 "  txn-1 txn-100 txn-10000   transactional producers (--txn: all three): begin, N records, commit,\n"
                 "                    until the records are sent; msgs/s, and each commit's latency (call -> done).\n"
                 "                    txn-1 sends --latency-messages records (one transaction each), the others --messages\n"
                 "\n"
                 "  -b HOST:PORT,...        a real cluster (default: librdkafka's mock cluster, in-process)\n"
                 "  --json                  only JSON lines on stdout (one per client configuration, one per scenario)\n"
                 "  --plot DIR              also write PNG plots there (gnuplot): latency CDFs, throughput with spreads\n"
                 "  --rounds R (5)          counted rounds per scenario (the median and min-max are reported)\n"
                 "  --messages N (1000000)  records per throughput and consume run\n"
                 "  --latency-messages N (10000)  awaited sends per latency run; e2e-one and e2e-10k send N,\n"
                 "                          e2e-100k 2N (the mock keeps 5 MB per partition: 2N 1-record batches fit)\n"
                 "  --commit-messages N     records per commit-* run (default: --messages; 50000 for commit-interval0)\n"
                 "  --client C              run one client only (to profile it): no ratios then\n"
                 "  --compression-threads N (2)  kwire compresses lz4/zstd on a thread_pool of N (0: inline)\n"
                 "  --spin-us N (200)       latency and e2e: kwire's io_context threads poll N us before blocking\n"
                 "                          (kwire::run_spinning; 0: io_context::run())\n"
                 "  --metrics               throughput and latency scenarios also run kwire with a metrics\n"
                 "                          registry, in the same rounds: the cost of metrics, on vs off\n"
                 "  --no-floor              instant-acksall without the TCP floor (the clients only, e.g. to trace them)\n"
                 "  --no-reject             exit 0 even when the rival ran > 30%% slower than in its calibration round\n"
                 "Exit status: 0 ok; 1 usage or setup error; 2 lost, duplicated or failed records; 3 run rejected\n"
                 "(machine busy).\n");
    std::exit(code);
}

}  // namespace

options parse(int argc, char** argv) {
    options o;
    auto value = [&](int& i) -> std::string {
        if (i + 1 >= argc) {
            std::fprintf(stderr, "kwire-bench: %s needs a value\n", argv[i]);
            usage(1);
        }
        return argv[++i];
    };
    // A whole number in [lo, hi] (by default a positive one).
    auto number = [&](int& i, unsigned long long lo = 1,
                      unsigned long long hi = std::numeric_limits<unsigned long long>::max()) -> std::size_t {
        const std::string name = argv[i];
        const auto v = value(i);
        char* end = nullptr;
        const auto n = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < lo || n > hi) {
            std::fprintf(stderr, "kwire-bench: %s wants a number in %llu..%llu, not '%s'\n", name.c_str(), lo, hi,
                         v.c_str());
            usage(1);
        }
        return static_cast<std::size_t>(n);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-b" || a == "--bootstrap") o.bootstrap = value(i);
        else if (a == "--json") o.json = true;
        else if (a == "--plot") o.plot_dir = value(i);
        else if (a == "--scenario") o.only.push_back(value(i));
        else if (a == "--messages") o.messages = number(i);
        else if (a == "--latency-messages") o.latency_messages = number(i);
        else if (a == "--size") o.size = number(i, 8);  // e2e values carry an 8-byte index
        else if (a == "--rounds") o.rounds = static_cast<int>(number(i, 1, 1000));
        else if (a == "--partitions") o.partitions = static_cast<int>(number(i));
        else if (a == "--brokers") o.brokers = static_cast<int>(number(i));
        else if (a == "--consumer")
            for (const char* n : {"consume", "consume-lz4", "consume-zstd", "commit-interval0", "commit-interval100",
                                  "commit-manual1000"})
                o.only.emplace_back(n);
        else if (a == "--txn")
            for (const char* n : {"txn-1", "txn-100", "txn-10000"}) o.only.emplace_back(n);
        else if (a == "--consumer-partitions") o.consumer_partitions = static_cast<int>(number(i));
        else if (a == "--commit-messages") o.commit_messages = number(i);
        else if (a == "--compression-threads") o.compression_threads = static_cast<int>(number(i, 0, 64));
        else if (a == "--spin-us") o.spin_us = static_cast<int>(number(i, 0, 1000000));  // 0: block at once
        else if (a == "--no-reject") o.reject = false;
        else if (a == "--no-floor") o.floor = false;
        else if (a == "--metrics") o.metrics = true;
        else if (a == "--client") {
            const auto c = value(i);
            if (c != "kwire" && (c != "librdkafka" || !KWIRE_BENCH_WITH_RDKAFKA)) usage(1);
            o.run_client[0] = c == "kwire";
            o.run_client[1] = c == "librdkafka";
        }
        else if (a == "-h" || a == "--help") usage(0);
        else {
            std::fprintf(stderr, "kwire-bench: unknown argument '%s'\n", a.c_str());
            usage(1);
        }
    }
    if (!KWIRE_BENCH_WITH_RDKAFKA) {
        o.run_client[1] = false;
        if (o.bootstrap.empty()) {
            std::fprintf(stderr,
                         "kwire-bench-kwire: -b BOOTSTRAP is required (the in-process mock cluster is librdkafka's)\n");
            usage(1);
        }
    }
    return o;
}

std::vector<scenario> scenarios_for(const options& o) {
    std::vector<scenario> all;
    auto latency = [&](std::string name, int acks, bool instant) {
        scenario s;
        s.name = std::move(name);
        s.kind = scenario_kind::latency;
        s.acks = acks;
        s.idempotence = acks == -1;  // idempotence needs acks=all; with acks=all, it is on (Kafka's default)
        s.linger_ms = 0;
        s.messages = o.latency_messages;
        s.instant = instant;
        all.push_back(s);
    };
    auto e2e = [&](std::string name, int rate, std::size_t messages, bool instant = false) {
        scenario s;
        s.instant = instant;
        s.name = std::move(name);
        s.kind = scenario_kind::e2e;
        s.acks = -1;
        s.idempotence = true;
        s.linger_ms = 0;
        s.e2e_rate = rate;
        s.messages = messages;
        all.push_back(s);
    };
    auto throughput = [&](std::string name, std::string codec) {
        scenario s;
        s.name = std::move(name);
        s.kind = scenario_kind::throughput;
        s.compression = std::move(codec);
        s.acks = -1;
        s.idempotence = true;
        s.linger_ms = 5;
        s.messages = o.messages;
        all.push_back(s);
    };
    auto consume = [&](std::string name, std::string codec) {
        scenario s;
        s.name = std::move(name);
        s.kind = scenario_kind::consume;
        s.compression = std::move(codec);
        s.messages = o.messages;
        all.push_back(s);
    };
    auto commit = [&](std::string policy) {
        scenario s;
        s.name = "commit-" + policy;
        s.kind = scenario_kind::commit;
        s.commit = std::move(policy);
        s.messages = o.commit_messages ? o.commit_messages : s.commit == "interval0" ? 50000 : o.messages;
        all.push_back(s);
    };
    auto txn = [&](std::size_t records, std::size_t messages) {
        throughput("txn-" + std::to_string(records), "none");  // acks=all, idempotent, linger 5 ms
        auto& s = all.back();
        s.kind = scenario_kind::txn;
        s.txn_records = records;
        s.messages = messages;
    };
    latency("instant-acksall", -1, true);
    e2e("instant-e2e", 0, o.latency_messages, true);
    e2e("instant-e2e-10k", 10000, o.latency_messages, true);
    e2e("instant-e2e-100k", 100000, 2 * o.latency_messages, true);
    latency("latency-acks1", 1, false);
    latency("latency-acksall", -1, false);
    e2e("e2e-one", 0, o.latency_messages);
    e2e("e2e-10k", 10000, o.latency_messages);
    e2e("e2e-100k", 100000, 2 * o.latency_messages);
    throughput("throughput", "none");
    throughput("throughput-lz4", "lz4");
    throughput("throughput-zstd", "zstd");
    consume("consume", "none");
    commit("interval0");
    consume("consume-lz4", "lz4");
    consume("consume-zstd", "zstd");
    commit("interval100");
    commit("manual1000");
    txn(1, o.latency_messages);
    txn(100, o.messages);
    txn(10000, o.messages);
    for (auto& s : all) {
        s.size = o.size;
        s.topic = "kwire-bench-" + s.name;
        s.compression_threads = s.compression == "none" ? 0 : o.compression_threads;
        s.spin_us = o.spin_us;
        s.partitions = s.instant || s.kind == scenario_kind::e2e ? 1
                       : is_consumer(s)                          ? o.consumer_partitions
                                                                 : o.partitions;
    }
    std::vector<std::string> names = o.only;
    if (names.empty())
        names = {"instant-acksall", "instant-e2e", "instant-e2e-10k", "instant-e2e-100k", "latency-acks1", "latency-acksall", "e2e-one",     "e2e-10k",          "e2e-100k",
                 "throughput",      "throughput-lz4", "throughput-zstd", "consume", "commit-interval0"};
    std::vector<scenario> chosen;
    for (const auto& name : names) {
        auto it = std::find_if(all.begin(), all.end(), [&](const scenario& s) { return s.name == name; });
        if (it == all.end()) {
            std::fprintf(stderr, "kwire-bench: unknown scenario '%s'\n", name.c_str());
            usage(1);
        }
        if (std::none_of(chosen.begin(), chosen.end(), [&](const scenario& s) { return s.name == name; }))
            chosen.push_back(*it);
    }
    return chosen;
}

client_config kwire_config(const scenario& s) {
    client_config c;
    const std::string loop =
        s.spin_us > 0 ? "run_spinning " + std::to_string(s.spin_us) + " us" : std::string("io_context::run()");
    switch (s.kind) {
    case scenario_kind::latency:
        c.label = loop + ", partitioner, linger 0";
        break;
    case scenario_kind::e2e:
        // Against librdkafka's mock an empty fetch is answered only after the whole wait; the
        // instant broker, as Kafka, answers as soon as a record arrives.
        c.fetch_wait_ms = s.instant ? 500 : 0;
        c.label = loop + " (both threads), linger 0, fetch_max_wait " + std::to_string(c.fetch_wait_ms);
        break;
    case scenario_kind::throughput:
        c.label = "linger 5 ms, " + (s.compression_threads > 0
                                         ? "compression_executor: pool of " + std::to_string(s.compression_threads)
                                         : std::string("compression inline"));
        break;
    case scenario_kind::consume:
    case scenario_kind::commit:
        c.label = "fetch_max_wait 500 ms, max_poll_records 500";
        break;
    case scenario_kind::txn:
        // commit_transaction seals what lingers: linger only batches inside a transaction.
        c.label = "linger 5 ms, io_context::run(), commit from the last send";
        break;
    }
    return c;
}

std::vector<client_config> rival_configs(const scenario& s) {
    std::vector<client_config> out;
    const bool backoff = rival_knows("fetch.queue.backoff.ms");
    switch (s.kind) {
    case scenario_kind::latency:
        for (bool spin : {false, true})
            for (bool explicit_partition : {false, true}) {
                if (s.partitions == 1 && !explicit_partition) continue;  // the same thing with one partition
                client_config c;
                c.spin = spin;
                c.explicit_partition = explicit_partition;
                c.label = std::string(spin ? "spin: poll(rk, 0) + yield" : "block: poll(rk, 100)") +
                          (explicit_partition ? ", partition 0" : ", partitioner") + ", linger.ms 0";
                out.push_back(c);
            }
        {
            // The bare busy loop of the 60-line C program: no yield between polls.
            client_config c;
            c.spin = true;
            c.yield = false;
            c.explicit_partition = true;
            c.label = "spin: poll(rk, 0), no yield, partition 0, linger.ms 0";
            out.push_back(c);
        }
        break;
    case scenario_kind::e2e:
        for (bool spin : {true, false}) {
            client_config c;
            c.spin = spin;
            c.fetch_wait_ms = s.instant ? 500 : 0;
            if (backoff) c.fetch_queue_backoff_ms = 0;
            c.label = std::string(spin ? "spin: poll(0) + yield" : "block: poll(100)") +
                      " (both), linger.ms 0, fetch.wait.max.ms " + std::to_string(c.fetch_wait_ms) +
                      ", fetch.min.bytes 1" +
                      (backoff ? ", fetch.queue.backoff.ms 0" : "");
            out.push_back(c);
        }
        break;
    case scenario_kind::throughput:
    case scenario_kind::txn:
        // txn: the same (commit_transaction flushes what lingers anyway). Not linger.ms 0: with it
        // librdkafka 2.0.2's commits took ~40x longer on the mock (txn-100: p50 46 ms against
        // 1.1 ms), and a default-size run would hit the time limit.
        for (int linger : {5, 20}) {
            client_config c;
            c.linger_ms = linger;
            c.label = "linger.ms " + std::to_string(linger) + ", partitioner" +
                      (s.kind == scenario_kind::txn ? ", commit_transaction(60 s)" : "");
            out.push_back(c);
        }
        break;
    case scenario_kind::consume:
    case scenario_kind::commit: {
        client_config as_kwire;
        as_kwire.fetch_wait_ms = 500;
        as_kwire.label = "fetch.wait.max.ms 500, batches of 500";
        out.push_back(as_kwire);
        client_config eager;
        eager.fetch_wait_ms = 10;
        eager.queued_min_messages = 1000000;
        if (backoff) eager.fetch_queue_backoff_ms = 0;
        eager.label = std::string("fetch.wait.max.ms 10, queued.min.messages 1000000") +
                      (backoff ? ", fetch.queue.backoff.ms 0" : "") + ", batches of 500";
        out.push_back(eager);
        break;
    }
    }
    return out;
}

}  // namespace kwire::bench

// kwire-bench: kwire's producer against librdkafka's, same cluster, same topic layout, same
// payloads, same settings.
//
//   kwire-bench                      starts librdkafka's mock cluster (3 brokers) in-process
//   kwire-bench -b host:9092,...     uses a real cluster (topics kwire-bench-* are created)
//   --json                           only the JSON lines on stdout
//   --scenario NAME (repeatable)     throughput, throughput-lz4, throughput-zstd,
//                                    latency-acks1, latency-acksall (the default set), and the
//                                    consumer scenarios consume, consume-lz4, consume-zstd,
//                                    commit-interval0, commit-interval100, commit-manual1000
//   --consumer                       all six consumer scenarios (not in the default set)
//   --consumer-partitions P (32)     partitions of the consumer scenarios' topics
//   --commit-messages N              records per commit-* run; default: --messages, but 50000 for
//                                    commit-interval0 (librdkafka's per-message async commits
//                                    ran > 5 min CPU-bound at 200000)
//   --messages N   (1000000)         records per throughput run
//   --latency-messages N (20000)     sends per latency run
//   --size B (100) --rounds R (9) --partitions P (16) --brokers N (3, mock only)
//   --client kwire|librdkafka        one client only (to profile it); no ratios then
//   --spin-us N (200)                latency scenarios: kwire's io_context thread busy-polls N us
//                                    before it blocks (kwire::run_spinning); 0: io_context::run()
//   --rival-spin-us N (0)            latency scenarios: librdkafka's application thread calls
//                                    rd_kafka_poll(rk, 0) for N us before rd_kafka_poll(rk, 100).
//                                    Off by default: on 2 cores it makes librdkafka's p99 ~5x worse,
//                                    its broker thread and the mock competing with the spinning one
//   --compression-threads N (0)      kwire compresses on a boost::asio::thread_pool of N threads
//                                    (producer_config::compression_executor); 0: on its one thread
//   KWIRE_BENCH_DUMP=DIR             also writes each run's raw latencies (ns, completion order)
//
// Each scenario runs R rounds of (kwire, librdkafka), alternating, each run with a fresh
// producer; the median over rounds is reported per client. Around every run the topic's high
// watermarks are summed (ListOffsets, outside the timed part) so that what the log grew by is
// checked against what the client acknowledged: lost or duplicated records show up, never hide.
//
// Consumer scenarios: the topic (one per scenario, kwire-bench-<scenario>) is filled once,
// untimed, by a librdkafka producer with the scenario's compression (records spread evenly over
// the partitions; only what is missing is produced), then both clients read the same records
// from the log start in every round. Each run counts exactly --messages (or --commit-messages)
// records and checks per partition that offsets come in order without gaps or repeats.
//
// kwire-bench-kwire is this program without librdkafka (KWIRE_BENCH_WITH_RDKAFKA=0), for fully
// static builds (scripts/build-static.sh): kwire's side only, against a cluster given with -b,
// which kwire's own admin client and producer set up and check (cluster_kwire.hpp).
#ifndef KWIRE_BENCH_WITH_RDKAFKA
#define KWIRE_BENCH_WITH_RDKAFKA 1
#endif
#if KWIRE_BENCH_WITH_RDKAFKA
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#else
#include "cluster_kwire.hpp"
#endif

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <unistd.h>
#include <vector>

#include "bench_common.hpp"

namespace kwire::bench {
namespace {

struct options {
    std::string bootstrap;
    bool json = false;
    std::vector<std::string> only;
    std::size_t messages = 1000000;
    std::size_t latency_messages = 20000;
    std::size_t size = 100;
    int rounds = 9;
    int partitions = 16;
    int brokers = 3;
    int consumer_partitions = 32;
    std::size_t commit_messages = 0;  // 0: the defaults above
    bool run_client[2] = {true, KWIRE_BENCH_WITH_RDKAFKA != 0};  // kwire, librdkafka
    int compression_threads = 0;
    int spin_us = 200;
    int rival_spin_us = 0;
};

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: kwire-bench [-b BOOTSTRAP] [--json] [--scenario NAME]... [--messages N]\n"
                 "                   [--latency-messages N] [--size B] [--rounds R] [--partitions P] [--brokers N]\n"
                 "                   [--client kwire|librdkafka]   (one client only, e.g. to profile it)\n"
                 "                   [--compression-threads N]   (kwire: compress on a thread pool of N threads)\n"
                 "                   [--spin-us N] [--rival-spin-us N]   (latency: kwire's io_context thread,\n"
                 "                   librdkafka's application thread, busy-polls N us before blocking; 200, 0)\n"
                 "                   [--consumer] [--consumer-partitions P] [--commit-messages N]\n"
                 "scenarios: throughput throughput-lz4 throughput-zstd latency-acks1 latency-acksall (default set)\n"
                 "           consume consume-lz4 consume-zstd commit-interval0 commit-interval100\n"
                 "           commit-manual1000 (--consumer: all six)\n"
                 "Without -b, librdkafka's mock cluster is started in-process.\n");
    std::exit(code);
}

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
        else if (a == "--scenario") o.only.push_back(value(i));
        else if (a == "--messages") o.messages = number(i);
        else if (a == "--latency-messages") o.latency_messages = number(i);
        else if (a == "--size") o.size = number(i);
        else if (a == "--rounds") o.rounds = static_cast<int>(number(i));
        else if (a == "--partitions") o.partitions = static_cast<int>(number(i));
        else if (a == "--brokers") o.brokers = static_cast<int>(number(i));
        else if (a == "--consumer")
            for (const char* n : {"consume", "consume-lz4", "consume-zstd", "commit-interval0", "commit-interval100",
                                  "commit-manual1000"})
                o.only.emplace_back(n);
        else if (a == "--consumer-partitions") o.consumer_partitions = static_cast<int>(number(i));
        else if (a == "--commit-messages") o.commit_messages = number(i);
        else if (a == "--compression-threads") o.compression_threads = static_cast<int>(number(i));
        else if (a == "--spin-us") o.spin_us = static_cast<int>(number(i, 0, 1000000));  // 0: block at once
        else if (a == "--rival-spin-us") o.rival_spin_us = static_cast<int>(number(i, 0, 1000000));
        else if (a == "--client") {
            // Runs one client only (for profiling); no ratios then.
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
#if !KWIRE_BENCH_WITH_RDKAFKA
    if (o.bootstrap.empty()) {
        std::fprintf(stderr, "kwire-bench-kwire: -b BOOTSTRAP is required (the in-process mock cluster is librdkafka's)\n");
        usage(1);
    }
#endif
    return o;
}

std::vector<scenario> scenarios_for(const options& o) {
    std::vector<scenario> all;
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
    auto latency = [&](std::string name, int acks) {
        scenario s;
        s.name = std::move(name);
        s.kind = scenario_kind::latency;
        s.acks = acks;
        s.idempotence = acks == -1;  // idempotence needs acks=all; with acks=all, it is on (Kafka's default)
        s.linger_ms = 0;
        s.messages = o.latency_messages;
        all.push_back(s);
    };
    throughput("throughput", "none");
    throughput("throughput-lz4", "lz4");
    throughput("throughput-zstd", "zstd");
    latency("latency-acks1", 1);
    latency("latency-acksall", -1);
    const auto producers = all.size();
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
    consume("consume", "none");
    consume("consume-lz4", "lz4");
    consume("consume-zstd", "zstd");
    commit("interval0");
    commit("interval100");
    commit("manual1000");
    for (auto& s : all) {
        s.size = o.size;
        s.topic = "kwire-bench-" + s.name;
        s.compression_threads = o.compression_threads;
        s.spin_us = o.spin_us;
        s.rival_spin_us = o.rival_spin_us;
        s.partitions = is_consumer(s) ? o.consumer_partitions : o.partitions;
    }
    if (o.only.empty()) {
        all.resize(producers);  // the consumer scenarios run when named (or with --consumer)
        return all;
    }
    std::vector<scenario> chosen;
    for (const auto& name : o.only) {
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

// --- the cluster: librdkafka's mock, or a real one; plus a handle for checks ------------------
#if KWIRE_BENCH_WITH_RDKAFKA

void conf_set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(std::string("librdkafka config ") + name + ": " + errstr);
}

rd_kafka_t* new_handle(const std::string& bootstrap) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (!bootstrap.empty()) conf_set(conf, "bootstrap.servers", bootstrap);
    conf_set(conf, "client.id", "kwire-bench-admin");
    conf_set(conf, "log_level", "3");
    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("rd_kafka_new: ") + errstr);
    }
    return rk;
}

class cluster_env {
public:
    explicit cluster_env(const options& o) {
        if (o.bootstrap.empty()) {
            host_ = new_handle("");
            mock_ = rd_kafka_mock_cluster_new(host_, o.brokers);
            if (!mock_) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
            bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock_);
            brokers_ = o.brokers;
        } else {
            bootstrap_ = o.bootstrap;
        }
        checker_ = new_handle(bootstrap_);
        if (!mock_) {
            const rd_kafka_metadata_t* md = nullptr;
            const auto err = rd_kafka_metadata(checker_, 0, nullptr, &md, 10000);
            if (err) throw std::runtime_error(std::string("metadata: ") + rd_kafka_err2str(err));
            brokers_ = md->broker_cnt;
            rd_kafka_metadata_destroy(md);
        }
    }
    ~cluster_env() {
        if (checker_) rd_kafka_destroy(checker_);
        if (mock_) rd_kafka_mock_cluster_destroy(mock_);
        if (host_) rd_kafka_destroy(host_);
    }
    cluster_env(const cluster_env&) = delete;
    cluster_env& operator=(const cluster_env&) = delete;

    const std::string& bootstrap() const { return bootstrap_; }
    bool is_mock() const { return mock_ != nullptr; }
    int brokers() const { return brokers_; }

    /// Creates the topic (an existing one is kept) and returns its partition count.
    int ensure_topic(const std::string& name, int partitions) {
        const int replication = std::min(3, brokers_);
        if (mock_) {
            const auto err = rd_kafka_mock_topic_create(mock_, name.c_str(), partitions, replication);
            if (err) throw std::runtime_error("mock topic " + name + ": " + rd_kafka_err2str(err));
        } else {
            try {
                create_topic(name, partitions, replication);
            } catch (const std::exception& e) {
                // Not fatal: the topic may exist already, or be auto-created on first use.
                std::cerr << "kwire-bench: warning: " << e.what() << "; using the topic as the cluster has it"
                          << std::endl;
            }
        }
        return partition_count(name);
    }

    /// Records the topic's log holds now (high minus low watermark, summed over partitions).
    std::int64_t log_size(const std::string& topic, int partitions) {
        std::int64_t sum = 0;
        for (int p = 0; p < partitions; ++p) {
            std::int64_t lo = 0, hi = 0;
            const auto err = rd_kafka_query_watermark_offsets(checker_, topic.c_str(), p, &lo, &hi, 10000);
            if (err) throw std::runtime_error("watermarks of " + topic + ": " + rd_kafka_err2str(err));
            sum += hi - lo;
        }
        return sum;
    }

    /// Consumer scenarios: makes the topic hold at least `count` records (untimed), produced by
    /// librdkafka with the scenario's compression, spread evenly over the partitions.
    void fill(const scenario& s, std::size_t count, const std::vector<std::string>& payloads) {
        const auto have = log_size(s.topic, s.partitions);
        if (have >= static_cast<std::int64_t>(count)) return;
        const auto missing = count - static_cast<std::size_t>(have);
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        conf_set(conf, "bootstrap.servers", bootstrap_);
        conf_set(conf, "client.id", "kwire-bench-fill");
        conf_set(conf, "log_level", "3");
        conf_set(conf, "acks", "all");
        conf_set(conf, "linger.ms", "5");
        conf_set(conf, "batch.size", "1000000");
        conf_set(conf, "batch.num.messages", "1000000");
        conf_set(conf, "compression.codec", s.compression);
        conf_set(conf, "queue.buffering.max.messages", std::to_string(std::max<std::size_t>(missing + 1000, 100000)));
        conf_set(conf, "queue.buffering.max.kbytes", "1048576");
        char errstr[512];
        rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (!rk) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error(std::string("rd_kafka_new: ") + errstr);
        }
        rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, s.topic.c_str(), nullptr);
        for (std::size_t i = 0; i < missing; ++i) {
            const auto& v = payloads[i % payloads.size()];
            while (rd_kafka_produce(rkt, static_cast<std::int32_t>(i % static_cast<std::size_t>(s.partitions)),
                                    RD_KAFKA_MSG_F_COPY, const_cast<char*>(v.data()), v.size(), nullptr, 0,
                                    nullptr) == -1) {
                if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                    throw std::runtime_error(std::string("fill ") + s.topic + ": " + rd_kafka_err2str(rd_kafka_last_error()));
                rd_kafka_poll(rk, 10);
            }
            if (i % 10000 == 0) rd_kafka_poll(rk, 0);
        }
        const auto left = rd_kafka_flush(rk, 120000);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        if (left) throw std::runtime_error("fill " + s.topic + ": flush: " + rd_kafka_err2str(left));
        const auto now = log_size(s.topic, s.partitions);
        if (now < static_cast<std::int64_t>(count))
            throw std::runtime_error("fill " + s.topic + ": the log holds " + std::to_string(now) + " records, not " +
                                     std::to_string(count) +
                                     " (the mock keeps a few MB per partition: use more --consumer-partitions)");
    }

    /// Sum of the topic's high watermarks: how many records its log has taken, ever.
    std::int64_t log_end(const std::string& topic, int partitions) {
        std::int64_t sum = 0;
        for (int p = 0; p < partitions; ++p) {
            std::int64_t lo = 0, hi = 0;
            const auto err = rd_kafka_query_watermark_offsets(checker_, topic.c_str(), p, &lo, &hi, 10000);
            if (err) throw std::runtime_error("watermarks of " + topic + ": " + rd_kafka_err2str(err));
            sum += hi;
        }
        return sum;
    }

private:
    void create_topic(const std::string& name, int partitions, int replication) {
        char errstr[512];
        rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(name.c_str(), partitions, replication, errstr, sizeof errstr);
        if (!nt) throw std::runtime_error("NewTopic " + name + ": " + errstr);
        rd_kafka_queue_t* q = rd_kafka_queue_new(checker_);
        rd_kafka_CreateTopics(checker_, &nt, 1, nullptr, q);
        rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 15000);
        std::string failure;
        if (!ev) failure = "CreateTopics timed out";
        else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
            std::size_t n = 0;
            const auto** topics = rd_kafka_CreateTopics_result_topics(res, &n);
            for (std::size_t i = 0; i < n; ++i) {
                const auto err = rd_kafka_topic_result_error(topics[i]);
                if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                    failure = std::string("CreateTopics: ") + rd_kafka_err2str(err);
            }
        } else {
            failure = std::string("CreateTopics: ") + rd_kafka_event_error_string(ev);
        }
        if (ev) rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy(nt);
        if (!failure.empty()) throw std::runtime_error(failure + " (" + name + ")");
    }

    int partition_count(const std::string& name) {
        rd_kafka_topic_t* rkt = rd_kafka_topic_new(checker_, name.c_str(), nullptr);
        int count = 0;
        std::string why = "no metadata";
        for (int attempt = 0; attempt < 50 && count == 0; ++attempt) {
            const rd_kafka_metadata_t* md = nullptr;
            const auto err = rd_kafka_metadata(checker_, 0, rkt, &md, 5000);
            if (err) why = rd_kafka_err2str(err);
            else {
                if (md->topic_cnt == 1 && md->topics[0].err == 0) count = md->topics[0].partition_cnt;
                else if (md->topic_cnt == 1) why = rd_kafka_err2str(md->topics[0].err);
                rd_kafka_metadata_destroy(md);
            }
            if (count == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        rd_kafka_topic_destroy(rkt);
        if (count == 0) throw std::runtime_error("topic " + name + " has no partitions: " + why);
        return count;
    }

    rd_kafka_t* host_ = nullptr;
    rd_kafka_mock_cluster_t* mock_ = nullptr;
    rd_kafka_t* checker_ = nullptr;
    std::string bootstrap_;
    int brokers_ = 0;
};

std::string rival_version() { return std::string(", librdkafka ") + rd_kafka_version_str(); }
#else
class cluster_env : public kwire_cluster {
public:
    explicit cluster_env(const options& o) : kwire_cluster(o.bootstrap) {}
};

std::string rival_version() { return ", kwire only (built without librdkafka)"; }
#endif

// --- reporting ----------------------------------------------------------------------------------

struct round_stats {
    double msgs_per_s = 0;
    double p50 = 0, p99 = 0, p999 = 0;
    double mb_per_s = 0;        // consumers: value bytes / s
    double commits = 0;         // commit scenarios: commit requests sent
    double commit_callbacks = 0;  // librdkafka: offset_commit_cb calls
};

struct client_summary {
    std::vector<round_stats> rounds;
    std::size_t delivered = 0;
    std::size_t errors = 0;
    std::int64_t log_mismatch = 0;  // sum over rounds of |log growth - acknowledged|
    std::vector<std::string> notes;

    static double median(std::vector<double> v) {
        if (v.empty()) return 0;
        std::sort(v.begin(), v.end());
        const auto n = v.size();
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
    double med(double round_stats::*field) const {
        std::vector<double> v;
        for (const auto& r : rounds) v.push_back(r.*field);
        return median(std::move(v));
    }
};

const char* const client_names[] = {"kwire", "librdkafka"};

std::string json_line(const scenario& s, const char* client, const client_summary& c) {
    char buf[512];
    const double mps = c.med(&round_stats::msgs_per_s);
    std::snprintf(buf, sizeof buf,
                  "{\"scenario\":\"%s\",\"client\":\"%s\",\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"p50_us\":%.1f,"
                  "\"p99_us\":%.1f,\"p999_us\":%.1f,\"rounds\":%zu,\"messages\":%zu,\"delivered\":%zu,\"errors\":%zu,"
                  "\"log_mismatch\":%lld,\"kwire_compression_threads\":%d,\"spin_us\":%d}",
                  s.name.c_str(), client, mps, mps * static_cast<double>(s.size) / 1e6, c.med(&round_stats::p50),
                  c.med(&round_stats::p99), c.med(&round_stats::p999), c.rounds.size(), s.messages, c.delivered,
                  c.errors, static_cast<long long>(c.log_mismatch), s.compression_threads,
                  s.kind != scenario_kind::latency ? 0 : std::string_view(client) == "kwire" ? s.spin_us : s.rival_spin_us);
    return buf;
}

std::string consumer_json_line(const scenario& s, const char* client, const client_summary& c) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"scenario\":\"%s\",\"client\":\"%s\",\"msgs_per_s\":%.0f,\"mb_per_s\":%.2f,\"commits\":%.0f,"
                  "\"commit_callbacks\":%.0f,\"rounds\":%zu,\"messages\":%zu,\"consumed\":%zu,\"errors\":%zu}",
                  s.name.c_str(), client, c.med(&round_stats::msgs_per_s), c.med(&round_stats::mb_per_s),
                  c.med(&round_stats::commits), c.med(&round_stats::commit_callbacks), c.rounds.size(), s.messages,
                  c.delivered, c.errors);
    return buf;
}

std::string ratio_verdict(double ratio, double target, bool higher_is_better) {
    char buf[64];
    const bool met = higher_is_better ? ratio >= target : ratio <= target;
    std::snprintf(buf, sizeof buf, "%s %.2fx: %s", higher_is_better ? ">=" : "<=", target, met ? "met" : "MISSED");
    return buf;
}

}  // namespace
}  // namespace kwire::bench

int main(int argc, char** argv) {
    using namespace kwire::bench;
    const auto opt = parse(argc, argv);
    auto scenarios = scenarios_for(opt);
    const auto payloads = make_payloads(opt.size);
    auto say = [&](const std::string& line) {
        if (!opt.json) std::cerr << line << std::endl;
    };

    try {
        cluster_env env(opt);
        say(std::string("kwire-bench: ") +
            (env.is_mock() ? "librdkafka mock cluster (in-process), " : "cluster " + env.bootstrap() + ", ") +
            std::to_string(env.brokers()) + " brokers, " + std::to_string(opt.partitions) + " partitions (consumer scenarios: " +
            std::to_string(opt.consumer_partitions) + "), " +
            std::to_string(opt.size) + " B values, " + std::to_string(opt.rounds) + " rounds" +
            rival_version() + ", kwire compression " +
            (opt.compression_threads > 0 ? "on a pool of " + std::to_string(opt.compression_threads) + " thread(s)"
                                         : std::string("inline")) +
            ", latency: busy-poll before blocking " + std::to_string(opt.spin_us) + " us (kwire), " +
            std::to_string(opt.rival_spin_us) + " us (librdkafka)");
        for (auto& s : scenarios) {
            const int want = s.partitions;
            s.partitions = env.ensure_topic(s.topic, want);
            if (s.partitions != want)
                std::cerr << "kwire-bench: note: topic " << s.topic << " has " << s.partitions << " partitions, not "
                          << want << std::endl;
            if (is_consumer(s)) {
                const auto t0 = bench_clock::now();
                env.fill(s, s.messages, payloads);
                say("kwire-bench: " + s.topic + " holds " + std::to_string(env.log_size(s.topic, s.partitions)) +
                    " records (filled in " +
                    std::to_string(std::chrono::duration<double>(bench_clock::now() - t0).count()) + " s, untimed)");
            }
        }

        std::map<std::string, std::array<client_summary, 2>> summary;
        bool trouble = false;
        for (const auto& s : scenarios) {
            auto& sums = summary[s.name];
            for (int round = 0; round < opt.rounds; ++round) {
                for (int c = 0; c < 2; ++c) {
                    if (!opt.run_client[c]) continue;
                    if (is_consumer(s)) {
                        // Same data for both clients: read from the log start; commit runs join a
                        // fresh group (so they start at auto.offset.reset=earliest).
                        scenario run = s;
                        run.group = "kwire-bench-" + s.name + "-" + client_names[c] + "-" + std::to_string(::getpid()) +
                                    "-" + std::to_string(round + 1);
                        auto r = c == 0 ? run_kwire_consumer(run, env.bootstrap()) : run_rdkafka_consumer(run, env.bootstrap());
                        round_stats rs;
                        rs.msgs_per_s = r.seconds > 0 ? static_cast<double>(r.delivered) / r.seconds : 0;
                        rs.mb_per_s = r.seconds > 0 ? static_cast<double>(r.value_bytes) / r.seconds / 1e6 : 0;
                        rs.commits = static_cast<double>(r.commits);
                        rs.commit_callbacks = static_cast<double>(r.commit_callbacks);
                        auto& cs = sums[static_cast<std::size_t>(c)];
                        cs.rounds.push_back(rs);
                        cs.delivered += r.delivered;
                        cs.errors += r.errors;
                        char line[512];
                        std::snprintf(line, sizeof line,
                                      "  %-18s round %d %-10s %10.0f msgs/s %8.2f MB/s  %6.3f s  consumed %zu/%zu  "
                                      "commits %llu  errors %zu",
                                      s.name.c_str(), round + 1, client_names[c], rs.msgs_per_s, rs.mb_per_s, r.seconds,
                                      r.delivered, s.messages, static_cast<unsigned long long>(r.commits), r.errors);
                        say(line);
                        if (r.errors || r.delivered != s.messages) {
                            trouble = true;
                            std::snprintf(line, sizeof line, "round %d: %zu of %zu consumed, %zu errors (first: %s)",
                                          round + 1, r.delivered, s.messages, r.errors,
                                          r.first_error.empty() ? "-" : r.first_error.c_str());
                            cs.notes.push_back(line);
                            std::cerr << "kwire-bench: " << s.name << " " << client_names[c] << " " << line << std::endl;
                        }
                        continue;
                    }
                    const auto before = env.log_end(s.topic, s.partitions);
                    auto r = c == 0 ? run_kwire(s, env.bootstrap(), payloads) : run_rdkafka(s, env.bootstrap(), payloads);
                    const auto after = env.log_end(s.topic, s.partitions);
                    const auto acknowledged = static_cast<std::int64_t>(r.delivered + r.warmup_delivered);
                    const auto grown = after - before;

                    if (const char* dump = std::getenv("KWIRE_BENCH_DUMP")) {
                        // Raw latencies in completion order, one file per run (to look at stalls over time).
                        const std::string fn = std::string(dump) + "/" + s.name + "-" + client_names[c] + "-" +
                                               std::to_string(round + 1) + ".txt";
                        if (FILE* f = std::fopen(fn.c_str(), "w")) {
                            for (auto v : r.latency_ns) std::fprintf(f, "%llu\n", static_cast<unsigned long long>(v));
                            std::fclose(f);
                        }
                    }
                    std::sort(r.latency_ns.begin(), r.latency_ns.end());
                    round_stats rs;
                    rs.msgs_per_s = r.seconds > 0 ? static_cast<double>(r.delivered) / r.seconds : 0;
                    rs.p50 = percentile_us(r.latency_ns, 0.50);
                    rs.p99 = percentile_us(r.latency_ns, 0.99);
                    rs.p999 = percentile_us(r.latency_ns, 0.999);
                    auto& cs = sums[static_cast<std::size_t>(c)];
                    cs.rounds.push_back(rs);
                    cs.delivered += r.delivered;
                    cs.errors += r.errors;
                    cs.log_mismatch += grown > acknowledged ? grown - acknowledged : acknowledged - grown;

                    char line[512];
                    std::snprintf(line, sizeof line,
                                  "  %-16s round %d %-10s %10.0f msgs/s  p50 %9.1f us  p99 %9.1f us  p99.9 %9.1f us"
                                  "  delivered %zu/%zu  errors %zu  log +%lld",
                                  s.name.c_str(), round + 1, client_names[c], rs.msgs_per_s, rs.p50, rs.p99, rs.p999,
                                  r.delivered, s.messages, r.errors, static_cast<long long>(grown));
                    say(line);
                    if (r.errors || r.delivered != s.messages || grown != acknowledged) {
                        trouble = true;
                        std::snprintf(line, sizeof line,
                                      "round %d: %zu of %zu acknowledged, %zu errors (first: %s); log grew by %lld, "
                                      "%lld acknowledged incl. %zu warm-up",
                                      round + 1, r.delivered, s.messages, r.errors,
                                      r.first_error.empty() ? "-" : r.first_error.c_str(), static_cast<long long>(grown),
                                      static_cast<long long>(acknowledged), r.warmup_delivered);
                        cs.notes.push_back(line);
                        std::cerr << "kwire-bench: " << s.name << " " << client_names[c] << " " << line << std::endl;
                    }
                }
            }
            for (int c = 0; c < 2; ++c)
                if (opt.run_client[c])
                    std::cout << (is_consumer(s) ? consumer_json_line(s, client_names[c], sums[static_cast<std::size_t>(c)])
                                                 : json_line(s, client_names[c], sums[static_cast<std::size_t>(c)]))
                              << std::endl;
        }

        if (!opt.json) {
            bool header = false;
            for (const auto& s : scenarios) {
                if (is_consumer(s) || header) continue;
                header = true;
                std::printf("\n%-16s %-12s %12s %9s %10s %10s %10s %8s\n", "scenario", "client", "msgs/s", "MB/s",
                            "p50 us", "p99 us", "p99.9 us", "errors");
            }
            for (const auto& s : scenarios) {
                if (is_consumer(s)) continue;
                const auto& sums = summary[s.name];
                for (int c = 0; c < 2; ++c) {
                    if (!opt.run_client[c]) continue;
                    const auto& cs = sums[static_cast<std::size_t>(c)];
                    const double mps = cs.med(&round_stats::msgs_per_s);
                    std::printf("%-16s %-12s %12.0f %9.2f %10.1f %10.1f %10.1f %8zu\n", c == 0 || !opt.run_client[0] ? s.name.c_str() : "",
                                client_names[c], mps, mps * static_cast<double>(s.size) / 1e6,
                                cs.med(&round_stats::p50), cs.med(&round_stats::p99), cs.med(&round_stats::p999),
                                cs.errors);
                }
                if (!opt.run_client[0] || !opt.run_client[1]) continue;
                const auto& k = sums[0];
                const auto& r = sums[1];
                auto ratio = [&](double round_stats::*f) {
                    const double d = r.med(f);
                    return d > 0 ? k.med(f) / d : 0.0;
                };
                const double rt = ratio(&round_stats::msgs_per_s), r50 = ratio(&round_stats::p50),
                             r99 = ratio(&round_stats::p99), r999 = ratio(&round_stats::p999);
                std::printf("%-16s %-12s %11.2fx %8.2fx %9.2fx %9.2fx %9.2fx   ", "", "kwire/rdk", rt, rt, r50, r99, r999);
                if (s.kind == scenario_kind::throughput) std::printf("target msgs/s %s\n", ratio_verdict(rt, 1.5, true).c_str());
                else
                    std::printf("target p50 %s, p99 %s\n", ratio_verdict(r50, 0.7, false).c_str(),
                                ratio_verdict(r99, 0.6, false).c_str());
            }
            header = false;
            for (const auto& s : scenarios) {
                if (!is_consumer(s)) continue;
                if (!header) {
                    header = true;
                    std::printf("\n%-18s %-12s %12s %9s %10s %10s %8s\n", "scenario", "client", "msgs/s", "MB/s",
                                "commits", "commit cbs", "errors");
                }
                const auto& sums = summary[s.name];
                for (int c = 0; c < 2; ++c) {
                    if (!opt.run_client[c]) continue;
                    const auto& cs = sums[static_cast<std::size_t>(c)];
                    std::printf("%-18s %-12s %12.0f %9.2f %10.0f %10.0f %8zu\n",
                                c == 0 || !opt.run_client[0] ? s.name.c_str() : "", client_names[c],
                                cs.med(&round_stats::msgs_per_s), cs.med(&round_stats::mb_per_s),
                                cs.med(&round_stats::commits), cs.med(&round_stats::commit_callbacks), cs.errors);
                }
                if (!opt.run_client[0] || !opt.run_client[1]) continue;
                const auto& k = sums[0];
                const auto& r = sums[1];
                const double d = r.med(&round_stats::msgs_per_s);
                const double rt = d > 0 ? k.med(&round_stats::msgs_per_s) / d : 0;
                std::printf("%-18s %-12s %11.2fx %8.2fx   ", "", "kwire/rdk", rt, rt);
                if (s.kind == scenario_kind::consume) std::printf("target msgs/s %s\n", ratio_verdict(rt, 2.0, true).c_str());
                else std::printf("(no target: commit cost)\n");
            }
            for (const auto& s : scenarios)
                for (int c = 0; c < 2; ++c)
                    for (const auto& n : summary[s.name][static_cast<std::size_t>(c)].notes)
                        std::printf("NOTE %s %s: %s\n", s.name.c_str(), client_names[c], n.c_str());
            std::printf("(medians over %d rounds; MB/s counts value bytes, 10^6 B; latency is send -> delivery callback;\n"
                        " consumers: commits = commit requests sent, see bench/RESULTS.md)\n",
                        opt.rounds);
        }
        return trouble ? 2 : 0;
    } catch (const std::exception& e) {
        std::cerr << "kwire-bench: " << e.what() << std::endl;
        return 1;
    }
}

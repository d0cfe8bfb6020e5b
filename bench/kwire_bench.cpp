// kwire-bench: kwire against librdkafka at its best, with the physical floor, in one run.
//
//   kwire-bench                  librdkafka's mock cluster (3 brokers) in-process
//   kwire-bench -b host:9092     a real cluster (topics kwire-bench-* are created)
//   kwire-bench --plot DIR       also PNG plots (plot.hpp); --help lists every option
//
// Every scenario (options.cpp) runs kwire in its one configuration and librdkafka in each of the
// configurations a tuned user would try (options.cpp: rival_configs), one calibration round and
// then R counted rounds, the order of the clients reversed every other round. Per configuration
// the median and the min-max over the counted rounds are reported, and kwire is compared with
// the best librdkafka configuration per figure (report.hpp). If that configuration ran more than
// 30% slower than in its calibration round, the machine was busy: the run is rejected (exit 3).
//
// instant-acksall runs against instant_broker (a broker that answers at once) and adds the TCP
// ping-pong floor of the same sizes (floor.hpp): latency against it minus the floor is each
// client's own overhead. e2e-* measure send() on one client to poll() on another of the same
// kind (bench_*_e2e.cpp); instant-e2e does so through instant_broker, which hands a record to a
// waiting Fetch as soon as it arrives. txn-1, txn-100 and txn-10000 (not in the default set)
// run each client's transactional producer: transactions of that many records, records/s and
// each commit's latency (bench_kwire_txn.cpp, bench_rdkafka_txn.cpp).
//
// Correctness, every run: around producer runs the topic's high watermarks are summed (outside
// the timed part) and what the log grew by must equal what the client acknowledged (txn: plus
// the control markers a real cluster writes, one per partition per transaction); consumer
// runs count exactly the expected records and check per partition that offsets come in order
// without gaps or repeats; e2e runs check the records' indices. Lost, duplicated or failed
// records make the exit status 2.
//
// kwire-bench-kwire is this program without librdkafka (KWIRE_BENCH_WITH_RDKAFKA=0), for fully
// static builds: kwire's side only, against a cluster given with -b (cluster_kwire.hpp).
#include "options.hpp"

#if KWIRE_BENCH_WITH_RDKAFKA
#include "cluster_rdkafka.hpp"
#else
#include "cluster_kwire.hpp"
#endif

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "floor.hpp"
#include "instant_broker.hpp"
#include "plot.hpp"
#include "report.hpp"

namespace kwire::bench {
namespace {

#if KWIRE_BENCH_WITH_RDKAFKA
using cluster_env = rdkafka_cluster;
std::unique_ptr<cluster_env> open_cluster(const options& o) {
    return std::make_unique<cluster_env>(o.bootstrap, o.brokers);
}
#else
using cluster_env = kwire_cluster;
std::unique_ptr<cluster_env> open_cluster(const options& o) { return std::make_unique<cluster_env>(o.bootstrap); }
std::string rival_version() { return ", kwire only (built without librdkafka)"; }
#endif

class bench_run {
public:
    bench_run(const options& o, cluster_env& env, const std::vector<std::string>& payloads)
        : o_(o), env_(env), payloads_(payloads) {}

    bool trouble() const { return trouble_; }

    scenario_result run(const scenario& s) {
        scenario_result r;
        r.s = s;
        auto add = [&](const char* client, client_config c) {
            entrant e;
            e.client = client;
            e.config = std::move(c);
            r.entrants.push_back(std::move(e));
        };
        if (o_.run_client[0]) add("kwire", kwire_config(s));
        const bool metered = o_.run_client[0] && o_.metrics &&
                             (s.kind == scenario_kind::throughput || s.kind == scenario_kind::latency);
        if (metered) {
            auto c = kwire_config(s);
            c.metrics = true;
            c.label += ", metrics on";
            add("kwire", c);
        }
        if (o_.run_client[1])
            for (auto& c : rival_configs(s)) add("librdkafka", c);
        std::unique_ptr<instant_broker> broker;
        if (s.instant) broker = std::make_unique<instant_broker>(s.topic, s.kind == scenario_kind::e2e);
        if (s.instant && s.e2e_rate == 0 && o_.floor) {
            const bool e2e = s.kind == scenario_kind::e2e;
            if (e2e) {
                client_config c;
                c.spin = true;
                c.relay = true;
                c.label = "TCP relay: in on one connection, condvar to a 2nd server thread, out on another, spinning reader";
                add("floor", c);
            }
            for (bool spin : {true, false}) {
                if (e2e && !spin) continue;
                client_config c;
                c.spin = spin;
                c.label = spin ? "TCP ping-pong, client spinning (non-blocking recv + yield), server blocking"
                               : "TCP ping-pong, client and server blocking";
                add("floor", c);
            }
        }
        for (int round = 0; round <= o_.rounds; ++round) {
            std::vector<std::size_t> order(r.entrants.size());
            for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
            if (round % 2 == 1) std::reverse(order.begin(), order.end());
            for (auto i : order) run_once(r, r.entrants[i], round, broker.get());
        }
        check_calibration(r);
        if (metered) say_metrics_cost(r);
        return r;
    }

private:
    /// --metrics: kwire with a registry (the second kwire entrant) against kwire without.
    void say_metrics_cost(const scenario_result& r) {
        const entrant* off = nullptr;
        const entrant* on = nullptr;
        for (const auto& e : r.entrants)
            if (e.client == "kwire") (e.config.metrics ? on : off) = &e;
        if (!off || !on || off->rounds.empty() || on->rounds.empty()) return;
        char line[256];
        if (r.s.kind == scenario_kind::throughput) {
            const double a = off->med(&round_stats::msgs_per_s), b = on->med(&round_stats::msgs_per_s);
            std::snprintf(line, sizeof line, "  %-16s metrics on vs off: %.0f vs %.0f msgs/s (%+.1f%%)", r.s.name.c_str(), b,
                          a, a > 0 ? (b - a) / a * 100 : 0.0);
        } else {
            const double a = off->med(&round_stats::p50), b = on->med(&round_stats::p50);
            std::snprintf(line, sizeof line, "  %-16s metrics on vs off: p50 %.1f vs %.1f us (%+.1f us)", r.s.name.c_str(),
                          b, a, b - a);
        }
        say(line);
    }

    void run_once(scenario_result& r, entrant& e, int round, instant_broker* broker) {
        scenario s = r.s;
        s.config = e.config;
        const bool calibration = round == 0;
        const std::string round_name = calibration ? "calibration" : "round " + std::to_string(round);
        round_stats rs;
        char line[768];
        if (e.client == "floor") {
            if (r.request_bytes == 0) {  // no client ran first: Produce of kwire's usual size
                r.request_bytes = 190;
                r.response_bytes = 74;
            }
            const auto t0 = bench_clock::now();
            auto lat = e.config.relay ? tcp_relay(r.request_bytes, r.response_bytes, s.messages)
                                      : tcp_ping_pong(r.request_bytes, r.response_bytes, s.messages, e.config.spin);
            const double secs = std::chrono::duration<double>(bench_clock::now() - t0).count();
            rs.msgs_per_s = secs > 0 ? static_cast<double>(lat.size()) / secs : 0;
            finish_latency(rs, e, lat, calibration, r.s);
            std::snprintf(line, sizeof line, "  %-16s %-11s %-10s %-46.46s p50 %8.1f us  p99 %8.1f us", s.name.c_str(),
                          round_name.c_str(), "floor", e.config.label.c_str(), rs.p50, rs.p99);
            say(line);
            store(e, rs, calibration);
            return;
        }
        const bool kwire = e.client == "kwire";
        if (is_consumer(s)) {
            // Same data for both clients: read from the log start; commit runs join a fresh group
            // (so they start at auto.offset.reset=earliest).
            s.group = "kwire-bench-" + s.name + "-" + e.client + "-" + std::to_string(::getpid()) + "-" +
                      std::to_string(round) + "-" + std::to_string(&e - r.entrants.data());
            auto res = kwire ? run_kwire_consumer(s, env_.bootstrap()) : run_rdkafka_consumer(s, env_.bootstrap());
            rs.msgs_per_s = res.seconds > 0 ? static_cast<double>(res.delivered) / res.seconds : 0;
            rs.mb_per_s = res.seconds > 0 ? static_cast<double>(res.value_bytes) / res.seconds / 1e6 : 0;
            rs.commits = static_cast<double>(res.commits);
            rs.commit_callbacks = static_cast<double>(res.commit_callbacks);
            std::snprintf(line, sizeof line, "  %-16s %-11s %-10s %-46.46s %10.0f msgs/s  consumed %zu/%zu  commits %llu  errors %zu",
                          s.name.c_str(), round_name.c_str(), e.client.c_str(), e.config.label.c_str(), rs.msgs_per_s,
                          res.delivered, s.messages, static_cast<unsigned long long>(res.commits), res.errors);
            say(line);
            if (res.errors || res.delivered != s.messages) {
                std::snprintf(line, sizeof line, "%s: %zu of %zu consumed, %zu errors (first: %s)", round_name.c_str(),
                              res.delivered, s.messages, res.errors, res.first_error.empty() ? "-" : res.first_error.c_str());
                fail(e, s, line);
            }
            if (!calibration) {
                e.delivered += res.delivered;
                e.errors += res.errors;
            }
            store(e, rs, calibration);
            return;
        }

        if (s.kind == scenario_kind::e2e && !broker) {
            // A fresh one-partition topic per run: librdkafka's mock finds a fetch's batch by a
            // linear scan of the partition's batches and keeps only 5 MB of them, so a topic
            // grown by earlier runs would slow (and could truncate under) the later ones.
            s.topic += "-" + std::to_string(++e2e_topics_);
            s.partitions = env_.ensure_topic(s.topic, 1);
        }
        const std::string bootstrap = broker ? broker->bootstrap() : env_.bootstrap();
        auto log_end = [&] {
            return broker ? broker->log_end() : env_.log_end(s.topic, s.partitions);
        };
        const auto before = log_end();
        s.start_offset = before;  // e2e: one partition, so the sum is partition 0's end
        if (s.kind == scenario_kind::txn)  // a fresh id per run: no run fences or waits on another's
            s.transactional_id = "kwire-bench-" + s.name + "-" + e.client + "-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(round) + "-" + std::to_string(&e - r.entrants.data());
        run_result res;
        if (s.kind == scenario_kind::txn)
            res = kwire ? run_kwire_txn(s, bootstrap, payloads_) : run_rdkafka_txn(s, bootstrap, payloads_);
        else if (s.kind == scenario_kind::e2e)
            res = kwire ? run_kwire_e2e(s, bootstrap, payloads_) : run_rdkafka_e2e(s, bootstrap, payloads_);
        else
            res = kwire ? run_kwire(s, bootstrap, payloads_) : run_rdkafka(s, bootstrap, payloads_);
        const auto after = log_end();
        if (broker && (kwire || r.request_bytes == 0)) {
            r.request_bytes = broker->last_request_bytes();
            r.response_bytes = broker->last_response_bytes();
        }
        // librdkafka's mock cluster writes no transaction markers; a real cluster one per
        // partition each transaction wrote to.
        const auto markers = env_.is_mock() || broker ? 0 : static_cast<std::int64_t>(res.markers);
        const auto acknowledged = static_cast<std::int64_t>(res.delivered + res.warmup_delivered) + markers;
        const auto grown = after - before;
        if (const char* dump = std::getenv("KWIRE_BENCH_DUMP")) {
            // Raw latencies in completion order, one file per run (to look at stalls over time).
            const std::string fn = std::string(dump) + "/" + s.name + "-" + e.client + "-" +
                                   std::to_string(&e - r.entrants.data()) + "-" + std::to_string(round) + ".txt";
            if (FILE* f = std::fopen(fn.c_str(), "w")) {
                for (auto v : res.latency_ns) std::fprintf(f, "%llu\n", static_cast<unsigned long long>(v));
                std::fclose(f);
            }
        }
        rs.msgs_per_s = res.seconds > 0 ? static_cast<double>(res.delivered) / res.seconds : 0;
        rs.mb_per_s = rs.msgs_per_s * static_cast<double>(s.size) / 1e6;
        finish_latency(rs, e, res.latency_ns, calibration, r.s);
        if (s.kind == scenario_kind::txn)
            std::snprintf(line, sizeof line,
                          "  %-16s %-11s %-10s %-46.46s %9.0f msgs/s  %7.2f MB/s  commit p50 %8.1f us  p99 %8.1f us  "
                          "transactions %llu  delivered %zu/%zu  errors %zu  log +%lld (markers %lld)",
                          s.name.c_str(), round_name.c_str(), e.client.c_str(), e.config.label.c_str(), rs.msgs_per_s,
                          rs.mb_per_s, rs.p50, rs.p99, static_cast<unsigned long long>(res.transactions),
                          res.delivered, s.messages, res.errors, static_cast<long long>(grown),
                          static_cast<long long>(markers));
        else
            std::snprintf(line, sizeof line,
                          "  %-16s %-11s %-10s %-46.46s %9.0f msgs/s  p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  "
                          "delivered %zu/%zu  errors %zu  log +%lld",
                          s.name.c_str(), round_name.c_str(), e.client.c_str(), e.config.label.c_str(), rs.msgs_per_s,
                          rs.p50, rs.p99, rs.p999, res.delivered, s.messages, res.errors, static_cast<long long>(grown));
        say(line);
        if (res.errors || res.delivered != s.messages || grown != acknowledged) {
            std::snprintf(line, sizeof line,
                          "%s: %zu of %zu delivered, %zu errors (first: %s); log grew by %lld, %lld acknowledged "
                          "incl. %zu warm-up and %lld transaction markers",
                          round_name.c_str(), res.delivered, s.messages, res.errors,
                          res.first_error.empty() ? "-" : res.first_error.c_str(), static_cast<long long>(grown),
                          static_cast<long long>(acknowledged), res.warmup_delivered, static_cast<long long>(markers));
            fail(e, s, line);
        }
        if (!calibration) {
            e.delivered += res.delivered;
            e.errors += res.errors;
            e.log_mismatch += grown > acknowledged ? grown - acknowledged : acknowledged - grown;
        }
        store(e, rs, calibration);
    }

    void finish_latency(round_stats& rs, entrant& e, std::vector<std::uint64_t>& lat, bool calibration,
                        const scenario& s) {
        std::sort(lat.begin(), lat.end());
        rs.p50 = percentile_us(lat, 0.50);
        rs.p99 = percentile_us(lat, 0.99);
        rs.p999 = percentile_us(lat, 0.999);
        // The CDF plots pool every counted round (throughput runs sample only every 16th record).
        if (!calibration && s.kind != scenario_kind::throughput)
            e.latency_ns.insert(e.latency_ns.end(), lat.begin(), lat.end());
    }

    static void store(entrant& e, const round_stats& rs, bool calibration) {
        if (calibration) e.calibration = rs;
        else e.rounds.push_back(rs);
    }

    void fail(entrant& e, const scenario& s, const std::string& what) {
        trouble_ = true;
        e.notes.push_back(what);
        std::cerr << "kwire-bench: " << s.name << " " << e.client << " (" << e.config.label << ") " << what << std::endl;
    }

    void say(const std::string& line) const {
        if (!o_.json) std::cerr << line << std::endl;
    }

    const options& o_;
    cluster_env& env_;
    const std::vector<std::string>& payloads_;
    bool trouble_ = false;
    int e2e_topics_ = 0;
};

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
        auto env = open_cluster(opt);
        say(std::string("kwire-bench: ") +
            (env->is_mock() ? "librdkafka mock cluster (in-process), " : "cluster " + env->bootstrap() + ", ") +
            std::to_string(env->brokers()) + " brokers, " + std::to_string(opt.partitions) +
            " partitions (consumer scenarios: " + std::to_string(opt.consumer_partitions) + "; e2e and instant: 1), " +
            std::to_string(opt.size) + " B values, " + std::to_string(opt.rounds) + " rounds + 1 calibration" +
            rival_version() + ", kwire spins " + std::to_string(opt.spin_us) + " us");
        for (auto& s : scenarios) {
            // instant_broker's topic exists with the broker; e2e runs make a topic each (run_once).
            if (s.instant || s.kind == scenario_kind::e2e) continue;
            const int want = s.partitions;
            s.partitions = env->ensure_topic(s.topic, want);
            if (s.partitions != want)
                std::cerr << "kwire-bench: note: topic " << s.topic << " has " << s.partitions << " partitions, not "
                          << want << std::endl;
            if (is_consumer(s)) {
                const auto t0 = bench_clock::now();
                env->fill(s, s.messages, payloads);
                say("kwire-bench: " + s.topic + " holds " + std::to_string(env->log_size(s.topic, s.partitions)) +
                    " records (filled in " +
                    std::to_string(std::chrono::duration<double>(bench_clock::now() - t0).count()) + " s, untimed)");
            }
        }

        bench_run runner(opt, *env, payloads);
        std::vector<scenario_result> results;
        for (const auto& s : scenarios) {
            results.push_back(runner.run(s));
            for (const auto& j : json_lines(results.back())) std::cout << j << std::endl;
            if (!opt.json) print_scenario(results.back(), stdout);
            std::fflush(stdout);
        }

        bool rejected = false;
        if (!opt.json) std::printf("\n== targets (kwire / librdkafka at its best, same run)\n");
        for (const auto& r : results) {
            rejected = rejected || !r.rejected.empty();
            if (opt.json) continue;
            if (const auto line = target_line(r); !line.empty()) std::printf("%s\n", line.c_str());
            for (const auto& why : r.rejected) std::printf("REJECTED %s\n", why.c_str());
        }
        if (!opt.json)
            std::printf("(medians over %d rounds [min-max]; MB/s counts value bytes, 10^6 B; latency: send -> delivery\n"
                        " report, e2e: send -> poll on the other client, txn-*: commit call -> its completion;\n"
                        " see bench/RESULTS.md)\n",
                        opt.rounds);
        if (!opt.plot_dir.empty()) {
            const auto made = write_plots(opt.plot_dir, results);
            for (const auto& p : made) say("kwire-bench: plot " + p);
        }
        if (runner.trouble()) return 2;
        if (rejected && opt.reject) {
            std::cerr << "kwire-bench: run rejected: the rival ran > 30% slower than in its calibration round "
                         "(machine busy); --no-reject to accept it"
                      << std::endl;
            return 3;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "kwire-bench: " << e.what() << std::endl;
        return 1;
    }
}

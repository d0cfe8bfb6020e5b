// Shared pieces of kwire-bench: what a scenario asks for, what one run measured, and the
// payloads both clients send (the same bytes, in the same order).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace kwire::bench {

using bench_clock = std::chrono::steady_clock;

/// throughput/latency: the producers (latency: awaited sends, one at a time; against the mock
/// cluster, or against instant_broker when `instant`). consume: consumers without a group
/// (assign from the beginning), timed from the first poll to the last record. commit: consumers
/// in a group (subscribe), each record acknowledged, committed per `commit`; timed from the
/// first record. e2e: a producer and a consumer of the same client on two threads, latency from
/// send() on one to the record returned by poll() on the other. txn: a transactional producer,
/// begin -> send txn_records records -> commit, over and over; latency is each commit's (from
/// the commit call to its completion, which includes delivering what the transaction still had
/// in flight).
enum class scenario_kind { throughput, latency, consume, commit, e2e, txn };

/// How one client is set up for a run. kwire runs in one configuration; librdkafka in each of
/// those a tuned user would try (kwire_bench's rival_configs), and kwire is compared with the
/// best of them, per figure. The label is printed beside the figures and goes into the JSON.
struct client_config {
    std::string label;
    bool spin = false;                ///< latency/e2e, librdkafka: poll(rk, 0) + sched_yield() until the report/record
                                      ///< arrives, instead of a blocking poll (kwire: scenario::spin_us)
    bool yield = true;                ///< with `spin`: sched_yield() between polls (false: a bare busy loop)
    bool explicit_partition = false;  ///< latency: produce to partition 0 instead of leaving it to the partitioner
    int linger_ms = -1;               ///< producers: linger.ms (queue.buffering.max.ms); -1: the scenario's
    int fetch_wait_ms = -1;           ///< consumers: fetch.wait.max.ms; -1: 500
    int queued_min_messages = -1;     ///< librdkafka consumer: queued.min.messages; -1: its default
    int fetch_queue_backoff_ms = -1;  ///< librdkafka consumer: fetch.queue.backoff.ms; -1: not set (2.0 lacks it)
    bool relay = false;               ///< the floor pseudo-client: tcp_relay (end to end), not tcp_ping_pong
    bool metrics = false;             ///< kwire producer: a metrics registry configured (--metrics: the cost of metrics)
};

/// Throughput runs time every record's delivery only for one record in this many: a clock read
/// costs ~60 ns on the test machine, and two per record would weigh on both clients' sending
/// threads. The first and the last acknowledgement are always timed.
constexpr std::size_t latency_sample_every = 16;

/// One scenario, with every setting both clients get.
struct scenario {
    std::string name;
    scenario_kind kind = scenario_kind::throughput;
    std::string compression = "none";  ///< none | lz4 | zstd (Kafka's compression.type names)
    int acks = -1;                     ///< 1 or -1 (all)
    bool idempotence = true;
    int linger_ms = 5;
    std::size_t messages = 0;          ///< records measured (warm-up excluded)
    std::size_t size = 100;            ///< value bytes per record (no key, no headers)
    int compression_threads = 0;       ///< kwire only: a thread_pool of this many threads compresses (0: inline)
    int spin_us = 0;                   ///< latency/e2e, kwire: its io_context threads busy-poll this long before blocking
    std::string topic;
    int partitions = 0;                ///< the topic's partition count (known before the run)
    std::string commit;                ///< commit scenarios: interval0 | interval100 | manual1000
    std::string group;                 ///< commit scenarios: the group id (fresh per run)
    bool instant = false;              ///< latency: against instant_broker (the floor scenario), not the cluster
    int e2e_rate = 0;                  ///< e2e: records/s at a steady pace; 0: one at a time (the next after the last arrived)
    std::int64_t start_offset = 0;     ///< e2e: partition 0's log end before the run (where the consumer starts)
    std::size_t txn_records = 0;       ///< txn: records per transaction
    std::string transactional_id;      ///< txn: the producer's transactional.id (fresh per run)
    client_config config;              ///< this run's client configuration
};

/// e2e: untimed records sent one at a time first, so that connections, producer id and the
/// consumer's position are in place before the clock starts.
constexpr std::size_t e2e_warmup = 20;

/// Consumer scenarios only.
inline bool is_consumer(const scenario& s) {
    return s.kind == scenario_kind::consume || s.kind == scenario_kind::commit;
}

/// Per-partition order check for consumers: every partition's records must come in offset order
/// without gaps or repeats, starting at the first offset seen (the log start).
struct offset_checker {
    std::vector<std::int64_t> next;  ///< per partition; -1: nothing seen yet
    std::size_t problems = 0;
    std::string first_problem;
    explicit offset_checker(int partitions) : next(static_cast<std::size_t>(partitions), -1) {}
    void see(std::int32_t partition, std::int64_t offset) {
        if (partition < 0 || static_cast<std::size_t>(partition) >= next.size()) {
            note("record from unexpected partition " + std::to_string(partition));
            return;
        }
        auto& n = next[static_cast<std::size_t>(partition)];
        if (n >= 0 && offset != n)
            note("partition " + std::to_string(partition) + ": offset " + std::to_string(offset) + " after " +
                 std::to_string(n - 1));
        n = offset + 1;
    }
    void note(std::string what) {
        if (problems++ == 0) first_problem = std::move(what);
    }
};

/// What one run of one client measured.
struct run_result {
    double seconds = 0;                ///< first send to last acknowledgement (throughput), or the whole loop (latency)
    std::size_t delivered = 0;         ///< acknowledged without error
    std::size_t errors = 0;            ///< delivery reports with an error
    std::string first_error;           ///< the first error's text, if any
    std::size_t warmup_delivered = 0;  ///< warm-up records acknowledged (one per partition, untimed)
    std::vector<std::uint64_t> latency_ns;  ///< send -> delivery callback (throughput: sampled records)
    std::uint64_t value_bytes = 0;     ///< consumers: value bytes of the records counted
    std::uint64_t commits = 0;         ///< commit scenarios: OffsetCommit requests sent (see RESULTS.md)
    std::uint64_t commit_callbacks = 0;  ///< librdkafka: offset_commit_cb calls (completed commits)
    /// txn: control markers the run's ended transactions leave in the log of a real cluster (one
    /// per partition a transaction wrote to, warm-up included); librdkafka's mock writes none.
    std::uint64_t markers = 0;
    std::uint64_t transactions = 0;    ///< txn: timed transactions committed
};

/// A run that ended before every one of its `messages` records was answered (`answered` were):
/// the others count as errors, and say so if nothing else did first.
inline void count_unanswered(run_result& r, std::size_t messages, std::size_t answered, const std::string& why) {
    const auto missing = messages - std::min(messages, answered);
    if (r.first_error.empty()) r.first_error = why + std::to_string(missing) + " records never acknowledged";
    r.errors += missing;
}

/// `count` distinct JSON-like values of `size` bytes: compressible like real events, but not one
/// repeated string (which would flatter the compressed scenarios).
inline std::vector<std::string> make_payloads(std::size_t size, std::size_t count = 1024) {
    std::vector<std::string> out;
    out.reserve(count);
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    static const char* const names[] = {"orders", "payments", "clicks", "logins", "carts", "refunds"};
    for (std::size_t i = 0; i < count; ++i) {
        std::string s;
        while (s.size() < size) {
            s += "{\"id\":" + std::to_string(next() % 100000000) + ",\"type\":\"" + names[next() % 6] +
                 "\",\"amount\":" + std::to_string(next() % 100000) + ",\"user\":\"u" + std::to_string(next() % 50000) +
                 "\"}";
        }
        s.resize(size);
        out.push_back(std::move(s));
    }
    return out;
}

/// "host:port,host:port" -> its entries.
inline std::vector<std::string> split_bootstrap(const std::string& bootstrap) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= bootstrap.size()) {
        auto end = bootstrap.find(',', start);
        if (end == std::string::npos) end = bootstrap.size();
        if (end > start) out.push_back(bootstrap.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

/// Nearest-rank percentile (q in 0..1) of sorted values, in microseconds. 0 when empty.
inline double percentile_us(const std::vector<std::uint64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

inline std::uint64_t elapsed_ns(bench_clock::time_point from, bench_clock::time_point to) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
    return static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0));
}

/// kwire's run of a scenario against `bootstrap` ("host:port,host:port").
run_result run_kwire(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads);
/// kwire's consumer run of a consume/commit scenario (the data is in the topic already).
run_result run_kwire_consumer(const scenario& s, const std::string& bootstrap);
/// librdkafka's consumer run of the same scenario.
run_result run_rdkafka_consumer(const scenario& s, const std::string& bootstrap);
/// librdkafka's run of the same scenario.
run_result run_rdkafka(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads);
/// Whether the linked librdkafka has this configuration property (false without librdkafka).
bool rival_knows(const char* property);
/// e2e runs: a producer and a consumer of the client on their own threads.
run_result run_kwire_e2e(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads);
run_result run_rdkafka_e2e(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads);
/// txn runs: a transactional producer of the client, transactions of scenario::txn_records.
run_result run_kwire_txn(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads);
run_result run_rdkafka_txn(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads);

/// txn: the partitions the open transaction has written to, to count the control markers its
/// end leaves (run_result::markers). Sized once; nothing allocated per record.
class txn_partitions {
public:
    explicit txn_partitions(int partitions) : seen_(static_cast<std::size_t>(std::max(partitions, 0)), false) {}
    void wrote(std::int32_t partition) {
        if (partition < 0 || static_cast<std::size_t>(partition) >= seen_.size()) return;
        auto seen = seen_[static_cast<std::size_t>(partition)];
        if (!seen) {
            seen = true;
            ++count_;
        }
    }
    /// The transaction ended: how many markers it left; forgets its partitions.
    std::size_t end() {
        const auto n = count_;
        std::fill(seen_.begin(), seen_.end(), false);
        count_ = 0;
        return n;
    }

private:
    std::vector<bool> seen_;
    std::size_t count_ = 0;
};

/// e2e: a record's value carries its index in its first 8 bytes (the rest is the payload).
inline std::string e2e_value(const std::string& payload, std::uint64_t index) {
    std::string v = payload;
    if (v.size() < sizeof index) v.resize(sizeof index);
    std::memcpy(v.data(), &index, sizeof index);
    return v;
}
inline std::uint64_t e2e_index(const std::uint8_t* value, std::size_t size) {
    std::uint64_t index = ~std::uint64_t{0};
    if (size >= sizeof index) std::memcpy(&index, value, sizeof index);
    return index;
}

}  // namespace kwire::bench

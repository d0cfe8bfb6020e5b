// librdkafka's consumer side of kwire-bench: rd_kafka_consume_batch_queue() on the consumer
// queue (rd_kafka_poll_set_consumer), batches of 500 -- librdkafka's cheapest legitimate way to
// take messages (one queue lock per batch instead of one per message with
// rd_kafka_consumer_poll()); set KWIRE_BENCH_RDK_POLL=1 to use rd_kafka_consumer_poll() instead.
//
// consume*: rd_kafka_assign() every partition at RD_KAFKA_OFFSET_BEGINNING (no group), timed
// from the first consume call to the batch holding the last record.
// commit-*: rd_kafka_subscribe() in a fresh group (auto.offset.reset=earliest), timed from the
// first batch to the batch holding the last record. The policies' equivalents:
//   interval0    enable.auto.commit=false, rd_kafka_commit_message(rk, msg, async=1) per message
//   interval100  enable.auto.commit=true, auto.commit.interval.ms=100, enable.auto.offset.store
//                =false, rd_kafka_offset_store(msg->rkt, partition, offset) per message (the ack)
//   manual1000   enable.auto.commit=false, enable.auto.offset.store=false, offset_store per
//                message (the ack), rd_kafka_commit(rk, NULL, async=1) every 1000 messages
// Commit requests: the OffsetCommit request count of librdkafka's statistics (brokers[].req,
// summed over brokers; statistics.interval.ms=100 in commit scenarios only), from the last
// statistics emitted during a 300 ms pause after the last record. offset_commit_cb calls are
// counted too (completed commits).
//
// The run's client_config sets fetch.wait.max.ms, queued.min.messages (how much librdkafka's
// fetcher prefetches) and fetch.queue.backoff.ms (librdkafka 2.1+) as a tuned user would.
#include <librdkafka/rdkafka.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "rdkafka_new.hpp"

namespace kwire::bench {

namespace {

constexpr auto run_limit = std::chrono::minutes(5);
constexpr std::size_t batch_size = 500;

struct rkc_state {
    std::uint64_t commit_callbacks = 0;
    std::uint64_t stats_commits = 0;
    std::size_t stats_seen = 0;
    std::size_t commit_errors = 0;
    std::string first_commit_error;
};

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(std::string("librdkafka config ") + name + "=" + value + ": " + errstr);
}

void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*, void* opaque) {
    auto& st = *static_cast<rkc_state*>(opaque);
    ++st.commit_callbacks;
    // _NO_OFFSET: nothing stored to commit (an auto-commit tick with nothing new) -- not an error.
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        ++st.commit_errors;
        if (st.first_commit_error.empty()) st.first_commit_error = std::string("commit: ") + rd_kafka_err2str(err);
    }
}

/// Sums every "OffsetCommit":N in the statistics JSON (one per broker's "req" object).
int on_stats(rd_kafka_t*, char* json, std::size_t, void* opaque) {
    auto& st = *static_cast<rkc_state*>(opaque);
    static const char key[] = "\"OffsetCommit\":";
    std::uint64_t sum = 0;
    for (const char* p = std::strstr(json, key); p; p = std::strstr(p + 1, key))
        sum += std::strtoull(p + sizeof key - 1, nullptr, 10);
    st.stats_commits = sum;
    ++st.stats_seen;
    return 0;  // librdkafka frees json
}

}  // namespace

run_result run_rdkafka_consumer(const scenario& s, const std::string& bootstrap) {
    run_result result;
    rkc_state st;
    const bool commit = s.kind == scenario_kind::commit;
    const bool use_poll = std::getenv("KWIRE_BENCH_RDK_POLL") != nullptr;

    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "client.id", "rdkafka-bench");
    set(conf, "socket.nagle.disable", "true");
    set(conf, "fetch.min.bytes", "1");
    set(conf, "fetch.wait.max.ms", std::to_string(s.config.fetch_wait_ms >= 0 ? s.config.fetch_wait_ms : 500));
    if (s.config.queued_min_messages > 0) set(conf, "queued.min.messages", std::to_string(s.config.queued_min_messages));
    if (s.config.fetch_queue_backoff_ms >= 0 && rival_knows("fetch.queue.backoff.ms"))
        set(conf, "fetch.queue.backoff.ms", std::to_string(s.config.fetch_queue_backoff_ms));
    set(conf, "max.partition.fetch.bytes", "1048576");
    set(conf, "fetch.max.bytes", "52428800");
    set(conf, "check.crcs", "true");
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "log_level", "4");
    set(conf, "group.id", commit ? s.group : std::string("kwire-bench-unused"));  // a consumer needs one
    if (commit) {
        set(conf, "enable.auto.commit", s.commit == "interval100" ? "true" : "false");
        set(conf, "auto.commit.interval.ms", "100");
        set(conf, "enable.auto.offset.store", "false");
        set(conf, "statistics.interval.ms", "100");
        rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
        rd_kafka_conf_set_stats_cb(conf, on_stats);
    } else {
        set(conf, "enable.auto.commit", "false");
        set(conf, "enable.auto.offset.store", "false");
    }
    rd_kafka_conf_set_opaque(conf, &st);

    rd_kafka_t* rk = rdkafka_new(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);

    auto fail = [&](const std::string& what) {
        ++result.errors;
        if (result.first_error.empty()) result.first_error = what;
    };

    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(s.partitions);
    for (int p = 0; p < s.partitions; ++p)
        rd_kafka_topic_partition_list_add(parts, s.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    offset_checker check(s.partitions);
    std::size_t counted = 0;
    bench_clock::time_point first{};
    bench_clock::time_point last{};
    const auto deadline = bench_clock::now() + run_limit;

    rd_kafka_resp_err_t err;
    if (commit) {
        rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, s.topic.c_str(), RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
    } else {
        err = rd_kafka_assign(rk, parts);
        first = bench_clock::now();
    }
    if (err) fail(std::string(commit ? "subscribe: " : "assign: ") + rd_kafka_err2str(err));

    std::vector<rd_kafka_message_t*> msgs(batch_size);
    while (!err && counted < s.messages && bench_clock::now() < deadline) {
        ssize_t n;
        if (use_poll) {
            msgs[0] = rd_kafka_consumer_poll(rk, 1000);
            n = msgs[0] ? 1 : 0;
        } else {
            n = rd_kafka_consume_batch_queue(q, 1000, msgs.data(), batch_size);
        }
        if (n < 0) {
            fail(std::string("consume_batch_queue: ") + rd_kafka_err2str(rd_kafka_last_error()));
            break;
        }
        if (n == 0) continue;
        if (commit && counted == 0) first = bench_clock::now();
        for (ssize_t i = 0; i < n; ++i) {
            rd_kafka_message_t* m = msgs[static_cast<std::size_t>(i)];
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) fail(std::string("message: ") + rd_kafka_message_errstr(m));
            } else if (counted < s.messages) {
                check.see(m->partition, m->offset);
                if (m->payload) result.value_bytes += m->len;
                if (commit) {
                    if (s.commit == "interval0") {
                        if (const auto e = rd_kafka_commit_message(rk, m, 1)) fail(std::string("commit_message: ") + rd_kafka_err2str(e));
                    } else {
                        if (const auto e = rd_kafka_offset_store(m->rkt, m->partition, m->offset))
                            fail(std::string("offset_store: ") + rd_kafka_err2str(e));
                        if (s.commit == "manual1000" && (counted + 1) % 1000 == 0)
                            if (const auto e = rd_kafka_commit(rk, nullptr, 1); e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
                                fail(std::string("commit: ") + rd_kafka_err2str(e));
                    }
                }
                ++counted;
            }
            rd_kafka_message_destroy(m);
        }
        if (counted == s.messages) last = bench_clock::now();
    }
    if (counted < s.messages) {
        last = bench_clock::now();
        fail("run ended after " + std::to_string(counted) + " of " + std::to_string(s.messages) + " records");
    }
    result.seconds = std::chrono::duration<double>(last - first).count();
    result.delivered = counted;

    if (commit) {
        // Let the statistics catch up (no further offsets are stored or committed by us).
        rd_kafka_topic_partition_list_t* assigned = nullptr;
        if (!rd_kafka_assignment(rk, &assigned) && assigned) {
            rd_kafka_pause_partitions(rk, assigned);
            rd_kafka_topic_partition_list_destroy(assigned);
        }
        const auto until = bench_clock::now() + std::chrono::milliseconds(300);
        const auto seen = st.stats_seen;
        while (bench_clock::now() < until || st.stats_seen < seen + 2) {
            const auto n = rd_kafka_consume_batch_queue(q, 50, msgs.data(), batch_size);
            for (ssize_t i = 0; i < n; ++i) rd_kafka_message_destroy(msgs[static_cast<std::size_t>(i)]);
            if (bench_clock::now() > until + std::chrono::seconds(5)) break;
        }
        result.commits = st.stats_commits;
        result.commit_callbacks = st.commit_callbacks;
        if (st.commit_errors) {
            result.errors += st.commit_errors;
            if (result.first_error.empty()) result.first_error = st.first_commit_error;
        }
    }
    if (check.problems) {
        result.errors += check.problems;
        if (result.first_error.empty()) result.first_error = check.first_problem;
    }

    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_queue_destroy(q);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return result;
}

}  // namespace kwire::bench

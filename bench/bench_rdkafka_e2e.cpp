// librdkafka's end-to-end run: a producer handle on the calling thread and a consumer handle on
// another, the same protocol as kwire's (bench_kwire_e2e.cpp): the value carries the record's
// index, warm-up records go one at a time, then one at a time or at a steady rate.
//
// The client_config: `spin` makes both application threads spin (rd_kafka_poll(rk, 0) and
// rd_kafka_consumer_poll(rk, 0), yielding between polls) rather than block (the producer's thread
// then waits on the consumer's progress with std::atomic::wait, the consumer's in
// rd_kafka_consumer_poll(rk, 100)); fetch.wait.max.ms is the configuration's (0 against the
// mock, 500 against the instant broker), fetch.min.bytes 1, linger.ms 0, and
// fetch.queue.backoff.ms 0 where librdkafka has it.
#include <librdkafka/rdkafka.h>
#include <sched.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "bench_common.hpp"
#include "rdkafka_new.hpp"

namespace kwire::bench {

namespace {

constexpr auto run_limit = std::chrono::minutes(2);
constexpr auto pace_sleep_above = std::chrono::microseconds(200);

std::int64_t now_ns() { return static_cast<std::int64_t>(bench_clock::now().time_since_epoch().count()); }

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(std::string("librdkafka config ") + name + "=" + value + ": " + errstr);
}

struct e2e_state {
    std::vector<std::atomic<std::int64_t>> sent_ns;
    std::atomic<std::size_t> consumed{0};
    std::atomic<bool> stop{false};
    std::size_t acked = 0, failed = 0;  // the producer's thread only
    std::mutex mu;                      // guards errors
    std::vector<std::string> errors;
    explicit e2e_state(std::size_t n) : sent_ns(n) {}
    void note(std::string what) {
        std::lock_guard lock(mu);
        errors.push_back(std::move(what));
    }
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto& st = *static_cast<e2e_state*>(opaque);
    if (m->err) {
        if (st.failed++ == 0) st.note(std::string("send: ") + rd_kafka_err2str(m->err));
    } else {
        ++st.acked;
    }
}

}  // namespace

run_result run_rdkafka_e2e(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads) {
    const std::size_t total = e2e_warmup + s.messages;
    e2e_state st(total);
    std::vector<std::string> values;
    values.reserve(total);
    for (std::size_t i = 0; i < total; ++i) values.push_back(e2e_value(payloads[i % payloads.size()], i));
    const bool spin = s.config.spin;
    const auto deadline = bench_clock::now() + run_limit;

    rd_kafka_conf_t* pc = rd_kafka_conf_new();
    set(pc, "bootstrap.servers", bootstrap);
    set(pc, "client.id", "rdkafka-bench-e2e");
    set(pc, "socket.nagle.disable", "true");
    set(pc, "acks", s.acks == 1 ? "1" : "all");
    set(pc, "enable.idempotence", s.idempotence ? "true" : "false");
    set(pc, "linger.ms", "0");
    set(pc, "log_level", "4");
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    rd_kafka_conf_set_opaque(pc, &st);
    rd_kafka_t* producer = rdkafka_new(RD_KAFKA_PRODUCER, pc);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer, s.topic.c_str(), nullptr);

    rd_kafka_conf_t* cc = rd_kafka_conf_new();
    set(cc, "bootstrap.servers", bootstrap);
    set(cc, "client.id", "rdkafka-bench-e2e");
    set(cc, "socket.nagle.disable", "true");
    set(cc, "group.id", "kwire-bench-unused");  // a consumer needs one; nothing is committed
    set(cc, "enable.auto.commit", "false");
    set(cc, "enable.auto.offset.store", "false");
    set(cc, "fetch.min.bytes", "1");
    set(cc, "fetch.wait.max.ms", std::to_string(s.config.fetch_wait_ms >= 0 ? s.config.fetch_wait_ms : 500));
    if (s.config.fetch_queue_backoff_ms >= 0 && rival_knows("fetch.queue.backoff.ms"))
        set(cc, "fetch.queue.backoff.ms", std::to_string(s.config.fetch_queue_backoff_ms));
    set(cc, "log_level", "4");
    rd_kafka_t* consumer = rdkafka_new(RD_KAFKA_CONSUMER, cc);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, s.topic.c_str(), 0)->offset = s.start_offset;
    if (const auto err = rd_kafka_assign(consumer, parts)) st.note(std::string("assign: ") + rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(parts);

    run_result result;
    std::vector<std::uint64_t> latency;
    latency.reserve(s.messages);
    std::int64_t first = 0, last = 0;
    std::thread consumer_thread([&] {
        while (st.consumed < total && !st.stop && bench_clock::now() < deadline) {
            rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, spin ? 0 : 100);
            if (!m) {
                if (spin) sched_yield();
                continue;
            }
            const auto now = now_ns();
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) st.note(std::string("consume: ") + rd_kafka_message_errstr(m));
            } else {
                const auto index = e2e_index(static_cast<const std::uint8_t*>(m->payload), m->len);
                const auto expected = st.consumed.load();
                if (index != expected) {
                    st.note("record " + std::to_string(index) + " after " + std::to_string(expected) + " (offset " +
                            std::to_string(m->offset) + ")");
                    st.stop = true;
                } else {
                    if (index == e2e_warmup) first = now;
                    if (index >= e2e_warmup)
                        latency.push_back(static_cast<std::uint64_t>(
                            std::max<std::int64_t>(now - st.sent_ns[index].load(std::memory_order_acquire), 0)));
                    last = now;
                    st.consumed.store(expected + 1, std::memory_order_release);
                    if (!spin) st.consumed.notify_one();
                }
            }
            rd_kafka_message_destroy(m);
        }
        st.stop = true;
        st.consumed.notify_one();
    });

    auto produce = [&](std::size_t i) {
        st.sent_ns[i].store(now_ns(), std::memory_order_release);
        while (rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, const_cast<char*>(values[i].data()), values[i].size(),
                                nullptr, 0, nullptr) == -1) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                st.note(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
                st.stop = true;
                return;
            }
            rd_kafka_poll(producer, 1);
        }
    };
    // Waits until the consumer has seen `n` records (or gave up).
    auto await_consumed = [&](std::size_t n) {
        for (auto seen = st.consumed.load(); seen < n && !st.stop; seen = st.consumed.load()) {
            rd_kafka_poll(producer, 0);  // delivery reports
            if (spin) sched_yield();
            else st.consumed.wait(seen);
        }
    };
    bench_clock::time_point paced_from{};
    for (std::size_t i = 0; i < total && !st.stop; ++i) {
        if (i < e2e_warmup || s.e2e_rate == 0) {
            await_consumed(i);
            if (st.stop) break;
            produce(i);
            continue;
        }
        if (i == e2e_warmup) {
            await_consumed(i);
            paced_from = bench_clock::now();
        }
        const auto due = paced_from + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                          static_cast<double>(i - e2e_warmup) * 1e9 / static_cast<double>(s.e2e_rate)));
        for (auto now = bench_clock::now(); now < due && !st.stop; now = bench_clock::now()) {
            rd_kafka_poll(producer, 0);
            if (due - now > pace_sleep_above) std::this_thread::sleep_for(due - now - pace_sleep_above / 2);
            else if (spin) sched_yield();
        }
        produce(i);
    }
    consumer_thread.join();
    rd_kafka_flush(producer, 10000);

    result.latency_ns = std::move(latency);
    result.delivered = st.consumed >= e2e_warmup ? st.consumed - e2e_warmup : 0;
    result.warmup_delivered = std::min(st.acked, e2e_warmup);
    result.seconds = static_cast<double>(last - first) / 1e9;
    if (st.consumed < total) st.note(std::to_string(total - st.consumed) + " records never consumed");
    if (st.acked != total) st.note(std::to_string(total - st.acked) + " sends never acknowledged");
    result.errors = st.errors.size();
    if (!st.errors.empty()) result.first_error = st.errors.front();

    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(producer);
    return result;
}

}  // namespace kwire::bench

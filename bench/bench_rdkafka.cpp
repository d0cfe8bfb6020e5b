// librdkafka's side of kwire-bench: rd_kafka_produce() on a topic handle with a delivery report
// callback, served by rd_kafka_poll() on the calling thread (librdkafka's own threads do the I/O).
//
// Same warm-up as the kwire side (one record per partition, untimed). Throughput: produce in a
// loop, rd_kafka_poll(rk, 0) every 1000 records (and on QUEUE_FULL), then poll until the last
// delivery report; timed from the first produce to the last report, per-record latency for every
// 16th record (latency_sample_every). Latency: produce one record,
// poll until its report arrives, repeat.
//
// The run's client_config says how a tuned user would set it up: the application thread either
// blocks in rd_kafka_poll(rk, 100) or spins on rd_kafka_poll(rk, 0) (yielding between polls, as
// kwire::run_spinning does, or not) until the report arrives; the record goes to partition 0 or to the
// partitioner's choice; linger.ms as the configuration says.
#include <librdkafka/rdkafka.h>
#include <sched.h>

#include <stdexcept>

#include "bench_common.hpp"
#include "rdkafka_new.hpp"

namespace kwire::bench {

namespace {

constexpr std::size_t chunk = 1000;
constexpr auto run_limit = std::chrono::minutes(5);
constexpr std::uintptr_t warmup_tag = std::uintptr_t{1} << (sizeof(std::uintptr_t) * 8 - 1);

struct rk_state {
    const scenario* s = nullptr;
    run_result result;
    std::vector<bench_clock::time_point> send_times;  // throughput: per record
    bench_clock::time_point last_send{};              // latency: the one record in flight
    bench_clock::time_point last_ack{};
    std::size_t warmup_left = 0;
    std::size_t acked = 0;

    void error(const char* when, rd_kafka_resp_err_t err) {
        ++result.errors;
        if (result.first_error.empty()) result.first_error = std::string(when) + rd_kafka_err2str(err);
    }
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto& st = *static_cast<rk_state*>(opaque);
    const auto tag = reinterpret_cast<std::uintptr_t>(m->_private);
    if (tag & warmup_tag) {
        if (m->err) st.error("warm-up: ", m->err);
        else ++st.result.warmup_delivered;
        --st.warmup_left;
        return;
    }
    const bool throughput = st.s->kind == scenario_kind::throughput;
    const bool sampled = !throughput || tag % latency_sample_every == 0, last = st.acked + 1 == st.s->messages;
    const auto now = sampled || last ? bench_clock::now() : bench_clock::time_point{};
    if (m->err) st.error("", m->err);
    else {
        ++st.result.delivered;
        if (sampled)
            st.result.latency_ns.push_back(
                elapsed_ns(throughput ? st.send_times[tag / latency_sample_every] : st.last_send, now));
    }
    ++st.acked;
    if (sampled || last) st.last_ack = now;
}

}  // namespace

bool rival_knows(const char* property) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char value[64];
    std::size_t size = sizeof value;
    const bool known = rd_kafka_conf_get(conf, property, value, &size) != RD_KAFKA_CONF_UNKNOWN;
    rd_kafka_conf_destroy(conf);
    return known;
}

rd_kafka_conf_t* rdkafka_producer_conf(const scenario& s, const std::string& bootstrap) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rdkafka_set(conf, "bootstrap.servers", bootstrap);
    rdkafka_set(conf, "client.id", "rdkafka-bench");
    rdkafka_set(conf, "socket.nagle.disable", "true");
    rdkafka_set(conf, "acks", s.acks == 1 ? "1" : "all");
    rdkafka_set(conf, "enable.idempotence", s.idempotence ? "true" : "false");
    rdkafka_set(conf, "linger.ms", std::to_string(s.config.linger_ms >= 0 ? s.config.linger_ms : s.linger_ms));
    rdkafka_set(conf, "compression.codec", s.compression);
    rdkafka_set(conf, "batch.size", "1000000");
    rdkafka_set(conf, "batch.num.messages", "1000000");  // bytes decide the batch, as in kwire
    rdkafka_set(conf, "message.max.bytes", "1048576");
    rdkafka_set(conf, "max.in.flight.requests.per.connection", "5");
    rdkafka_set(conf, "queue.buffering.max.messages", std::to_string(std::max<std::size_t>(s.messages + 10000, 100000)));
    rdkafka_set(conf, "queue.buffering.max.kbytes", "1048576");
    rdkafka_set(conf, "message.timeout.ms", "120000");
    rdkafka_set(conf, "request.timeout.ms", "30000");
    rdkafka_set(conf, "log_level", "4");
    if (!s.transactional_id.empty()) {
        rdkafka_set(conf, "transactional.id", s.transactional_id);
        // librdkafka wants message.timeout.ms <= transaction.timeout.ms (60 s by default).
        rdkafka_set(conf, "message.timeout.ms", "60000");
    }
    return conf;
}

run_result run_rdkafka(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads) {
    rk_state st;
    st.s = &s;

    rd_kafka_conf_t* conf = rdkafka_producer_conf(s, bootstrap);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);

    rd_kafka_t* rk = rdkafka_new(RD_KAFKA_PRODUCER, conf);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, s.topic.c_str(), nullptr);

    const auto deadline = bench_clock::now() + run_limit;
    auto produce = [&](std::int32_t partition, const std::string& value, std::uintptr_t tag) {
        while (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()), value.size(),
                                nullptr, 0, reinterpret_cast<void*>(tag)) == -1) {
            const auto err = rd_kafka_last_error();
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                st.error("produce: ", err);
                return false;
            }
            rd_kafka_poll(rk, 1);
        }
        return true;
    };
    const bool spin = s.kind == scenario_kind::latency && s.config.spin;
    auto poll_until = [&](auto pred) {
        while (!pred() && bench_clock::now() < deadline) {
            if (!spin) {
                rd_kafka_poll(rk, 100);
                continue;
            }
            rd_kafka_poll(rk, 0);
            if (!pred() && s.config.yield) sched_yield();
        }
        return pred();
    };
    const std::int32_t partition = s.config.explicit_partition ? 0 : RD_KAFKA_PARTITION_UA;

    // Warm-up: one record per partition.
    st.warmup_left = static_cast<std::size_t>(s.partitions);
    for (int p = 0; p < s.partitions; ++p)
        if (!produce(p, payloads[0], warmup_tag | static_cast<std::uintptr_t>(p))) --st.warmup_left;
    bool ok = poll_until([&] { return st.warmup_left == 0; });

    std::size_t produced = 0;
    if (ok) {
        if (s.kind == scenario_kind::throughput) {
            st.send_times.resize(s.messages / latency_sample_every + 1);
            st.result.latency_ns.reserve(st.send_times.size());
            const auto first = bench_clock::now();
            for (std::size_t i = 0; i < s.messages; ++i) {
                if (i % latency_sample_every == 0) st.send_times[i / latency_sample_every] = bench_clock::now();
                if (produce(RD_KAFKA_PARTITION_UA, payloads[i % payloads.size()], i)) ++produced;
                if ((i + 1) % chunk == 0) rd_kafka_poll(rk, 0);
            }
            ok = poll_until([&] { return st.acked == produced; });
            if (produced < s.messages) st.last_ack = bench_clock::now();  // the last report was not the last record
            st.result.seconds = std::chrono::duration<double>(st.last_ack - first).count();
        } else {
            st.result.latency_ns.reserve(s.messages);
            const auto first = bench_clock::now();
            for (std::size_t i = 0; i < s.messages && ok; ++i) {
                st.last_send = bench_clock::now();
                if (!produce(partition, payloads[i % payloads.size()], i)) continue;
                ++produced;
                ok = poll_until([&] { return st.acked == produced; });
            }
            st.result.seconds = std::chrono::duration<double>(st.last_ack - first).count();
        }
    }
    if (!ok) count_unanswered(st.result, s.messages, st.acked, "run timed out: ");
    rdkafka_close(rk, rkt);
    return std::move(st.result);
}

}  // namespace kwire::bench

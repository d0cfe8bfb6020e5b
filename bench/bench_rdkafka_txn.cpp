// librdkafka's side of the txn-* scenarios: its transactional producer (transactional.id set on
// the producer configuration the other producer scenarios use), driven as its documentation
// says: rd_kafka_init_transactions once, then rd_kafka_begin_transaction, rd_kafka_produce, and
// rd_kafka_commit_transaction(timeout), which flushes the transaction's records (serving their
// delivery reports on the calling thread) and then commits.
//
// Same shape as kwire's side (bench_kwire_txn.cpp): untimed init and a warm-up transaction of one
// record per partition; timed from the first begin to the return of the last commit; each
// commit's latency from the call to its return; rd_kafka_poll(rk, 0) every 1000 records inside a
// transaction (and on QUEUE_FULL). A commit that fails with txn_requires_abort is aborted and the
// run goes on; any other failure ends it, and every record not answered counts as an error.
#include <librdkafka/rdkafka.h>

#include "bench_common.hpp"
#include "rdkafka_new.hpp"

namespace kwire::bench {

namespace {

constexpr std::size_t chunk = 1000;
constexpr auto run_limit = std::chrono::minutes(5);
constexpr int call_timeout_ms = 60000;
constexpr std::uintptr_t warmup_tag = std::uintptr_t{1} << (sizeof(std::uintptr_t) * 8 - 1);

struct txn_state {
    run_result result;
    txn_partitions written;
    std::size_t acked = 0;

    explicit txn_state(int partitions) : written(partitions) {}

    void error(const std::string& what) {
        ++result.errors;
        if (result.first_error.empty()) result.first_error = what;
    }
    /// Takes (and destroys) a transactional call's error; true if there was none.
    bool ok(rd_kafka_error_t* e, const char* call) {
        if (!e) return true;
        error(std::string(call) + ": " + rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return false;
    }
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto& st = *static_cast<txn_state*>(opaque);
    const bool warmup = reinterpret_cast<std::uintptr_t>(m->_private) & warmup_tag;
    if (m->err) {
        st.error(std::string(warmup ? "warm-up: " : "") + rd_kafka_err2str(m->err));
    } else {
        st.written.wrote(m->partition);
        if (warmup) ++st.result.warmup_delivered;
        else ++st.result.delivered;
    }
    if (!warmup) ++st.acked;
}

}  // namespace

run_result run_rdkafka_txn(const scenario& s, const std::string& bootstrap, const std::vector<std::string>& payloads) {
    txn_state st(s.partitions);
    rd_kafka_conf_t* conf = rdkafka_producer_conf(s, bootstrap);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &st);
    rd_kafka_t* rk = rdkafka_new(RD_KAFKA_PRODUCER, conf);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, s.topic.c_str(), nullptr);

    auto produce = [&](std::int32_t partition, const std::string& value, std::uintptr_t tag) {
        while (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, const_cast<char*>(value.data()), value.size(),
                                nullptr, 0, reinterpret_cast<void*>(tag)) == -1) {
            const auto err = rd_kafka_last_error();
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                st.error(std::string("produce: ") + rd_kafka_err2str(err));
                return false;
            }
            rd_kafka_poll(rk, 1);
        }
        return true;
    };
    // Commits (aborts when librdkafka says the transaction must be); false: the run cannot go on.
    auto commit = [&](bool timed) {
        const auto t0 = bench_clock::now();
        rd_kafka_error_t* e = rd_kafka_commit_transaction(rk, call_timeout_ms);
        const auto now = bench_clock::now();
        st.result.markers += st.written.end();
        if (!e) {
            if (timed) {
                st.result.latency_ns.push_back(elapsed_ns(t0, now));
                ++st.result.transactions;
            }
            return true;
        }
        const bool abort = rd_kafka_error_txn_requires_abort(e);
        st.ok(e, "commit_transaction");
        return abort && st.ok(rd_kafka_abort_transaction(rk, call_timeout_ms), "abort_transaction");
    };

    bool ok = st.ok(rd_kafka_init_transactions(rk, call_timeout_ms), "init_transactions") &&
              st.ok(rd_kafka_begin_transaction(rk), "begin_transaction");
    for (int p = 0; ok && p < s.partitions; ++p)
        ok = produce(p, payloads[0], warmup_tag | static_cast<std::uintptr_t>(p));
    ok = ok && commit(false);

    std::size_t sent = 0;
    bench_clock::time_point first = bench_clock::now(), last = first;
    const auto deadline = first + run_limit;
    while (ok && sent < s.messages) {
        if (bench_clock::now() > deadline) {
            st.error("run timed out");
            break;
        }
        ok = st.ok(rd_kafka_begin_transaction(rk), "begin_transaction");
        const auto end = std::min(sent + s.txn_records, s.messages);
        for (; ok && sent < end; ++sent) {
            ok = produce(RD_KAFKA_PARTITION_UA, payloads[sent % payloads.size()], sent);
            if ((sent + 1) % chunk == 0) rd_kafka_poll(rk, 0);
        }
        ok = ok && commit(true);
        last = bench_clock::now();
    }
    st.result.seconds = std::chrono::duration<double>(last - first).count();
    if (st.acked < s.messages) count_unanswered(st.result, s.messages, st.acked, "");
    rdkafka_close(rk, rkt);
    return std::move(st.result);
}

}  // namespace kwire::bench

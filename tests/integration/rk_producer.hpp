// librdkafka's producer as an independent peer for the integration tests (transactional when
// given a transactional id): it remembers the offset the broker gave each value.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace kwire::test {

/// A librdkafka producer (transactional when given an id) that remembers the offset the broker
/// gave each value.
class rk_producer {
public:
    rk_producer(const std::string& bootstrap, const std::string& transactional_id = {}) {
        char err[512];
        auto* conf = rd_kafka_conf_new();
        set(conf, "bootstrap.servers", bootstrap);
        set(conf, "linger.ms", "0");
        if (!transactional_id.empty()) set(conf, "transactional.id", transactional_id);
        rd_kafka_conf_set_opaque(conf, this);
        rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
            auto* self = static_cast<rk_producer*>(opaque);
            if (m->err) throw std::runtime_error(std::string("delivery: ") + rd_kafka_err2str(m->err));
            self->offsets[std::string(static_cast<const char*>(m->payload), m->len)] = m->offset;
        });
        rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
        if (!rk_) throw std::runtime_error(err);
        if (!transactional_id.empty()) check(rd_kafka_init_transactions(rk_, 10000), "init_transactions");
    }
    ~rk_producer() { rd_kafka_destroy(rk_); }
    rk_producer(const rk_producer&) = delete;
    rk_producer& operator=(const rk_producer&) = delete;

    /// Produces and waits until every value is acknowledged.
    void send(const std::string& topic, const std::vector<std::string>& values) {
        for (const auto& v : values)
            if (rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                  RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END))
                throw std::runtime_error("producev");
        if (rd_kafka_flush(rk_, 10000)) throw std::runtime_error("flush");
    }
    void begin() { check(rd_kafka_begin_transaction(rk_), "begin_transaction"); }
    void commit() { check(rd_kafka_commit_transaction(rk_, 10000), "commit_transaction"); }
    void abort() { check(rd_kafka_abort_transaction(rk_, 10000), "abort_transaction"); }

    std::map<std::string, std::int64_t> offsets;  // value -> offset

private:
    static void set(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
        char err[512];
        if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) throw std::runtime_error(err);
    }
    static void check(rd_kafka_error_t* e, const char* what) {
        if (!e) return;
        const std::string msg = std::string(what) + ": " + rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
        throw std::runtime_error(msg);
    }
    rd_kafka_t* rk_ = nullptr;
};

}  // namespace kwire::test

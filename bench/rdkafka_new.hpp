// librdkafka handles for the bench's rival side: rd_kafka_new, or an exception saying why (the
// configuration is destroyed either way, as rd_kafka_new leaves it to the caller on failure),
// and the producer configuration the producer scenarios share.
#pragma once

#include <librdkafka/rdkafka.h>

#include <stdexcept>
#include <string>

#include "bench_common.hpp"

namespace kwire::bench {

/// Ends a producer run: delivers what is left (up to 10 s), then destroys the handles.
inline void rdkafka_close(rd_kafka_t* rk, rd_kafka_topic_t* rkt) {
    rd_kafka_flush(rk, 10000);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}

/// rd_kafka_conf_set, or an exception saying which setting was refused.
inline void rdkafka_set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(std::string("librdkafka config ") + name + "=" + value + ": " + errstr);
}

/// The producer settings of the scenario and its client_config, as kwire's side gets them
/// (bench_rdkafka.cpp). The caller sets its callbacks and creates the handle.
rd_kafka_conf_t* rdkafka_producer_conf(const scenario& s, const std::string& bootstrap);

inline rd_kafka_t* rdkafka_new(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("rd_kafka_new: ") + errstr);
    }
    return rk;
}

}  // namespace kwire::bench

// librdkafka handles for the bench's rival side: rd_kafka_new, or an exception saying why (the
// configuration is destroyed either way, as rd_kafka_new leaves it to the caller on failure).
#pragma once

#include <librdkafka/rdkafka.h>

#include <stdexcept>
#include <string>

namespace kwire::bench {

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

// kwire-bench's cluster with librdkafka: its in-process mock cluster, or a real one named with
// -b; plus a librdkafka handle for what the bench checks around every run (watermarks, so that
// lost or duplicated records show up) and for filling the consumer scenarios' topics. Header-only:
// kwire_bench.cpp is its one user, and kwire-bench-kwire uses cluster_kwire.hpp instead.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "rdkafka_new.hpp"

namespace kwire::bench {

inline void cluster_conf_set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        throw std::runtime_error(std::string("librdkafka config ") + name + ": " + errstr);
}

inline rd_kafka_t* cluster_handle(const std::string& bootstrap) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (!bootstrap.empty()) cluster_conf_set(conf, "bootstrap.servers", bootstrap);
    cluster_conf_set(conf, "client.id", "kwire-bench-admin");
    cluster_conf_set(conf, "log_level", "3");
    rd_kafka_t* rk = rdkafka_new(RD_KAFKA_PRODUCER, conf);
    return rk;
}

class rdkafka_cluster {
public:
    /// `bootstrap` empty: librdkafka's mock cluster of `mock_brokers` brokers, in-process.
    rdkafka_cluster(const std::string& bootstrap, int mock_brokers) {
        if (bootstrap.empty()) {
            host_ = cluster_handle("");
            mock_ = rd_kafka_mock_cluster_new(host_, mock_brokers);
            if (!mock_) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
            bootstrap_ = rd_kafka_mock_cluster_bootstraps(mock_);
            brokers_ = mock_brokers;
        } else {
            bootstrap_ = bootstrap;
        }
        checker_ = cluster_handle(bootstrap_);
        if (!mock_) {
            const rd_kafka_metadata_t* md = nullptr;
            const auto err = rd_kafka_metadata(checker_, 0, nullptr, &md, 10000);
            if (err) throw std::runtime_error(std::string("metadata: ") + rd_kafka_err2str(err));
            brokers_ = md->broker_cnt;
            rd_kafka_metadata_destroy(md);
        }
    }
    ~rdkafka_cluster() {
        if (checker_) rd_kafka_destroy(checker_);
        if (mock_) rd_kafka_mock_cluster_destroy(mock_);
        if (host_) rd_kafka_destroy(host_);
    }
    rdkafka_cluster(const rdkafka_cluster&) = delete;
    rdkafka_cluster& operator=(const rdkafka_cluster&) = delete;

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
        cluster_conf_set(conf, "bootstrap.servers", bootstrap_);
        cluster_conf_set(conf, "client.id", "kwire-bench-fill");
        cluster_conf_set(conf, "log_level", "3");
        cluster_conf_set(conf, "acks", "all");
        cluster_conf_set(conf, "linger.ms", "5");
        cluster_conf_set(conf, "batch.size", "1000000");
        cluster_conf_set(conf, "batch.num.messages", "1000000");
        cluster_conf_set(conf, "compression.codec", s.compression);
        cluster_conf_set(conf, "queue.buffering.max.messages", std::to_string(std::max<std::size_t>(missing + 1000, 100000)));
        cluster_conf_set(conf, "queue.buffering.max.kbytes", "1048576");
        rd_kafka_t* rk = rdkafka_new(RD_KAFKA_PRODUCER, conf);
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

inline std::string rival_version() { return std::string(", librdkafka ") + rd_kafka_version_str(); }

}  // namespace kwire::bench

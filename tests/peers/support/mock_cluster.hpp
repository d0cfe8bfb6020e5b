// RAII wrapper over librdkafka's in-process mock cluster (rdkafka_mock.h): real TCP listeners on
// 127.0.0.1, speaking librdkafka's own (independent) implementation of the broker side of the
// protocol. Tests only; kwire itself never links librdkafka.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace kwire::peers {

class mock_cluster {
public:
    /// Starts `brokers` mock brokers (ids 1..brokers). Throws std::runtime_error on failure.
    explicit mock_cluster(int brokers = 3);
    ~mock_cluster();
    mock_cluster(const mock_cluster&) = delete;
    mock_cluster& operator=(const mock_cluster&) = delete;

    /// "127.0.0.1:port,127.0.0.1:port,...", broker 1 first.
    std::string bootstrap() const;
    /// The individual "host:port" entries of bootstrap().
    std::vector<std::string> broker_addresses() const;
    int broker_count() const noexcept { return brokers_; }

    /// rd_kafka_mock_topic_create. Throws on error.
    void create_topic(const std::string& name, int partitions, int replication = 1);

    // --- fault injection (thin pass-throughs; each throws std::runtime_error on an error) ---

    // Calls that librdkafka runs on the mock cluster's thread return once it has run them.

    /// The next requests with `api_key` fail with these error codes, in order (cluster-wide).
    /// An error of -195 (RD_KAFKA_RESP_ERR__TRANSPORT) makes the broker drop the connection.
    void push_request_errors(std::int16_t api_key, std::initializer_list<std::int16_t> errors);
    void push_request_errors(std::int16_t api_key, const std::vector<std::int16_t>& errors);
    /// Per-broker: (error, rtt_ms) pairs.
    void push_broker_request_errors(std::int32_t broker_id, std::int16_t api_key,
                                    const std::vector<std::pair<std::int16_t, int>>& errors_rtt);
    void clear_request_errors(std::int16_t api_key);
    void broker_set_down(std::int32_t broker_id);
    void broker_set_up(std::int32_t broker_id);
    void broker_set_rtt(std::int32_t broker_id, int rtt_ms);
    void broker_set_rack(std::int32_t broker_id, const std::string& rack);
    void partition_set_leader(const std::string& topic, std::int32_t partition, std::int32_t broker_id);
    void partition_set_follower(const std::string& topic, std::int32_t partition, std::int32_t broker_id);
    /// key_type is "group" or "transaction".
    void coordinator_set(const std::string& key_type, const std::string& key, std::int32_t broker_id);
    void topic_set_error(const std::string& topic, std::int16_t error);
    /// Restricts the versions the brokers advertise for an API (-1,-1 disables it).
    void set_api_version(std::int16_t api_key, std::int16_t min_version, std::int16_t max_version);

    rd_kafka_mock_cluster_s* handle() noexcept { return mcluster_; }

private:
    /// Runs a call that librdkafka executes on the mock cluster's thread, keeping that thread
    /// awake until it is done (see mock_cluster.cpp).
    template <class Fn>
    auto command(Fn&& fn);

    rd_kafka_s* rk_ = nullptr;
    rd_kafka_mock_cluster_s* mcluster_ = nullptr;
    int brokers_ = 0;
};

/// Splits "host:port" (the last ':' separates). Throws std::invalid_argument when malformed.
std::pair<std::string, std::uint16_t> split_host_port(const std::string& address);

}  // namespace kwire::peers

#include "mock_cluster.hpp"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace kwire::peers {

namespace {

void check(rd_kafka_resp_err_t err, const char* what) {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error(std::string("mock_cluster: ") + what + ": " + rd_kafka_err2str(err));
}

/// Opens and closes a TCP connection to addr (errors ignored).
void poke(const std::string& address) {
    try {
        const auto [host, port] = split_host_port(address);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return;
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return;
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
        ::close(fd);
    } catch (const std::exception&) {
    }
}

}  // namespace

/// librdkafka's mock cluster runs most fault-injection calls as commands on its own thread,
/// which picks them up only when its poll loop wakes: up to a second later (librdkafka 2.0.2).
/// Socket activity wakes it, so while a command is pending a helper thread keeps connecting to
/// the brokers. This turns a 0-1 s delay per call into a few milliseconds.
template <class Fn>
auto mock_cluster_run_command(const std::vector<std::string>& brokers, Fn&& fn) {
    std::atomic<bool> done{false};
    std::thread waker([&] {
        while (!done.load()) {
            for (const auto& b : brokers) poke(b);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    struct joiner {
        std::atomic<bool>& done;
        std::thread& t;
        ~joiner() {
            done = true;
            t.join();
        }
    } j{done, waker};
    return fn();
}

std::pair<std::string, std::uint16_t> split_host_port(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 >= address.size())
        throw std::invalid_argument("not host:port: " + address);
    auto host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned long port = 0;
    for (std::size_t i = colon + 1; i < address.size(); ++i) {
        const char c = address[i];
        if (c < '0' || c > '9') throw std::invalid_argument("bad port in " + address);
        port = port * 10 + static_cast<unsigned long>(c - '0');
        if (port > 65535) throw std::invalid_argument("bad port in " + address);
    }
    if (port == 0) throw std::invalid_argument("bad port in " + address);
    return {host, static_cast<std::uint16_t>(port)};
}

template <class Fn>
auto mock_cluster::command(Fn&& fn) {
    return mock_cluster_run_command(broker_addresses(), std::forward<Fn>(fn));
}

mock_cluster::mock_cluster(int brokers) : brokers_(brokers) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The handle only hosts the mock cluster's thread; keep it quiet.
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk_) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error(std::string("mock_cluster: rd_kafka_new: ") + errstr);
    }
    mcluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (!mcluster_) {
        rd_kafka_destroy(rk_);
        throw std::runtime_error("mock_cluster: rd_kafka_mock_cluster_new failed");
    }
}

mock_cluster::~mock_cluster() {
    if (mcluster_) rd_kafka_mock_cluster_destroy(mcluster_);
    if (rk_) rd_kafka_destroy(rk_);
}

std::string mock_cluster::bootstrap() const { return rd_kafka_mock_cluster_bootstraps(mcluster_); }

std::vector<std::string> mock_cluster::broker_addresses() const {
    std::vector<std::string> out;
    const std::string all = bootstrap();
    std::size_t start = 0;
    while (start < all.size()) {
        auto end = all.find(',', start);
        if (end == std::string::npos) end = all.size();
        if (end > start) out.push_back(all.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

void mock_cluster::create_topic(const std::string& name, int partitions, int replication) {
    check(rd_kafka_mock_topic_create(mcluster_, name.c_str(), partitions, replication), "topic_create");
}

void mock_cluster::push_request_errors(std::int16_t api_key, std::initializer_list<std::int16_t> errors) {
    push_request_errors(api_key, std::vector<std::int16_t>(errors));
}

void mock_cluster::push_request_errors(std::int16_t api_key, const std::vector<std::int16_t>& errors) {
    std::vector<rd_kafka_resp_err_t> errs;
    for (auto e : errors) errs.push_back(static_cast<rd_kafka_resp_err_t>(e));
    rd_kafka_mock_push_request_errors_array(mcluster_, api_key, errs.size(), errs.data());
}

void mock_cluster::push_broker_request_errors(std::int32_t broker_id, std::int16_t api_key,
                                              const std::vector<std::pair<std::int16_t, int>>& errors_rtt) {
    // The C API is variadic only; push one tuple at a time (same effect, in order).
    for (const auto& [err, rtt] : errors_rtt)
        check(command([&] {
                  return rd_kafka_mock_broker_push_request_error_rtts(mcluster_, broker_id, api_key, 1,
                                                                      static_cast<rd_kafka_resp_err_t>(err), rtt);
              }),
              "broker_push_request_error_rtts");
}

void mock_cluster::clear_request_errors(std::int16_t api_key) {
    rd_kafka_mock_clear_request_errors(mcluster_, api_key);
}

void mock_cluster::broker_set_down(std::int32_t broker_id) {
    check(command([&] { return rd_kafka_mock_broker_set_down(mcluster_, broker_id); }), "broker_set_down");
}

void mock_cluster::broker_set_up(std::int32_t broker_id) {
    check(command([&] { return rd_kafka_mock_broker_set_up(mcluster_, broker_id); }), "broker_set_up");
}

void mock_cluster::broker_set_rtt(std::int32_t broker_id, int rtt_ms) {
    check(command([&] { return rd_kafka_mock_broker_set_rtt(mcluster_, broker_id, rtt_ms); }), "broker_set_rtt");
}

void mock_cluster::broker_set_rack(std::int32_t broker_id, const std::string& rack) {
    check(command([&] { return rd_kafka_mock_broker_set_rack(mcluster_, broker_id, rack.c_str()); }),
          "broker_set_rack");
}

void mock_cluster::partition_set_leader(const std::string& topic, std::int32_t partition,
                                        std::int32_t broker_id) {
    check(command([&] { return rd_kafka_mock_partition_set_leader(mcluster_, topic.c_str(), partition, broker_id); }),
          "partition_set_leader");
}

void mock_cluster::partition_set_follower(const std::string& topic, std::int32_t partition,
                                          std::int32_t broker_id) {
    check(command([&] { return rd_kafka_mock_partition_set_follower(mcluster_, topic.c_str(), partition, broker_id); }),
          "partition_set_follower");
}

void mock_cluster::coordinator_set(const std::string& key_type, const std::string& key,
                                   std::int32_t broker_id) {
    check(command([&] { return rd_kafka_mock_coordinator_set(mcluster_, key_type.c_str(), key.c_str(), broker_id); }),
          "coordinator_set");
}

void mock_cluster::topic_set_error(const std::string& topic, std::int16_t error) {
    rd_kafka_mock_topic_set_error(mcluster_, topic.c_str(), static_cast<rd_kafka_resp_err_t>(error));
}

void mock_cluster::set_api_version(std::int16_t api_key, std::int16_t min_version, std::int16_t max_version) {
    check(command([&] { return rd_kafka_mock_set_apiversion(mcluster_, api_key, min_version, max_version); }),
          "set_apiversion");
}

}  // namespace kwire::peers

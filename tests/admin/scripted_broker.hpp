// A scripted Kafka cluster for the admin tests, for the APIs librdkafka's mock cluster does not
// speak (CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs, IncrementalAlterConfigs,
// DeleteRecords, ListGroups, DescribeGroups, DeleteGroups, DescribeCluster in librdkafka 2.0.2).
// Each broker is a real TCP listener on 127.0.0.1 served by plain blocking threads; requests
// are decoded with kwire's codecs and answered by the test's script. ApiVersions and Metadata have
// built-in answers (the brokers, the controller, the scripted topics), which a script may replace.
//
// This peer checks kwire's routing, retries and per-item handling, not its codecs against an
// independent implementation: the message codecs themselves are covered by the golden-vector,
// round-trip and tshark tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kwire/protocol/frame.hpp"

namespace kwire::test {

namespace kp = kwire::protocol;

struct scripted_request {
    int node = 0;             ///< the broker that received it
    std::int16_t api_key = 0;
    std::int16_t version = 0;
    std::int32_t correlation_id = 0;
    std::vector<std::uint8_t> frame;  ///< the request frame without its size

    template <class Req> Req decode() const {
        Req r;
        if (auto ec = kp::decode_request(kp::bytes_view(frame), r)) throw std::runtime_error("decode: " + ec.message());
        return r;
    }
};

class scripted_cluster {
public:
    /// Returns the response frame (with its size), nullopt to close the connection, or an empty
    /// frame to answer nothing and read the next request (a Produce with acks=0). A script runs
    /// on the connection's own thread and may block; only that connection waits.
    using script = std::function<std::optional<std::vector<std::uint8_t>>(const scripted_request&)>;

    explicit scripted_cluster(int brokers = 3);
    ~scripted_cluster();

    std::string bootstrap() const;  ///< "127.0.0.1:p1,127.0.0.1:p2,..."
    int controller = 1;
    /// Topics the built-in Metadata answer lists: name -> partitions (leader of p: p % n + 1).
    std::map<std::string, int> topics;

    /// Whether the built-in Metadata answer gives topic ids (topic_id_of) from v10 on.
    bool topic_ids = false;
    /// The id the built-in Metadata answer gives a topic: derived from its name.
    static kp::uuid topic_id_of(const std::string& name);
    /// The topics of the built-in Metadata answer (safe from a script).
    std::map<std::string, int> topics_snapshot() const {
        std::lock_guard lock(mutex_);
        return topics;
    }

    /// Adds a topic to the built-in Metadata answer (safe from a script).
    void add_topic(const std::string& name, int partitions) {
        std::lock_guard lock(mutex_);
        topics[name] = partitions;
    }

    /// Moves a partition's leadership to broker `node` (the built-in Metadata answer and
    /// scripted_log's Fetch and ListOffsets follow); safe from any thread.
    void set_leader(const std::string& topic, int partition, int node);
    /// A partition's leader: as set_leader moved it, else broker p % n + 1.
    int leader_of(const std::string& topic, int partition) const;

    /// Scripts an API (replaces the built-in answer for ApiVersions and Metadata).
    void on(std::int16_t api_key, script s);
    /// Leaves an API out of the ApiVersions answer (as an older broker would).
    void without_api(std::int16_t api_key);
    /// Adds an API to the built-in ApiVersions answer (or changes its range).
    void with_api(std::int16_t api_key, std::int16_t min_version, std::int16_t max_version);
    /// A finalized feature in the built-in ApiVersions answer (v3+), e.g. transaction.version 2.
    void with_feature(const std::string& name, std::int16_t level);
    /// A FindCoordinator answer naming broker `node` as every key's coordinator, after answering
    /// with each of `errors` first (COORDINATOR_NOT_AVAILABLE, ...).
    script coordinator_is(int node, std::vector<std::int16_t> errors = {}) const;
    /// The brokers' "host:port" addresses, broker 1 first.
    std::vector<std::string> addresses() const;

    /// Every request received so far, in order.
    std::vector<scripted_request> requests() const;
    std::vector<scripted_request> requests(std::int16_t api_key) const;

    template <class Resp> static std::vector<std::uint8_t> respond(const scripted_request& req, const Resp& resp) {
        std::vector<std::uint8_t> out;
        if (auto ec = kp::encode_response(out, resp, req.version, req.correlation_id))
            throw std::runtime_error("encode_response: " + ec.message());
        return out;
    }

private:
    void accept_loop(int index);
    void serve(int node, int fd);
    std::optional<std::vector<std::uint8_t>> answer(const scripted_request& req);

    mutable std::mutex mutex_;
    std::vector<int> listeners_;
    std::vector<std::uint16_t> ports_;
    std::vector<int> connections_;
    std::vector<std::thread> threads_;
    std::map<std::int16_t, script> scripts_;
    std::vector<std::int16_t> hidden_;
    std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>> extra_apis_;
    std::map<std::string, std::int16_t> features_;
    std::map<std::pair<std::string, int>, int> leaders_;  // set_leader's moves
    std::vector<scripted_request> log_;
    std::atomic<bool> stopping_{false};
};

}  // namespace kwire::test

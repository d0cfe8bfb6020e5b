// instant_broker: the smallest Kafka broker that both clients accept, so that an awaited send
// against it measures the client and the network path and (almost) nothing of a broker.
//
// One node on 127.0.0.1, one topic of one partition; a thread per connection, blocking reads
// (a broker that sleeps between requests, as real ones do). It answers ApiVersions, Metadata and
// InitProducerId (encoded with kwire's protocol layer) and each Produce at once from a response
// prepared per version, patching in only the correlation id and the base offset: no decoding, no
// log, no replication. Anything else closes the connection with a message on stderr.
//
// It counts the Produce requests it answered (the latency runs send one record per request, so
// this is the record count the bench checks the acknowledgements against) and remembers the size
// of the last Produce request and response, which the TCP floor (floor.hpp) then replays.
//
// With `serve_consumers` (the instant-e2e scenario) it also keeps the records (instant_log.hpp)
// and answers Fetch, waking a waiting Fetch as soon as a Produce brings a record, without fetch
// sessions (session id 0: every Fetch is a full one); FindCoordinator gets "not available" (a
// librdkafka consumer with a group.id asks even when it only assigns). Produce is then decoded.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "instant_log.hpp"

namespace kwire::bench {

class instant_broker {
public:
    explicit instant_broker(std::string topic, bool serve_consumers = false);
    ~instant_broker();
    instant_broker(const instant_broker&) = delete;
    instant_broker& operator=(const instant_broker&) = delete;

    std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
    const std::string& topic() const { return topic_; }
    std::uint64_t produce_requests() const { return produce_requests_.load(); }
    /// Records taken: the log's end with `serve_consumers`, else the Produce requests answered.
    std::int64_t log_end() {
        return log_ ? log_->end() : static_cast<std::int64_t>(produce_requests_.load());
    }
    std::size_t last_request_bytes() const { return last_request_bytes_.load(); }
    std::size_t last_response_bytes() const { return last_response_bytes_.load(); }

private:
    void accept_loop();
    void serve(int fd);
    bool answer(int fd, std::vector<std::uint8_t>& frame);
    bool answer_fetch(int fd, const std::vector<std::uint8_t>& frame, std::int16_t version, std::int32_t correlation);
    std::int64_t append(const std::vector<std::uint8_t>& frame);

    std::string topic_;
    std::unique_ptr<instant_log> log_;  // with serve_consumers only
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> produce_requests_{0};
    std::atomic<std::int64_t> next_offset_{0};
    std::atomic<std::size_t> last_request_bytes_{0};
    std::atomic<std::size_t> last_response_bytes_{0};
    std::thread acceptor_;
    std::mutex mu_;  // guards the connections: fds_ and servers_
    std::vector<int> fds_;
    std::vector<std::thread> servers_;
    // Written by the constructor only, read by every server thread.
    std::map<std::int16_t, std::vector<std::uint8_t>> prepared_;  // Produce version -> frame
    std::map<std::int16_t, std::size_t> offset_at_;               // Produce version -> base offset's position
};

}  // namespace kwire::bench

// A Kafka-aware TCP proxy for fault tests: one listening port per upstream broker, a thread with
// poll() forwarding whole frames both ways, and commands to kill connections.
//
// The client bootstraps from addresses(); Metadata responses passing through are rewritten so
// that every broker they advertise is one of the proxy's own ports (decoded and re-encoded with
// kwire's codecs), so every connection the client makes -- bootstrap, leaders, reconnects --
// goes through the proxy. Other responses pass through byte for byte.
//
// Faults:
//  - cut_all(): closes every proxied connection now, on both sides. Requests the broker has
//    already read may or may not have been processed: their outcome is unknown to the client.
//  - cut_after(api_key, n): the next n requests with that api key are forwarded to the broker;
//    on each one's connection, nothing further from the client is forwarded, the proxy waits
//    until the broker has answered that request (so it certainly processed it), drops the answer
//    and closes both sides. Responses to requests sent earlier on the connection are delivered.
//    That is the "written, acknowledgement lost" case a producer must treat as ambiguous.
//
// KWIRE_PROXY_TRACE=1 in the environment prints one line per frame on stderr (time, broker,
// direction, api key, correlation id) and the partition leaders of every Metadata response.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kwire::test {

class kafka_proxy {
public:
    /// Listens on 127.0.0.1 (an ephemeral port) for each "host:port" upstream. Throws
    /// std::runtime_error when a socket cannot be set up.
    explicit kafka_proxy(const std::vector<std::string>& upstreams);
    ~kafka_proxy();
    kafka_proxy(const kafka_proxy&) = delete;
    kafka_proxy& operator=(const kafka_proxy&) = delete;

    /// "127.0.0.1:port" per upstream, in the order given.
    std::vector<std::string> addresses() const;

    /// Closes every proxied connection now (both sides). Returns once the proxy thread did it.
    void cut_all();
    /// Arms the next `count` requests with `api_key` as cut points (see above). Cumulative.
    void cut_after(std::int16_t api_key, int count = 1);

    /// Connections cut by cut_after() after the broker answered (the answer dropped).
    int answered_cuts() const noexcept { return answered_cuts_.load(); }
    /// Connections closed by cut_all().
    int forced_cuts() const noexcept { return forced_cuts_.load(); }
    /// Connections accepted so far.
    int accepted() const noexcept { return accepted_.load(); }
    /// Metadata responses rewritten so far, and ones that could not be decoded (passed through).
    int metadata_rewritten() const noexcept { return metadata_rewritten_.load(); }
    int metadata_undecodable() const noexcept { return metadata_undecodable_.load(); }
    /// Requests with this api key the proxy has forwarded to a broker so far.
    int requests(std::int16_t api_key) const noexcept {
        return api_key >= 0 && static_cast<std::size_t>(api_key) < requests_.size()
                   ? requests_[static_cast<std::size_t>(api_key)].load()
                   : 0;
    }

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::atomic<int> answered_cuts_{0};
    std::atomic<int> forced_cuts_{0};
    std::atomic<int> accepted_{0};
    std::atomic<int> metadata_rewritten_{0};
    std::atomic<int> metadata_undecodable_{0};
    std::array<std::atomic<int>, 128> requests_{};
};

}  // namespace kwire::test

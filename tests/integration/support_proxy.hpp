// A Kafka-aware TCP proxy for fault tests: one listening port per upstream broker, a thread with
// poll() forwarding whole frames both ways, and commands to kill connections.
//
// The client bootstraps from addresses(); Metadata and FindCoordinator responses passing through
// are rewritten so that every broker they advertise is one of the proxy's own ports (decoded and
// re-encoded with kwire's codecs; tests/chaos/support_address_rewrite.hpp, shared with the chaos
// proxy), so every connection the client makes -- bootstrap, leaders, coordinators, reconnects --
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
// SASL gateway (require_sasl()): the proxy then plays the broker side of SASL as a real broker
// does. ApiVersions responses gain SaslHandshake v0-1 and SaslAuthenticate v0-2; SaslHandshake
// and SaslAuthenticate are answered by the proxy through a sasl_authority (e.g. Cyrus SASL);
// any other request before authentication closes the connection; with a session lifetime set,
// SaslAuthenticate responses carry it (KIP-368) and a request arriving after it expired closes
// the connection. SASL requests arriving while other requests are in flight are counted as
// interleaved (the client should let them finish first).
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

/// One SASL exchange on the broker side.
class sasl_server_session {
public:
    enum class result { more, done, failed };
    virtual ~sasl_server_session() = default;
    /// Consumes the client's message, fills `reply` (the server's next message, possibly empty).
    virtual result step(const std::vector<std::uint8_t>& message, std::vector<std::uint8_t>& reply) = 0;
};

/// The broker side of SASL: which mechanisms are enabled, and a session per exchange.
class sasl_authority {
public:
    virtual ~sasl_authority() = default;
    virtual std::vector<std::string> mechanisms() const = 0;
    /// nullptr: the mechanism is not enabled.
    virtual std::unique_ptr<sasl_server_session> start(const std::string& mechanism) = 0;
};

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
    /// Turns the proxy into a SASL gateway (see above). `session_lifetime_ms` 0: no expiry.
    /// Call before any client connects.
    void require_sasl(std::shared_ptr<sasl_authority> authority, std::int64_t session_lifetime_ms = 0);
    /// Successful SASL exchanges, failed ones, connections closed because their session had
    /// expired, and SASL requests that arrived while other requests were in flight.
    int sasl_successes() const noexcept { return sasl_successes_.load(); }
    int sasl_failures() const noexcept { return sasl_failures_.load(); }
    int sasl_expired_closes() const noexcept { return sasl_expired_closes_.load(); }
    int sasl_interleaved() const noexcept { return sasl_interleaved_.load(); }
    /// Requests other than ApiVersions/SASL that reached the proxy before authentication.
    int sasl_unauthenticated_requests() const noexcept { return sasl_unauthenticated_.load(); }

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
    std::atomic<int> sasl_successes_{0};
    std::atomic<int> sasl_failures_{0};
    std::atomic<int> sasl_expired_closes_{0};
    std::atomic<int> sasl_interleaved_{0};
    std::atomic<int> sasl_unauthenticated_{0};
    std::array<std::atomic<int>, 128> requests_{};
};

}  // namespace kwire::test

// A plain blocking TCP client for the peer tests: sends one kwire-encoded request, reads the
// size-prefixed response, checks its correlation id and decodes it with kwire's framing. No
// pipelining, no reconnects: the simplest thing that can talk to a real peer, so that a failure
// points at the codecs and not at a client.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kwire/protocol/frame.hpp"

namespace kwire::peers {

/// A request that went wrong at the transport or framing level (not a Kafka error code).
struct connection_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class blocking_connection {
public:
    /// Connects to "host:port" (IPv4/IPv6 or a name). Throws connection_error.
    explicit blocking_connection(const std::string& address,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                 std::string client_id = "kwire-peer-test");
    ~blocking_connection();
    blocking_connection(blocking_connection&& other) noexcept;
    blocking_connection& operator=(blocking_connection&& other) noexcept;
    blocking_connection(const blocking_connection&) = delete;
    blocking_connection& operator=(const blocking_connection&) = delete;

    /// Encodes `req` at `version`, sends it, reads and decodes the response. Throws
    /// connection_error on a transport error, a correlation-id mismatch or a decode error
    /// (including trailing bytes). The response's own error codes are left to the caller.
    template <class Req>
    typename Req::response_type call(const Req& req, std::int16_t version) {
        std::vector<std::uint8_t> frame;
        const std::int32_t correlation_id = next_correlation_id_++;
        if (auto ec = kwire::protocol::encode_request(frame, req, version, correlation_id, client_id_))
            throw connection_error("encode_request(api " + std::to_string(Req::api_key) + " v" +
                                   std::to_string(version) + "): " + ec.message());
        last_request_ = frame;
        auto body = roundtrip(frame);
        typename Req::response_type resp;
        kwire::protocol::response_header header;
        if (auto ec = kwire::protocol::decode_response(kwire::protocol::bytes_view(body), version, resp, &header))
            throw connection_error("decode_response(api " + std::to_string(Req::api_key) + " v" +
                                   std::to_string(version) + ", " + std::to_string(body.size()) +
                                   " bytes): " + ec.message());
        if (header.correlation_id != correlation_id)
            throw connection_error("correlation id mismatch: sent " + std::to_string(correlation_id) +
                                   ", got " + std::to_string(header.correlation_id));
        // The decoded response may hold views (RECORDS) into the body. Moving a vector keeps its
        // buffer, so they stay valid until the next call replaces last_response_.
        last_response_ = std::move(body);
        return resp;
    }

    /// Sends one whole frame (size prefix included) and returns the response frame without its
    /// size prefix. Throws connection_error.
    std::vector<std::uint8_t> roundtrip(const std::vector<std::uint8_t>& request_frame);

    /// The last request frame sent by call() (with size prefix) and the last response body
    /// received (without size prefix; RECORDS views of the last call() point into it).
    const std::vector<std::uint8_t>& last_request() const noexcept { return last_request_; }
    const std::vector<std::uint8_t>& last_response() const noexcept { return last_response_; }

    /// The correlation id the next call will use.
    std::int32_t next_correlation_id() const noexcept { return next_correlation_id_; }
    const std::string& client_id() const noexcept { return client_id_; }

private:
    void send_all(const std::uint8_t* p, std::size_t n);
    void recv_all(std::uint8_t* p, std::size_t n);

    int fd_ = -1;
    std::string address_;
    std::string client_id_;
    std::int32_t next_correlation_id_ = 1;
    std::vector<std::uint8_t> last_request_;
    std::vector<std::uint8_t> last_response_;
};

}  // namespace kwire::peers

// The protocol side of one broker connection, with no I/O (as Boost.Redis and Boost.MySQL split
// theirs): requests are encoded into an output buffer the I/O layer writes; bytes the I/O layer
// reads are cut into frames and matched, in order, to the requests in flight; deadlines are
// checked against a clock the I/O layer passes in. Tested without sockets.
//
// Kafka answers requests on one connection in the order they were sent, so the requests in flight
// are a FIFO and a response whose correlation id is not the oldest one's means the stream is out
// of step: the session fails, and so does every request on it (the caller retries elsewhere).
// A request that times out also fails the whole session, for the same reason: the responses
// behind it cannot be matched any more once one is given up.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "net/frame_reader.hpp"
#include "observe/telemetry.hpp"
#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages/api_versions.hpp"

namespace kwire::client::detail {

using clock = std::chrono::steady_clock;

/// Called once per request: with the response frame body (header included; valid only during the
/// call) or with an error and an empty view.
using response_handler = std::function<void(std::error_code, protocol::bytes_view frame)>;

/// Version ranges a broker advertised, indexed by API key.
class api_version_table {
public:
    void assign(const protocol::ApiVersionsResponse& resp);
    /// The highest version in both [our_min, our_max] and the broker's range, or -1.
    std::int16_t pick(std::int16_t api_key, std::int16_t our_min, std::int16_t our_max) const noexcept;
    bool known() const noexcept { return !ranges_.empty(); }
    /// The finalized level of a cluster feature (ApiVersions v3+), e.g. "transaction.version"
    /// (KIP-890: 2 means transactions v2); 0 when the broker finalizes none.
    std::int16_t feature(std::string_view name) const noexcept;

private:
    struct range {
        std::int16_t min = -1;
        std::int16_t max = -1;
    };
    std::vector<range> ranges_;
    std::vector<std::pair<std::string, std::int16_t>> features_;
};

class broker_session {
public:
    explicit broker_session(std::size_t max_response_bytes, std::string client_id)
        : reader_(max_response_bytes), client_id_(std::move(client_id)) {}

    /// Encodes a request into the output buffer and, if `expects_response`, remembers it so its
    /// response can be matched (Produce with acks=0 gets none). Returns the correlation id.
    template <protocol::message Req>
    std::int32_t enqueue(const Req& req, std::int16_t version, clock::time_point deadline, response_handler handler,
                         bool expects_response = true) {
        const std::int32_t id = next_correlation_id_++;
        if (next_correlation_id_ < 0) next_correlation_id_ = 0;  // wrap within INT32
        const auto before = output_.size();
        protocol::encode_request(output_, req, version, id, client_id_);
        clock::time_point sent{};
        if (meters_) {
            meters_->requests.add();
            meters_->bytes_out.add(output_.size() - before);
            sent = clock::now();
        }
        if (expects_response) {
            in_flight_.push_back({id, Req::api_key, version, deadline, sent, std::move(handler)});
            if (meters_) meters_->in_flight.add(1);
        } else if (handler) {
            done_without_response_.push_back(std::move(handler));
        }
        return id;
    }

    /// Bytes waiting to be written. The I/O layer swaps them out (`take_output`), writes them,
    /// and comes back for more; requests enqueued meanwhile go into a fresh buffer.
    bool has_output() const noexcept { return !output_.empty(); }
    void take_output(std::vector<std::uint8_t>& into) {
        into.clear();
        into.swap(output_);
        for (auto& h : done_without_response_) being_written_.push_back(std::move(h));
        done_without_response_.clear();
    }
    /// The bytes handed out by take_output are on the wire: requests that expect no response
    /// (acks=0) are complete now.
    void output_written();

    std::span<std::uint8_t> prepare_input(std::size_t min_bytes = 64 * 1024) { return reader_.prepare(min_bytes); }
    /// `n` bytes were read: dispatches every complete response. Returns an error when the stream
    /// is broken (then fail() must be called).
    std::error_code input_received(std::size_t n);

    /// The earliest deadline of a request in flight.
    std::optional<clock::time_point> next_deadline() const noexcept;
    /// Whether a request in flight has passed its deadline at `now`.
    bool expired(clock::time_point now) const noexcept;

    /// Fails every request in flight (and any not yet written) with `ec`, oldest first, and
    /// resets the session so it can serve a new connection.
    void fail(std::error_code ec);

    std::size_t in_flight() const noexcept { return in_flight_.size(); }
    bool idle() const noexcept { return in_flight_.empty() && output_.empty(); }

    /// Where to count requests, bytes, latency and requests in flight; null (the default): nowhere,
    /// and no clock is read.
    void set_meters(broker_meters* m) noexcept { meters_ = m; }

    api_version_table& versions() noexcept { return versions_; }
    const api_version_table& versions() const noexcept { return versions_; }

private:
    struct pending {
        std::int32_t correlation_id;
        std::int16_t api_key;
        std::int16_t version;
        clock::time_point deadline;
        clock::time_point sent;  // with meters only: for request-latency
        response_handler handler;
    };

    frame_reader reader_;
    std::string client_id_;
    std::vector<std::uint8_t> output_;
    std::deque<pending> in_flight_;
    std::vector<response_handler> done_without_response_;  // acks=0 requests not yet taken
    std::vector<response_handler> being_written_;          // taken, awaiting output_written()
    std::int32_t next_correlation_id_ = 0;
    api_version_table versions_;
    broker_meters* meters_ = nullptr;
};

}  // namespace kwire::client::detail

// One connection to one broker, on the user's executor: resolves the host (c-ares, never
// blocking), connects (trying every resolved address), runs the TLS handshake when
// security.protocol asks for it, performs the ApiVersions handshake, authenticates with SASL when
// asked, then pipelines requests through a broker_session. The Asio side only moves bytes and
// runs timers; the protocol lives in broker_session (and the SASL mechanisms, also sans-I/O).
//
// Requests made before the connection is ready wait in `waiting_` as closures that encode
// themselves once the broker's versions are known. Any failure (connect, handshake, read,
// write, timeout, a broken stream) fails everything in flight and waiting with that error and
// closes the socket; the next request reconnects, after the backoff.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "kwire/client/config.hpp"
#include "net/broker_session.hpp"
#include "kwire/client/error.hpp"
#include "kwire/protocol/frame.hpp"
#include "net/connection_errors.hpp"
#include "net/resolver.hpp"
#include "observe/telemetry.hpp"

namespace kwire::client::detail {

namespace net = boost::asio;

/// Splits a bootstrap entry "host:port" ("[v6]:port" too); a missing port means 9092.
std::pair<std::string, std::uint16_t> split_broker_address(const std::string& address);

class sasl_mechanism;  // detail/sasl.hpp

/// How one request is sent: named, so that a call reads `{.min_version = 3, .expect_response =
/// false}` rather than `3, 12, false`.
struct request_options {
    /// The version range to pick from, within what the message and the broker speak; unset: the
    /// message's own oldest (newest) version.
    std::optional<std::int16_t> min_version{};
    std::optional<std::int16_t> max_version{};
    /// false only for Produce with acks=0: the broker sends nothing back, and the request is done
    /// once written.
    bool expect_response = true;
    /// Beyond request.timeout.ms, for requests the broker may legitimately hold (JoinGroup waits
    /// up to the rebalance timeout, Fetch up to fetch.max.wait.ms).
    std::chrono::milliseconds extra_time{};
};

class broker_connection : public std::enable_shared_from_this<broker_connection> {
public:
    /// `t`: the client's logger, metrics and last errors (cluster's); null: a telemetry of its own,
    /// made from `cfg`.
    broker_connection(net::any_io_executor ex, const connection_config& cfg, std::int32_t node_id, std::string host,
                      std::uint16_t port, std::shared_ptr<telemetry> t = nullptr);
    ~broker_connection();

    std::int32_t node_id() const noexcept { return node_id_; }
    const std::string& host() const noexcept { return host_; }
    std::uint16_t port() const noexcept { return port_; }
    std::string address() const { return host_ + ":" + std::to_string(port_); }
    bool ready() const noexcept { return state_ == state::ready; }
    std::size_t in_flight() const noexcept { return session_.in_flight(); }
    /// Requests waiting for the connection to come up (not yet handed to the session).
    std::size_t waiting() const noexcept { return waiting_.size(); }
    /// The state in the C client's words (its statistics' broker "state"): INIT, DOWN, CONNECT,
    /// SSL_HANDSHAKE, APIVERSION_QUERY, AUTH_REQ, REAUTH, UP.
    std::string_view state_name() const noexcept {
        switch (state_) {
            case state::idle: return "INIT";
            case state::backoff: return "DOWN";
            case state::connecting: return "CONNECT";
            case state::tls_handshaking: return "SSL_HANDSHAKE";
            case state::handshaking: return "APIVERSION_QUERY";
            case state::authenticating: return "AUTH_REQ";
            case state::reauth_pending: return "REAUTH";
            case state::ready: return "UP";
            case state::closed: return "DOWN";
        }
        return "DOWN";
    }
    /// Which life of this connection a request submitted now belongs to. Every request submitted
    /// during one incarnation -- written, being written, or waiting for the connection to come up
    /// -- is written in submission order or fails with that incarnation; a failure starts a new
    /// one, before it reports the failed requests (so a request submitted from a failure handler
    /// already belongs to the next). Unique across connections, so a caller can tell "the same
    /// stream as my earlier requests" from "a later stream, possibly of a new connection object".
    std::uint64_t incarnation() const noexcept { return incarnation_; }
    const api_version_table& versions() const noexcept { return session_.versions(); }

    /// Sends a request at the highest version both sides speak, within the range `opt` names
    /// (by default all of Req's), and calls `done(ec, response, version)` exactly once. Responses
    /// are decoded here, so a schema mismatch surfaces as an error on this request, not as
    /// garbage later.
    template <protocol::message Req, class Done>
    void request(Req req, Done done, request_options opt = {}) {
        request_built([req = std::move(req)](std::int16_t) mutable { return std::move(req); }, std::move(done), opt);
    }

    /// The same, with the request built by `build(version)` once the version is chosen: for
    /// requests whose content depends on it (Metadata without an auto-create flag before v4).
    template <class Build, class Done>
    void request_built(Build build, Done done, request_options opt = {}) {
        using Req = std::invoke_result_t<Build&, std::int16_t>;
        using Resp = typename Req::response_type;
        submit([build = std::move(build), done = std::move(done),
                opt](broker_session* s, std::error_code ec, clock::time_point deadline) mutable {
            if (ec) return done(ec, Resp{}, std::int16_t{-1});
            const auto v = pick_version<Req>(*s, opt);
            if (v < 0) return done(make_error_code(client_errc::unsupported_version), Resp{}, v);
            s->enqueue(
                build(v), v, deadline + opt.extra_time,
                [done = std::move(done), v](std::error_code ec2, protocol::bytes_view frame) mutable {
                    Resp resp;
                    if (!ec2 && !frame.empty()) ec2 = protocol::decode_response(frame, v, resp);
                    done(ec2, std::move(resp), v);
                },
                opt.expect_response);
        });
    }

    /// As request(), but hands over the raw response frame (header included) undecoded: the
    /// view is valid only during the call. For responses whose records the caller keeps as
    /// views (Fetch): it copies the frame once into a buffer it owns, then decodes that.
    template <protocol::message Req, class Done>
    void request_frame(Req req, Done done, request_options opt = {}) {
        submit([req = std::move(req), done = std::move(done),
                opt](broker_session* s, std::error_code ec, clock::time_point deadline) mutable {
            if (ec) return done(ec, protocol::bytes_view{}, std::int16_t{-1});
            const auto v = pick_version<Req>(*s, opt);
            if (v < 0) return done(make_error_code(client_errc::unsupported_version), protocol::bytes_view{}, v);
            s->enqueue(
                req, v, deadline + opt.extra_time,
                [done = std::move(done), v](std::error_code ec2, protocol::bytes_view frame) mutable {
                    done(ec2, frame, v);
                },
                true);
        });
    }

    /// The last failure of this connection, in words ("connection to 127.0.0.1:1 refused").
    std::optional<connection_error> last_error() const { return telemetry_->last_error(node_id_); }

    /// Fails everything with `ec` and closes the socket (it reconnects on the next request).
    void close(std::error_code ec = make_error_code(client_errc::closed));

    template <class Resp> using done_fn = std::function<void(std::error_code, Resp, std::int16_t version)>;

private:
    /// The highest version of Req both sides speak within `opt`'s range; negative if none.
    template <class Req>
    static std::int16_t pick_version(const broker_session& s, const request_options& opt) {
        return s.versions().pick(Req::api_key, opt.min_version.value_or(Req::min_version),
                                 opt.max_version.value_or(Req::max_version));
    }

    /// A request waiting for the connection: called with the session once ready (or with an
    /// error and a null session).
    using starter = std::function<void(broker_session*, std::error_code, clock::time_point deadline)>;
    // tls_handshaking: TLS. handshaking: ApiVersions. authenticating: SASL (first time, or a
    // re-authentication). reauth_pending: the SASL session is about to expire; new requests wait
    // until the requests in flight are answered and the connection re-authenticated (KIP-368).
    enum class state { idle, backoff, connecting, tls_handshaking, handshaking, authenticating, reauth_pending, ready, closed };
    struct transport;  // the socket, and the TLS stream over it when there is one (broker_connection.cpp)

    void submit(starter s);
    void connect();
    void try_endpoint(std::vector<net::ip::tcp::endpoint> endpoints, std::size_t index, std::error_code last);
    void tls_handshake();
    void start_protocol();
    void handshake(std::int16_t version);
    // SASL and re-authentication (broker_sasl.cpp)
    void start_sasl();
    void sasl_handshake(const oauth_token* token);
    void sasl_exchange(std::vector<std::uint8_t> send, std::int16_t version);
    void authenticated(std::int64_t session_lifetime_ms);
    void maybe_reauthenticate();
    bool writable_state() const noexcept {
        return state_ == state::handshaking || state_ == state::authenticating || state_ == state::reauth_pending ||
               state_ == state::ready;
    }
    void become_ready();
    void fail(std::error_code ec, bool reconnect);
    /// Logs, counts and records a failure (not a close()) before fail() resets the state.
    void note_failure(const std::error_code& ec);
    void write_more();
    void read_more();
    void arm_timer();
    clock::time_point deadline() const { return clock::now() + cfg_.request_timeout; }

    net::any_io_executor ex_;
    connection_config cfg_;
    std::int32_t node_id_;
    std::string host_;
    std::uint16_t port_;

    dns_resolver resolver_;
    std::shared_ptr<transport> io_;     // one per connection attempt; I/O handlers keep theirs alive
    std::shared_ptr<void> tls_context_; // the ssl::context, made on the first TLS connect and kept
    net::steady_timer timer_;           // request deadlines and connect timeout
    net::steady_timer backoff_timer_;
    net::steady_timer reauth_timer_;    // KIP-368: re-authenticate before the SASL session expires
    std::unique_ptr<sasl_mechanism> sasl_;  // the SASL mechanism of the exchange in progress
    broker_session session_;
    std::deque<starter> waiting_;
    std::vector<std::uint8_t> writing_;
    bool write_in_progress_ = false;
    bool read_in_progress_ = false;
    state state_ = state::idle;
    clock::time_point timer_armed_for_{};
    std::uint64_t generation_ = 0;      // bumps on every (re)connect; stale callbacks check it
    std::uint64_t incarnation_;         // see incarnation(); a new one from each fail()
    int failures_ = 0;                  // consecutive, for the backoff
    bool closing_ = false;              // close() was called: never reconnect
    std::minstd_rand jitter_{std::random_device{}()};
    std::shared_ptr<telemetry> telemetry_;
    std::unique_ptr<broker_meters> meters_;  // null when metrics are off
    bool established_ = false;          // became ready since the last failure (re-authentication is not a new connection)
};

}  // namespace kwire::client::detail

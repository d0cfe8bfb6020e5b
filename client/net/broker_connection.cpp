// One broker connection's state machine: resolve, connect (every resolved address in turn), the
// TLS handshake (the contexts are made in tls_openssl.cpp or tls_mbedtls.cpp),
// ApiVersions, then reading, writing, deadlines, failure and reconnection. SASL is in
// broker_sasl.cpp; broker_connection.hpp says how requests wait and fail.
#include "net/broker_connection.hpp"

#include "core/backoff.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#ifndef KWIRE_WITH_TLS
#define KWIRE_WITH_TLS 1
#endif
#ifndef KWIRE_TLS_MBEDTLS
#define KWIRE_TLS_MBEDTLS 0
#endif
#if KWIRE_WITH_TLS && !KWIRE_TLS_MBEDTLS
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl.hpp>

#include "net/tls_openssl.hpp"
#elif KWIRE_WITH_TLS
#include "net/tls_mbedtls.hpp"
#endif

#include <algorithm>
#include <atomic>
#include <optional>

#include "kwire/protocol/messages/api_versions.hpp"

#include "net/sasl.hpp"

namespace kwire::client::detail {

using net::ip::tcp;

namespace {

#if KWIRE_WITH_TLS && !KWIRE_TLS_MBEDTLS
namespace ssl = net::ssl;
using tls_stream = ssl::stream<tcp::socket>;

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    (void)net::ip::make_address(host, ec);
    return !ec;
}

// The context and the classification of a handshake that meets plaintext: tls_openssl.{hpp,cpp}.
using ossl::classify_tls_error;
using ossl::make_tls_context;
#elif KWIRE_WITH_TLS
// KWIRE_TLS_BACKEND=mbedtls: the context, the stream and the same classification of a handshake
// that meets plaintext live in tls_mbedtls.{hpp,cpp}.
using mbed::make_tls_context;
using tls_stream = mbed::tls_stream;
std::error_code classify_tls_error(const std::error_code& ec) { return mbed::classify_handshake_error(ec); }
#endif

/// Connection incarnations, unique in the process (see broker_connection::incarnation).
std::uint64_t next_incarnation() noexcept {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
}

/// The peer closed the stream: end of file, or (OpenSSL) a TLS stream closed without
/// close_notify. mbed::tls_stream reports any close as end of file.
bool is_closed_by_peer(const std::error_code& ec) {
    if (ec == std::error_code(boost::system::error_code(net::error::eof))) return true;
#if KWIRE_WITH_TLS && !KWIRE_TLS_MBEDTLS
    if (ec == std::error_code(boost::system::error_code(ssl::error::stream_truncated))) return true;
#endif
    return false;
}
}  // namespace

/// The byte stream of one connection attempt: TCP, with TLS over it when configured. Reads and
/// writes go to whichever is on top; closing closes the TCP socket under both.
struct broker_connection::transport {
    explicit transport(net::any_io_executor ex) : socket(ex) {}
    tcp::socket socket;
#if KWIRE_WITH_TLS
    std::optional<tls_stream> tls;
    tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }
#else
    tcp::socket& lowest() { return socket; }
#endif

    template <class Buffer, class Handler> void read_some(const Buffer& b, Handler&& h) {
#if KWIRE_WITH_TLS
        if (tls) return tls->async_read_some(b, std::forward<Handler>(h));
#endif
        socket.async_read_some(b, std::forward<Handler>(h));
    }
    template <class Buffer, class Handler> void write(const Buffer& b, Handler&& h) {
#if KWIRE_WITH_TLS
        if (tls) return net::async_write(*tls, b, std::forward<Handler>(h));
#endif
        net::async_write(socket, b, std::forward<Handler>(h));
    }
    void close() {
        boost::system::error_code ignored;
        lowest().close(ignored);
    }
    /// Acknowledge the next data at once rather than after the delayed-ACK timer (up to 40 ms on
    /// Linux). Asked for while more responses are due: a broker whose socket has Nagle's
    /// algorithm on (TCP_NODELAY off, as the C client's mock cluster's) holds a small response
    /// until the previous one is acknowledged, and a client that has nothing to send would
    /// acknowledge it only when that timer fires. Linux resets the flag itself, so it is set
    /// again after every read that leaves requests in flight (one setsockopt, never per record).
    void quick_ack() {
#ifdef TCP_QUICKACK
        const int one = 1;
        ::setsockopt(lowest().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#endif
    }
};

std::pair<std::string, std::uint16_t> split_broker_address(const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || address.back() == ']') return {address, 9092};
    auto host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    for (std::size_t i = colon + 1; i < address.size() && port <= 65535; ++i) {
        if (address[i] < '0' || address[i] > '9') return {address, 9092};
        port = port * 10 + static_cast<unsigned>(address[i] - '0');
    }
    return {host, static_cast<std::uint16_t>(port > 65535 ? 9092 : port)};
}

broker_connection::broker_connection(net::any_io_executor ex, const connection_config& cfg, std::int32_t node_id,
                                     std::string host, std::uint16_t port, std::shared_ptr<telemetry> t)
    : ex_(ex),
      cfg_(cfg),
      node_id_(node_id),
      host_(std::move(host)),
      port_(port),
      resolver_(ex),
      timer_(ex),
      backoff_timer_(ex),
      reauth_timer_(ex),
      session_(cfg.max_response_bytes, cfg.client_id),
      incarnation_(next_incarnation()),
      telemetry_(t ? std::move(t) : std::make_shared<telemetry>(cfg)),
      meters_(telemetry_->meters_for(node_id)) {
    session_.set_meters(meters_.get());
}

broker_connection::~broker_connection() = default;

void broker_connection::submit(starter s) {
    if (state_ == state::closed) return s(nullptr, make_error_code(client_errc::closed), {});
    if (state_ == state::ready) {
        s(&session_, {}, deadline());
        write_more();
        arm_timer();
        return;
    }
    waiting_.push_back(std::move(s));
    if (state_ == state::idle) connect();
}

void broker_connection::connect() {
    state_ = state::connecting;
    if (meters_) meters_->attempts.add();
    KWIRE_LOG(telemetry_->log(), log_level::debug, log_context::broker, "connecting to " + address());
    const auto gen = ++generation_;
    auto self = shared_from_this();
    timer_.expires_after(cfg_.socket_connection_setup_timeout);
    timer_armed_for_ = {};
    timer_.async_wait([self, gen](std::error_code ec) {
        // Until the first request is written (then its deadline takes over this timer).
        if (ec || gen != self->generation_) return;
        if (self->state_ != state::connecting && self->state_ != state::tls_handshaking) return;
        self->fail(make_error_code(client_errc::request_timed_out), true);
    });
    io_ = std::make_shared<transport>(ex_);
    // The address hook maps what the broker advertises to what to dial (port-forwards, tunnels);
    // TLS still checks the certificate against the advertised host.
    broker_address target{host_, port_};
    if (cfg_.map_address) target = cfg_.map_address(target);
    boost::system::error_code parse_error;
    const auto literal = net::ip::make_address(target.host, parse_error);
    if (!parse_error) {
        // A numeric address: nothing to resolve.
        net::post(ex_, [self, gen, ep = tcp::endpoint(literal, target.port)]() mutable {
            if (gen == self->generation_) self->try_endpoint({ep}, 0, {});
        });
        return;
    }
    resolver_.async_resolve(target.host, target.port,
                            [self, gen](std::error_code ec, std::vector<tcp::endpoint> endpoints) {
                                if (gen != self->generation_) return;
                                if (ec) return self->fail(ec, true);
                                self->try_endpoint(std::move(endpoints), 0, {});
                            });
}

void broker_connection::try_endpoint(std::vector<tcp::endpoint> endpoints, std::size_t index, std::error_code last) {
    // client.dns.lookup=use_all_dns_ips: every resolved address is tried in turn.
    if (index >= endpoints.size()) return fail(last ? last : make_error_code(client_errc::no_brokers), true);
    const auto gen = generation_;
    auto self = shared_from_this();
    auto io = io_;
    const auto ep = endpoints[index];
    io->socket.async_connect(ep, [self, gen, io, endpoints = std::move(endpoints), index](std::error_code ec) mutable {
        if (gen != self->generation_) return;
        if (ec) {
            io->close();
            return self->try_endpoint(std::move(endpoints), index + 1, ec);
        }
        boost::system::error_code ignored;
        io->socket.set_option(net::ip::tcp::no_delay(true), ignored);
        const bool tls = self->cfg_.security == security_protocol::ssl ||
                         self->cfg_.security == security_protocol::sasl_ssl;
        if (tls) return self->tls_handshake();
        self->start_protocol();
    });
}

void broker_connection::tls_handshake() {
#if KWIRE_WITH_TLS
    if (!tls_context_) {
        std::error_code ec;
        auto ctx = make_tls_context(cfg_.tls, ec);
        if (!ctx) return fail(ec, true);
        tls_context_ = std::move(ctx);
    }
    auto io = io_;
#if KWIRE_TLS_MBEDTLS
    // SNI, and the host name or address checked unless ssl.endpoint.identification.algorithm is
    // none: tls_mbedtls.cpp, with the same rules as below.
    io->tls.emplace(std::move(io->socket), std::static_pointer_cast<mbed::tls_context>(tls_context_), host_,
                    cfg_.tls.verify_hostname);
#else
    auto& ctx = *static_cast<ssl::context*>(tls_context_.get());
    io->tls.emplace(std::move(io->socket), ctx);
    SSL* handle = io->tls->native_handle();
    const bool ip = is_ip_literal(host_);
    if (!ip) SSL_set_tlsext_host_name(handle, host_.c_str());  // SNI
    if (cfg_.tls.verify_hostname) {
        // ssl.endpoint.identification.algorithm=https: the certificate must name the advertised
        // host (a DNS name, or an IP address for a numeric host), no partial wildcards.
        X509_VERIFY_PARAM* param = SSL_get0_param(handle);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (ip) X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str());
        else X509_VERIFY_PARAM_set1_host(param, host_.c_str(), host_.size());
    }
#endif
    state_ = state::tls_handshaking;
    const auto gen = generation_;
    auto self = shared_from_this();
    io->tls->async_handshake(tls_stream::client, [self, gen, io](const auto& ec) {
        if (gen != self->generation_) return;
        if (ec) return self->fail(classify_tls_error(ec), true);
        self->start_protocol();
    });
#else
    fail(make_error_code(client_errc::tls_setup_failed), false);
#endif
}

void broker_connection::start_protocol() {
    read_more();
    handshake(protocol::ApiVersionsRequest::max_version);
}

void broker_connection::handshake(std::int16_t version) {
    state_ = state::handshaking;
    protocol::ApiVersionsRequest req;
    req.client_software_name = "kwire";
    req.client_software_version = "0.1.0";
    const auto gen = generation_;
    auto self = shared_from_this();
    session_.enqueue(req, version, deadline(), [self, gen, version](std::error_code ec, protocol::bytes_view frame) {
        if (ec || gen != self->generation_) return;  // the session failed: fail() handles it
        protocol::ApiVersionsResponse resp;
        const auto dec = protocol::decode_response(frame, version, resp);
        // The error code is the first field of every ApiVersions version, so it can be read
        // even when the rest of the body is in a layout we did not ask for.
        const auto error = frame.size() >= 6 ? protocol::load_be<std::int16_t>(frame.data() + 4) : std::int16_t{-1};
        if (to_kafka_errc(error) == kafka_errc::unsupported_version && version > 0) {
            // KIP-511: a broker that does not speak this version answers in the v0 layout with
            // the range it does speak; ask again at its highest. Some (the C client's mock broker) send a
            // body in no layout at all: then fall back to v0, which every broker speaks.
            std::int16_t next = 0;
            protocol::ApiVersionsResponse v0;
            if (!protocol::decode_response(frame, 0, v0))
                for (const auto& k : v0.api_keys)
                    if (k.api_key == protocol::ApiVersionsRequest::api_key)
                        next = std::clamp<std::int16_t>(k.max_version, 0, static_cast<std::int16_t>(version - 1));
            self->handshake(next);
            return;
        }
        if (dec) return self->fail(dec, true);
        if (resp.error_code) return self->fail(kafka_error(resp.error_code), true);
        self->session_.versions().assign(resp);
        const bool sasl = self->cfg_.security == security_protocol::sasl_plaintext ||
                          self->cfg_.security == security_protocol::sasl_ssl;
        if (sasl) return self->start_sasl();
        self->become_ready();
    });
    write_more();
    arm_timer();
}

void broker_connection::become_ready() {
    state_ = state::ready;
    if (!established_) {
        established_ = true;
        if (meters_) meters_->created.add();
        // A reconnect after failures is news (the warnings said it was down); a first connect is not.
        if (failures_ > 0)
            KWIRE_LOG(telemetry_->log(), log_level::info, log_context::broker,
                      "connected to " + address() + " after " + std::to_string(failures_) + " failed attempt" +
                          (failures_ == 1 ? "" : "s"));
        else
            KWIRE_LOG(telemetry_->log(), log_level::debug, log_context::broker, "connected to " + address());
    }
    failures_ = 0;
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& s : waiting) s(&session_, {}, deadline());
    write_more();
    arm_timer();
}

void broker_connection::close(std::error_code ec) {
    closing_ = true;  // for good: requests made from now on (even by the handlers fail() calls) fail
    fail(ec, false);
}

void broker_connection::note_failure(const std::error_code& ec) {
    connection_stage stage = connection_stage::established;
    switch (state_) {
        case state::idle:
        case state::backoff:
        case state::closed: return;  // nothing was going on: not a connection failure
        case state::connecting: stage = connection_stage::connecting; break;
        case state::tls_handshaking: stage = connection_stage::tls_handshake; break;
        case state::handshaking: stage = connection_stage::api_versions; break;
        case state::authenticating: stage = connection_stage::authenticating; break;
        case state::reauth_pending:
        case state::ready: break;
    }
    if (meters_) {
        (established_ ? meters_->closed : meters_->failed).add();
        if (stage == connection_stage::authenticating) meters_->auth_failed.add();
    }
    auto description = describe_connection_failure(stage, host_, address(), ec);
    KWIRE_LOG_LIMITED(telemetry_->log(), log_level::warn, connection_log_context(stage), "connection " + address(),
                      description);
    telemetry_->record_connection_error(
        {node_id_, address(), ec, std::move(description), std::chrono::steady_clock::now()});
}

void broker_connection::fail(std::error_code ec, bool reconnect) {
    if (closing_) {
        if (established_ && meters_) meters_->closed.add();
    } else {
        note_failure(ec);
    }
    established_ = false;
    ++generation_;  // every callback of the old connection is stale from here on
    incarnation_ = next_incarnation();  // before any handler runs: what they submit is the next life's
    if (io_) io_->close();  // its pending handlers hold it until they have run (and find themselves stale)
    resolver_.cancel();
    timer_.cancel();
    backoff_timer_.cancel();
    reauth_timer_.cancel();
    sasl_.reset();
    timer_armed_for_ = {};
    write_in_progress_ = false;
    read_in_progress_ = false;
    // Set the state before calling anyone back: handlers may submit again right away, and those
    // requests must wait for the backoff, not start a connection from inside this call.
    state_ = reconnect && !closing_ ? state::backoff : (closing_ ? state::closed : state::idle);
    auto waiting = std::move(waiting_);
    waiting_.clear();
    session_.fail(ec);
    for (auto& s : waiting) s(nullptr, ec, {});
    if (!reconnect || closing_) return;

    // Exponential backoff with jitter, so that many clients do not reconnect in step.
    ++failures_;
    const auto delay = backoff(cfg_.reconnect_backoff, cfg_.reconnect_backoff_max)(failures_, jitter_);
    const auto gen = generation_;
    auto self = shared_from_this();
    backoff_timer_.expires_after(delay);
    backoff_timer_.async_wait([self, gen](std::error_code e) {
        if (e || gen != self->generation_) return;
        self->state_ = state::idle;
        if (!self->waiting_.empty()) self->connect();
    });
}

void broker_connection::write_more() {
    if (write_in_progress_ || !session_.has_output()) return;
    if (!writable_state()) return;
    session_.take_output(writing_);
    write_in_progress_ = true;
    const auto gen = generation_;
    auto self = shared_from_this();
    io_->write(net::buffer(writing_), [self, gen, io = io_](std::error_code ec, std::size_t) {
        if (gen != self->generation_) return;
        self->write_in_progress_ = false;
        if (ec) return self->fail(ec, true);
        self->session_.output_written();
        if (gen != self->generation_) return;
        self->maybe_reauthenticate();
        self->write_more();
    });
}

void broker_connection::read_more() {
    if (read_in_progress_) return;
    read_in_progress_ = true;
    const auto buf = session_.prepare_input();
    const auto gen = generation_;
    auto self = shared_from_this();
    io_->read_some(net::buffer(buf.data(), buf.size()), [self, gen, io = io_](std::error_code ec, std::size_t n) {
        if (gen != self->generation_) return;
        self->read_in_progress_ = false;
        if (ec) {
            if (is_closed_by_peer(ec)) ec = make_error_code(client_errc::connection_closed);
            return self->fail(ec, true);
        }
        if (auto e = self->session_.input_received(n)) return self->fail(e, true);
        if (gen != self->generation_) return;  // a response handler closed the connection
        if (self->session_.in_flight() > 0) io->quick_ack();
        self->maybe_reauthenticate();
        self->arm_timer();
        self->read_more();
    });
}

void broker_connection::arm_timer() {
    const auto d = session_.next_deadline();
    if (!d) return;  // nothing in flight: a stale expiry finds nothing expired and re-arms nothing
    // A wait already pending for this deadline or an earlier one covers it: when it fires it
    // checks for expiry and re-arms for the next deadline. Deadlines grow with every request
    // (now + request.timeout.ms), so in steady state the timer is touched once per timeout
    // period instead of twice per request (a cancelled wait, a new wait, timerfd updates).
    if (timer_armed_for_ != clock::time_point{} && timer_armed_for_ <= *d) return;
    timer_armed_for_ = *d;
    const auto gen = generation_;
    auto self = shared_from_this();
    timer_.expires_at(*d);
    timer_.async_wait([self, gen](std::error_code ec) {
        if (ec || gen != self->generation_) return;
        self->timer_armed_for_ = {};
        if (self->session_.expired(clock::now())) return self->fail(make_error_code(client_errc::request_timed_out), true);
        self->arm_timer();
    });
}

}  // namespace kwire::client::detail

#include "broker_connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

#include "kwire/protocol/messages/api_versions.hpp"

namespace kwire::client::detail {

namespace {
constexpr std::int16_t unsupported_version_code = 35;
}

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
                                     std::string host, std::uint16_t port)
    : ex_(ex),
      cfg_(cfg),
      node_id_(node_id),
      host_(std::move(host)),
      port_(port),
      resolver_(ex),
      socket_(ex),
      timer_(ex),
      backoff_timer_(ex),
      session_(cfg.max_response_bytes, cfg.client_id) {}

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
    const auto gen = ++generation_;
    auto self = shared_from_this();
    timer_.expires_after(cfg_.socket_connection_setup_timeout);
    timer_armed_for_ = {};
    timer_.async_wait([self, gen](std::error_code ec) {
        if (ec || gen != self->generation_ || self->state_ != state::connecting) return;
        self->fail(make_error_code(client_errc::request_timed_out), true);
    });
    boost::system::error_code parse_error;
    const auto literal = net::ip::make_address(host_, parse_error);
    if (!parse_error) {
        // A numeric address: no resolution, so no resolver thread and no delay.
        auto results = net::ip::tcp::resolver::results_type::create(net::ip::tcp::endpoint(literal, port_), host_,
                                                                    std::to_string(port_));
        net::post(ex_, [self, gen, results]() mutable {
            if (gen == self->generation_) self->try_endpoint(std::move(results), 0, {});
        });
        return;
    }
    resolver_.async_resolve(host_, std::to_string(port_),
                            [self, gen](std::error_code ec, net::ip::tcp::resolver::results_type results) {
                                if (gen != self->generation_) return;
                                if (ec) return self->fail(ec, true);
                                self->try_endpoint(std::move(results), 0, {});
                            });
}

void broker_connection::try_endpoint(net::ip::tcp::resolver::results_type results, std::size_t index,
                                     std::error_code last) {
    // client.dns.lookup=use_all_dns_ips: every resolved address is tried in turn.
    if (index >= results.size()) return fail(last ? last : make_error_code(client_errc::no_brokers), true);
    auto it = results.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(index));
    const auto gen = generation_;
    auto self = shared_from_this();
    socket_.async_connect(it->endpoint(), [self, gen, results, index](std::error_code ec) mutable {
        if (gen != self->generation_) return;
        if (ec) {
            boost::system::error_code ignored;
            self->socket_.close(ignored);
            return self->try_endpoint(std::move(results), index + 1, ec);
        }
        boost::system::error_code ignored;
        self->socket_.set_option(net::ip::tcp::no_delay(true), ignored);
        self->read_more();
        self->handshake(protocol::ApiVersionsRequest::max_version);
    });
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
        if (error == unsupported_version_code && version > 0) {
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
        self->become_ready();
    });
    write_more();
    arm_timer();
}

void broker_connection::become_ready() {
    state_ = state::ready;
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

void broker_connection::fail(std::error_code ec, bool reconnect) {
    ++generation_;  // every callback of the old connection is stale from here on
    boost::system::error_code ignored;
    socket_.close(ignored);
    resolver_.cancel();
    timer_.cancel();
    backoff_timer_.cancel();
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

    // Exponential backoff with +-20% jitter, so that many clients do not reconnect in step.
    ++failures_;
    const auto base = cfg_.reconnect_backoff.count() << std::min(failures_ - 1, 20);
    const auto capped = std::min<std::int64_t>(base, cfg_.reconnect_backoff_max.count());
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(capped) * jitter(jitter_)));
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
    if (state_ != state::handshaking && state_ != state::ready) return;
    session_.take_output(writing_);
    write_in_progress_ = true;
    const auto gen = generation_;
    auto self = shared_from_this();
    net::async_write(socket_, net::buffer(writing_), [self, gen](std::error_code ec, std::size_t) {
        if (gen != self->generation_) return;
        self->write_in_progress_ = false;
        if (ec) return self->fail(ec, true);
        self->session_.output_written();
        if (gen == self->generation_) self->write_more();
    });
}

void broker_connection::read_more() {
    if (read_in_progress_) return;
    read_in_progress_ = true;
    const auto buf = session_.prepare_input();
    const auto gen = generation_;
    auto self = shared_from_this();
    socket_.async_read_some(net::buffer(buf.data(), buf.size()), [self, gen](std::error_code ec, std::size_t n) {
        if (gen != self->generation_) return;
        self->read_in_progress_ = false;
        if (ec) {
            if (ec == std::error_code(boost::system::error_code(net::error::eof)))
                ec = make_error_code(client_errc::connection_closed);
            return self->fail(ec, true);
        }
        if (auto e = self->session_.input_received(n)) return self->fail(e, true);
        if (gen != self->generation_) return;  // a response handler closed the connection
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

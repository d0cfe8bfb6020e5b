// The chaos proxy's I/O (support_chaos_proxy.hpp): an io_context on its own thread, a coroutine
// accepting on each listener, and per connection two pumps -- requests client -> broker and
// responses broker -> client -- each reading whole frames and doing what the dice say.
//
// Each socket is written by one pump only (requests go to the broker socket, responses to the
// client socket), so a held or chunked frame delays what follows it in that direction and
// never reorders it. A kill closes both sockets; the other pump's pending read then fails and
// it ends.
#include "support_chaos_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "mock_cluster.hpp"
#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages/join_group.hpp"
#include "kwire/protocol/messages/consumer_group_heartbeat.hpp"
#include "kwire/protocol/messages/heartbeat.hpp"
#include "support_address_rewrite.hpp"

namespace kwire::test {

namespace net = boost::asio;
using tcp = net::ip::tcp;
constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
using chaos_clock_t = std::chrono::steady_clock;

namespace {

// A doomed request whose answer never comes (a Produce with acks=0 has none) must not leave the
// client hanging on a connection the proxy no longer reads from.
constexpr auto doomed_answer_wait = std::chrono::seconds(2);
constexpr std::uint32_t max_frame = 256u << 20;

void close_side(tcp::socket& s, bool reset) {
    boost::system::error_code ec;
    if (reset) s.set_option(net::socket_base::linger(true, 0), ec);
    else s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
}

net::awaitable<bool> read_frame(tcp::socket& s, std::vector<std::uint8_t>& frame) {
    frame.resize(4);
    auto [ec, n] = co_await net::async_read(s, net::buffer(frame), tuple_awaitable);
    if (ec) co_return false;
    const auto size = load_u32(frame.data());
    if (size > max_frame) co_return false;
    frame.resize(4 + size);
    std::tie(ec, n) = co_await net::async_read(s, net::buffer(frame.data() + 4, size), tuple_awaitable);
    co_return !ec;
}

}  // namespace

struct chaos_proxy::impl {
    struct link {
        explicit link(net::io_context& io, const chaos_settings& s, std::size_t upstream_index, std::uint64_t n)
            : client(io), broker(io), dice(s, upstream_index, n), upstream(upstream_index) {}
        tcp::socket client, broker;
        chaos_dice dice;
        std::map<std::int32_t, std::pair<std::int16_t, std::int16_t>> pending;  // correlation -> key, version
        std::optional<std::int32_t> doomed;  // kill_answer_lost: drop this answer, then kill
        chaos_decision doomed_decision;
        bool dead = false;
        std::size_t upstream = 0;
        std::uint64_t id = 0;  // for the trace
    };
    struct listener {
        explicit listener(net::io_context& io) : acceptor(io) {}
        tcp::acceptor acceptor;
        tcp::endpoint upstream;
        std::uint64_t connections = 0;
    };

    chaos_proxy& owner;
    net::io_context io;
    std::vector<std::unique_ptr<listener>> listeners;
    std::vector<std::string> addresses;
    address_map map;
    std::vector<std::weak_ptr<link>> links;
    std::thread thread;

    // KWIRE_CHAOS_PROXY_TRACE=1: a line per frame on stderr (ms, connection, direction, api,
    // correlation, fault), and the member id and epoch (generation) of each heartbeat.
    const bool trace = std::getenv("KWIRE_CHAOS_PROXY_TRACE") != nullptr;
    const chaos_clock_t::time_point began = chaos_clock_t::now();
    std::uint64_t next_link = 0;

    explicit impl(chaos_proxy& o) : owner(o) { map.trace = std::getenv("KWIRE_PROXY_TRACE") != nullptr; }

    void log(const link& l, const char* dir, std::int16_t key, std::int32_t correlation, chaos_fault f,
             const std::vector<std::uint8_t>& frame) const {
        if (!trace) return;
        std::string extra;
        if (key == 68 && dir[0] == '-' && frame.size() > 4) {
            protocol::ConsumerGroupHeartbeatRequest req;
            if (!protocol::decode_request(protocol::bytes_view(frame.data() + 4, frame.size() - 4), req))
                extra = " member " + req.member_id.substr(0, 8) + " epoch " + std::to_string(req.member_epoch);
        }
        if (key == 12 && dir[0] == '-' && frame.size() > 4) {  // classic Heartbeat
            protocol::HeartbeatRequest req;
            if (!protocol::decode_request(protocol::bytes_view(frame.data() + 4, frame.size() - 4), req))
                extra = " member " + req.member_id.substr(req.member_id.size() > 8 ? req.member_id.size() - 8 : 0) +
                        " epoch " + std::to_string(req.generation_id);
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(chaos_clock_t::now() - began).count();
        std::fprintf(stderr, "chaos %6lld ms link %llu broker %zu %s api %d corr %d %s%s\n", static_cast<long long>(ms),
                     static_cast<unsigned long long>(l.id), l.upstream, dir, key, correlation, to_string(f),
                     extra.c_str());
    }

    void count(chaos_fault f) { ++owner.counts_[static_cast<std::size_t>(f)]; }

    /// The decision, unless it would fault a spared request or its answer, or kill a connection
    /// one awaits an answer on (then nothing happens to this frame).
    chaos_decision spare(const link& l, std::int16_t key, chaos_decision d) const {
        const auto& s = owner.settings_;
        if (d.fault == chaos_fault::none || s.spared_api_keys.empty()) return d;
        if (s.spares(key)) return {};
        const bool kill = d.fault != chaos_fault::delay && d.fault != chaos_fault::partial_write;
        if (kill)
            for (const auto& [correlation, kv] : l.pending)
                if (s.spares(kv.first)) return {};
        return d;
    }

    void kill(link& l, bool reset_client, bool reset_broker) {
        if (trace && !l.dead)
            std::fprintf(stderr, "chaos %6lld ms link %llu killed (client %s, broker %s)\n",
                         static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    chaos_clock_t::now() - began)
                                                    .count()),
                         static_cast<unsigned long long>(l.id), reset_client ? "RST" : "FIN",
                         reset_broker ? "RST" : "FIN");
        if (l.dead) return;
        l.dead = true;
        close_side(l.client, reset_client);
        close_side(l.broker, reset_broker);
        (reset_client ? owner.resets_ : owner.clean_closes_)++;
        (reset_broker ? owner.resets_ : owner.clean_closes_)++;
    }
    /// The end of a connection one of its peers chose: both sides closed cleanly, not counted.
    void end(link& l) {
        if (trace && !l.dead) std::fprintf(stderr, "chaos link %llu ended by a peer\n", static_cast<unsigned long long>(l.id));
        if (l.dead) return;
        l.dead = true;
        close_side(l.client, false);
        close_side(l.broker, false);
    }

    /// Writes `bytes` as the decision says (held, chunked or at once); false if the link died.
    net::awaitable<bool> deliver(link& l, tcp::socket& to, const std::uint8_t* bytes, std::size_t size,
                                 const chaos_decision& d) {
        net::steady_timer timer(io);
        if (d.fault == chaos_fault::delay) {
            timer.expires_after(std::chrono::milliseconds(d.delay_ms));
            co_await timer.async_wait(tuple_awaitable);
            if (l.dead) co_return false;
        }
        if (d.fault != chaos_fault::partial_write) {
            auto [ec, n] = co_await net::async_write(to, net::buffer(bytes, size), tuple_awaitable);
            co_return !ec && !l.dead;
        }
        std::size_t at = 0;
        for (const auto piece : chunk_sizes(size, d.chunks)) {
            if (at > 0) {
                timer.expires_after(std::chrono::microseconds(d.chunk_pause_us));
                co_await timer.async_wait(tuple_awaitable);
                if (l.dead) co_return false;
            }
            auto [ec, n] = co_await net::async_write(to, net::buffer(bytes + at, piece), tuple_awaitable);
            if (ec || l.dead) co_return false;
            at += piece;
        }
        co_return true;
    }

    /// kill_mid_*: a share of the frame (at least one byte, never all of it), then the kill.
    net::awaitable<void> deliver_part_and_kill(link& l, tcp::socket& to, const std::vector<std::uint8_t>& frame,
                                               const chaos_decision& d, chaos_fault kind) {
        const auto part = std::clamp<std::size_t>(static_cast<std::size_t>(d.cut * static_cast<double>(frame.size())),
                                                  1, frame.size() - 1);
        co_await net::async_write(to, net::buffer(frame.data(), part), tuple_awaitable);
        if (l.dead) co_return;
        count(kind);
        kill(l, d.reset_client, d.reset_broker);
    }

    /// name_new_members: a JoinGroup without a member id leaves with a name never used before.
    void name_new_member(std::vector<std::uint8_t>& frame) {
        if (!owner.settings_.name_new_members || frame.size() < 8 || load_i16(frame.data() + 4) != 11) return;
        protocol::JoinGroupRequest req;
        protocol::request_header h;
        if (protocol::decode_request(protocol::bytes_view(frame.data() + 4, frame.size() - 4), req, &h) ||
            !req.member_id.empty())
            return;
        static std::atomic<std::uint64_t> named{0};
        req.member_id = "chaos-member-" + std::to_string(++named);
        std::vector<std::uint8_t> renamed;
        if (!protocol::encode_request(renamed, req, h.api_version, h.correlation_id, h.client_id))
            frame = std::move(renamed);
    }

    net::awaitable<void> pump_requests(std::shared_ptr<link> l) {
        std::vector<std::uint8_t> frame;
        while (!l->dead) {
            if (!co_await read_frame(l->client, frame)) co_return end(*l);
            if (l->dead) co_return;
            name_new_member(frame);
            std::int32_t correlation = -1;
            if (frame.size() >= 12) {
                correlation = static_cast<std::int32_t>(load_u32(frame.data() + 8));
                l->pending[correlation] = {load_i16(frame.data() + 4), load_i16(frame.data() + 6)};
            }
            ++owner.frames_;
            auto d = l->dice.next(frame_direction::request);
            if (owner.paused_) d = {};
            d = spare(*l, frame.size() >= 8 ? load_i16(frame.data() + 4) : -1, d);
            log(*l, "->", frame.size() >= 8 ? load_i16(frame.data() + 4) : -1, correlation, d.fault, frame);
            switch (d.fault) {
            case chaos_fault::kill_before_request:
                count(d.fault);
                co_return kill(*l, d.reset_client, d.reset_broker);
            case chaos_fault::kill_mid_request:
                co_return co_await deliver_part_and_kill(*l, l->broker, frame, d, d.fault);
            case chaos_fault::kill_answer_lost: {
                // Nothing further from the client: the answer to this request is the last thing
                // the broker says on this connection that the proxy waits for.
                l->doomed = correlation;
                l->doomed_decision = d;
                if (!co_await deliver(*l, l->broker, frame.data(), frame.size(), {})) co_return end(*l);
                net::steady_timer timer(io);
                timer.expires_after(doomed_answer_wait);
                co_await timer.async_wait(tuple_awaitable);
                co_return kill(*l, d.reset_client, d.reset_broker);
            }
            default:
                if (d.fault != chaos_fault::none) count(d.fault);
                if (!co_await deliver(*l, l->broker, frame.data(), frame.size(), d)) co_return end(*l);
            }
        }
    }

    net::awaitable<void> pump_responses(std::shared_ptr<link> l) {
        std::vector<std::uint8_t> frame, out;
        while (!l->dead) {
            if (!co_await read_frame(l->broker, frame)) co_return end(*l);
            if (l->dead) co_return;
            std::int16_t key = -1, version = -1;
            std::int32_t correlation = -1;
            if (frame.size() >= 8) {
                correlation = static_cast<std::int32_t>(load_u32(frame.data() + 4));
                if (auto it = l->pending.find(correlation); it != l->pending.end()) {
                    std::tie(key, version) = it->second;
                    l->pending.erase(it);
                }
            }
            if (l->doomed && *l->doomed == correlation) {
                log(*l, "<-", key, correlation, chaos_fault::kill_answer_lost, frame);
                // The broker handled the request: its answer is dropped with the connection.
                count(chaos_fault::kill_answer_lost);
                co_return kill(*l, l->doomed_decision.reset_client, l->doomed_decision.reset_broker);
            }
            out.clear();
            forward_response(frame.data(), frame.size() - 4, key, version, map, out);
            ++owner.frames_;
            auto d = l->dice.next(frame_direction::response);
            if (owner.paused_) d = {};
            d = spare(*l, key, d);
            log(*l, "<-", key, correlation, d.fault, frame);
            if (d.fault == chaos_fault::kill_mid_response)
                co_return co_await deliver_part_and_kill(*l, l->client, out, d, d.fault);
            if (d.fault != chaos_fault::none && d.fault != chaos_fault::kill_after_response) count(d.fault);
            if (!co_await deliver(*l, l->client, out.data(), out.size(), d)) co_return end(*l);
            if (d.fault == chaos_fault::kill_after_response) {
                count(d.fault);
                co_return kill(*l, d.reset_client, d.reset_broker);
            }
        }
    }

    net::awaitable<void> serve(std::size_t broker, tcp::socket client, std::uint64_t n) {
        auto l = std::make_shared<link>(io, owner.settings_, broker, n);
        l->id = next_link++;
        l->client = std::move(client);
        std::erase_if(links, [](const auto& w) { return w.expired(); });
        links.push_back(l);
        const auto accepted = chaos_clock_t::now();
        auto [ec] = co_await l->broker.async_connect(listeners[broker]->upstream, tuple_awaitable);
        if (trace)
            std::fprintf(stderr, "chaos link %llu broker %zu accepted, upstream connected after %lld ms%s\n",
                         static_cast<unsigned long long>(l->id), broker,
                         static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    chaos_clock_t::now() - accepted)
                                                    .count()),
                         ec ? (" (" + ec.message() + ")").c_str() : "");
        if (ec || l->dead) co_return end(*l);
        boost::system::error_code ignored;
        l->client.set_option(tcp::no_delay(true), ignored);
        l->broker.set_option(tcp::no_delay(true), ignored);
        net::co_spawn(io, pump_requests(l), net::detached);
        net::co_spawn(io, pump_responses(l), net::detached);
    }

    net::awaitable<void> accept_loop(std::size_t broker) {
        auto& lst = *listeners[broker];
        for (;;) {
            auto [ec, socket] = co_await lst.acceptor.async_accept(tuple_awaitable);
            if (ec == net::error::operation_aborted || !lst.acceptor.is_open()) co_return;
            if (ec) continue;
            ++owner.accepted_;
            net::co_spawn(io, serve(broker, std::move(socket), lst.connections++), net::detached);
        }
    }
};

chaos_proxy::chaos_proxy(const std::vector<std::string>& upstreams, chaos_settings settings)
    : settings_(settings), impl_(std::make_unique<impl>(*this)) {
    for (const auto& u : upstreams) {
        const auto [host, port] = peers::split_host_port(u);
        auto l = std::make_unique<impl::listener>(impl_->io);
        boost::system::error_code ec;
        l->upstream = tcp::endpoint(net::ip::make_address(host, ec), port);
        if (ec) throw std::runtime_error("chaos_proxy: upstream " + u + ": " + ec.message());
        const tcp::endpoint local(net::ip::address_v4::loopback(), 0);
        if (l->acceptor.open(local.protocol(), ec), ec || (l->acceptor.bind(local, ec), ec) ||
            (l->acceptor.listen(64, ec), ec))
            throw std::runtime_error("chaos_proxy: listen: " + ec.message());
        const auto ours = l->acceptor.local_endpoint().port();
        impl_->addresses.push_back("127.0.0.1:" + std::to_string(ours));
        impl_->map.ports.emplace_back(port, ours);
        impl_->listeners.push_back(std::move(l));
    }
    for (std::size_t b = 0; b < impl_->listeners.size(); ++b)
        net::co_spawn(impl_->io, impl_->accept_loop(b), net::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

chaos_proxy::~chaos_proxy() {
    net::post(impl_->io, [this] {
        for (auto& l : impl_->listeners) {
            boost::system::error_code ec;
            l->acceptor.close(ec);
        }
        for (auto& w : impl_->links)
            if (auto l = w.lock()) impl_->end(*l);
        impl_->io.stop();
    });
    impl_->thread.join();
}

std::vector<std::string> chaos_proxy::addresses() const { return impl_->addresses; }

std::string chaos_proxy::bootstrap() const {
    std::string out;
    for (const auto& a : impl_->addresses) out += (out.empty() ? "" : ",") + a;
    return out;
}

std::uint64_t chaos_proxy::kills() const noexcept {
    return count(chaos_fault::kill_before_request) + count(chaos_fault::kill_after_response) +
           count(chaos_fault::kill_mid_request) + count(chaos_fault::kill_mid_response) +
           count(chaos_fault::kill_answer_lost);
}

std::string chaos_proxy::describe() const { return "chaos_proxy " + settings_.describe(); }

std::string chaos_proxy::report() const {
    std::ostringstream out;
    out << "connections=" << connections() << " frames=" << frames();
    for (std::size_t k = 1; k < chaos_fault_kinds; ++k)
        out << ' ' << to_string(static_cast<chaos_fault>(k)) << '=' << count(static_cast<chaos_fault>(k));
    out << " resets=" << resets() << " clean_closes=" << clean_closes();
    return out.str();
}

}  // namespace kwire::test

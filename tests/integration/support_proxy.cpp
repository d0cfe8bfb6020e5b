#include "support_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages/api_versions.hpp"
#include "kwire/protocol/messages/sasl_authenticate.hpp"
#include "kwire/protocol/messages/sasl_handshake.hpp"
#include "mock_cluster.hpp"
#include "support_address_rewrite.hpp"

namespace kwire::test {

namespace {

constexpr std::int16_t api_versions_key = api_versions_api_key;
constexpr std::int16_t sasl_handshake_key = 17;
constexpr std::int16_t sasl_authenticate_key = 36;

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }
void set_nodelay(int fd) {
    int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("kafka_proxy: " + what + ": " + std::strerror(errno));
}

}  // namespace

struct kafka_proxy::impl {
    struct listener {
        int fd = -1;
        std::uint16_t port = 0;  // ours
        std::string upstream_host;
        std::uint16_t upstream_port = 0;
    };
    struct connection {
        int client = -1;
        int upstream = -1;
        std::vector<std::uint8_t> client_in, upstream_in, to_upstream, to_client;
        std::map<std::int32_t, std::pair<std::int16_t, std::int16_t>> pending;  // correlation id -> key, version
        bool doomed = false;  // a cut_after() point passed: forward nothing more from the client
        std::int32_t doomed_correlation = 0;
        bool closed = false;
        std::uint16_t upstream_port = 0;
        // SASL gateway
        bool authenticated = false;
        std::unique_ptr<sasl_server_session> sasl;
        std::chrono::steady_clock::time_point session_expiry{};
        std::shared_ptr<sasl_authority> gate;  // copied at accept (under the lock)
        std::int64_t lifetime_ms = 0;
    };
    std::shared_ptr<sasl_authority> sasl_authority_;
    std::int64_t sasl_lifetime_ms = 0;

    kafka_proxy& owner;
    std::vector<listener> listeners;
    // KWIRE_PROXY_TRACE=1: one line per frame on stderr (ms since start, broker port, direction, api, correlation)
    const bool trace = std::getenv("KWIRE_PROXY_TRACE") != nullptr;
    const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    void log(const connection& c, const char* dir, std::int16_t key, std::int32_t correlation) const {
        if (!trace) return;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        std::fprintf(stderr, "proxy %6lld ms  conn %p  broker:%u %s api %d corr %d\n", static_cast<long long>(ms.count()),
                     static_cast<const void*>(&c), c.upstream_port, dir, key, correlation);
    }
    int wake[2] = {-1, -1};
    std::thread thread;

    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;
    std::uint64_t cut_all_requested = 0;
    std::uint64_t cut_all_done = 0;
    std::map<std::int16_t, int> cut_after;  // api key -> requests still to cut after

    std::vector<std::unique_ptr<connection>> conns;  // proxy thread only

    explicit impl(kafka_proxy& o) : owner(o) {}

    void poke() {
        const char c = 1;
        [[maybe_unused]] auto r = ::write(wake[1], &c, 1);
    }

    void close_conn(connection& c) {
        if (c.closed) return;
        c.closed = true;
        if (c.client >= 0) ::close(c.client);
        if (c.upstream >= 0) ::close(c.upstream);
        c.client = c.upstream = -1;
    }

    void accept_on(const listener& l) {
        const int client = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) return;
        const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(l.upstream_port);
        ::inet_pton(AF_INET, l.upstream_host.c_str(), &sa.sin_addr);
        if (upstream < 0 || ::connect(upstream, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
            if (upstream >= 0) ::close(upstream);
            ::close(client);
            return;
        }
        set_nonblocking(upstream);
        set_nodelay(upstream);
        set_nodelay(client);
        auto c = std::make_unique<connection>();
        c->client = client;
        c->upstream = upstream;
        c->upstream_port = l.upstream_port;
        {
            std::lock_guard lock(mu);
            c->gate = sasl_authority_;
            c->lifetime_ms = sasl_lifetime_ms;
        }
        conns.push_back(std::move(c));
        ++owner.accepted_;
    }

    /// Reads what is there; false on EOF or an error.
    static bool read_into(int fd, std::vector<std::uint8_t>& into) {
        std::uint8_t buf[65536];
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            into.insert(into.end(), buf, buf + n);
            return true;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
        return false;
    }

    static bool write_from(int fd, std::vector<std::uint8_t>& from) {
        while (!from.empty()) {
            const auto n = ::send(fd, from.data(), from.size(), MSG_NOSIGNAL);
            if (n > 0) {
                from.erase(from.begin(), from.begin() + n);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
            return false;
        }
        return true;
    }

    void client_frames(connection& c) {
        while (c.client_in.size() >= 4) {
            const std::size_t size = load_u32(c.client_in.data());
            if (c.client_in.size() < 4 + size) return;
            if (!c.doomed && size >= 8) {
                const auto key = load_i16(c.client_in.data() + 4);
                const auto version = load_i16(c.client_in.data() + 6);
                const auto correlation = static_cast<std::int32_t>(load_u32(c.client_in.data() + 8));
                log(c, "->", key, correlation);
                if (c.gate && !sasl_gate(c, key, version, correlation, size)) {
                    if (c.closed) return;
                    c.client_in.erase(c.client_in.begin(), c.client_in.begin() + static_cast<std::ptrdiff_t>(4 + size));
                    continue;
                }
                c.pending[correlation] = {key, version};
                if (key >= 0 && static_cast<std::size_t>(key) < owner.requests_.size())
                    ++owner.requests_[static_cast<std::size_t>(key)];
                {
                    std::lock_guard lock(mu);
                    auto it = cut_after.find(key);
                    if (it != cut_after.end() && it->second > 0) {
                        --it->second;
                        c.doomed = true;
                        c.doomed_correlation = correlation;
                    }
                }
                c.to_upstream.insert(c.to_upstream.end(), c.client_in.begin(),
                                     c.client_in.begin() + static_cast<std::ptrdiff_t>(4 + size));
            }
            c.client_in.erase(c.client_in.begin(), c.client_in.begin() + static_cast<std::ptrdiff_t>(4 + size));
        }
    }

    template <class Resp>
    void reply(connection& c, const Resp& resp, std::int16_t version, std::int32_t correlation) {
        std::vector<std::uint8_t> encoded;
        if (!protocol::encode_response(encoded, resp, version, correlation))
            c.to_client.insert(c.to_client.end(), encoded.begin(), encoded.end());
    }

    /// SASL gateway: handles the frame at the front of c.client_in if it is the proxy's to
    /// answer (returns false), or lets it through (true). Closes the connection as a broker would.
    bool sasl_gate(connection& c, std::int16_t key, std::int16_t version, std::int32_t correlation, std::size_t size) {
        const protocol::bytes_view frame(c.client_in.data() + 4, size);
        if (key == api_versions_key) return true;
        if (key == sasl_handshake_key || key == sasl_authenticate_key) {
            if (!c.pending.empty()) ++owner.sasl_interleaved_;
            if (key == sasl_handshake_key) {
                protocol::SaslHandshakeRequest req;
                protocol::SaslHandshakeResponse resp;
                if (protocol::decode_request(frame, req)) {
                    close_conn(c);
                    return false;
                }
                resp.mechanisms = c.gate->mechanisms();
                c.sasl = c.gate->start(req.mechanism);
                c.authenticated = false;
                if (!c.sasl) resp.error_code = 33;  // UNSUPPORTED_SASL_MECHANISM
                reply(c, resp, version, correlation);
                return false;
            }
            protocol::SaslAuthenticateRequest req;
            protocol::SaslAuthenticateResponse resp;
            if (protocol::decode_request(frame, req) || !c.sasl) {
                close_conn(c);
                return false;
            }
            std::vector<std::uint8_t> out;
            const auto r = c.sasl->step(req.auth_bytes, out);
            resp.auth_bytes = out;
            if (r == sasl_server_session::result::failed) {
                ++owner.sasl_failures_;
                resp.error_code = 58;  // SASL_AUTHENTICATION_FAILED
                resp.error_message = "Authentication failed during authentication due to invalid credentials";
                reply(c, resp, version, correlation);
                write_from(c.client, c.to_client);
                close_conn(c);
                return false;
            }
            if (r == sasl_server_session::result::done) {
                ++owner.sasl_successes_;
                c.authenticated = true;
                c.sasl.reset();
                resp.session_lifetime_ms = c.lifetime_ms;
                c.session_expiry = c.lifetime_ms > 0 ? std::chrono::steady_clock::now() +
                                                              std::chrono::milliseconds(c.lifetime_ms)
                                                        : std::chrono::steady_clock::time_point::max();
            }
            reply(c, resp, version, correlation);
            return false;
        }
        if (!c.authenticated) {
            ++owner.sasl_unauthenticated_;
            close_conn(c);
            return false;
        }
        if (std::chrono::steady_clock::now() > c.session_expiry) {
            ++owner.sasl_expired_closes_;
            close_conn(c);
            return false;
        }
        return true;
    }

    /// SASL gateway: the broker's ApiVersions also lists the SASL APIs the proxy answers.
    void rewrite_api_versions(const std::uint8_t* frame, std::size_t size, std::int16_t version,
                              std::vector<std::uint8_t>& out) {
        protocol::ApiVersionsResponse resp;
        protocol::response_header header;
        std::vector<std::uint8_t> encoded;
        if (protocol::decode_response(protocol::bytes_view(frame + 4, size), version, resp, &header) ||
            resp.error_code != 0) {
            out.insert(out.end(), frame, frame + 4 + size);
            return;
        }
        std::erase_if(resp.api_keys, [](const auto& k) {
            return k.api_key == sasl_handshake_key || k.api_key == sasl_authenticate_key;
        });
        auto& h = resp.api_keys.emplace_back();
        h.api_key = sasl_handshake_key;
        h.min_version = 0;
        h.max_version = 1;
        auto& a = resp.api_keys.emplace_back();
        a.api_key = sasl_authenticate_key;
        a.min_version = 0;
        a.max_version = 2;
        if (protocol::encode_response(encoded, resp, version, header.correlation_id)) {
            out.insert(out.end(), frame, frame + 4 + size);
            return;
        }
        out.insert(out.end(), encoded.begin(), encoded.end());
    }

    /// Metadata and FindCoordinator answers name the proxy's ports (support_address_rewrite.hpp).
    void forward(const std::uint8_t* frame, std::size_t size, std::int16_t key, std::int16_t version,
                 std::vector<std::uint8_t>& out) {
        address_map map;
        map.trace = trace;
        for (const auto& l : listeners) map.ports.emplace_back(l.upstream_port, l.port);
        const auto outcome = forward_response(frame, size, key, version, map, out);
        if (key != metadata_api_key) return;
        ++(outcome == rewrite_outcome::rewritten ? owner.metadata_rewritten_ : owner.metadata_undecodable_);
    }

    void upstream_frames(connection& c) {
        while (c.upstream_in.size() >= 4) {
            const std::size_t size = load_u32(c.upstream_in.data());
            if (c.upstream_in.size() < 4 + size) return;
            const auto* frame = c.upstream_in.data();
            std::int16_t key = -1, version = -1;
            std::int32_t correlation = -1;
            if (size >= 4) {
                correlation = static_cast<std::int32_t>(load_u32(frame + 4));
                if (auto it = c.pending.find(correlation); it != c.pending.end()) {
                    std::tie(key, version) = it->second;
                    c.pending.erase(it);
                }
            }
            log(c, "<-", key, correlation);
            if (c.doomed && correlation == c.doomed_correlation) {
                // The broker processed the request: drop its answer and the connection.
                ++owner.answered_cuts_;
                close_conn(c);
                return;
            }
            if (key == api_versions_key && c.gate) rewrite_api_versions(frame, size, version, c.to_client);
            else forward(frame, size, key, version, c.to_client);
            c.upstream_in.erase(c.upstream_in.begin(), c.upstream_in.begin() + static_cast<std::ptrdiff_t>(4 + size));
        }
    }

    void run() {
        std::vector<pollfd> fds;
        for (;;) {
            {
                std::lock_guard lock(mu);
                if (stop) break;
                if (cut_all_done != cut_all_requested) {
                    for (auto& c : conns)
                        if (!c->closed) {
                            close_conn(*c);
                            ++owner.forced_cuts_;
                        }
                    cut_all_done = cut_all_requested;
                    cv.notify_all();
                }
            }
            std::erase_if(conns, [](const auto& c) { return c->closed; });

            fds.clear();
            fds.push_back({wake[0], POLLIN, 0});
            for (const auto& l : listeners) fds.push_back({l.fd, POLLIN, 0});
            for (const auto& c : conns) {
                fds.push_back({c->client, static_cast<short>(POLLIN | (c->to_client.empty() ? 0 : POLLOUT)), 0});
                fds.push_back({c->upstream, static_cast<short>(POLLIN | (c->to_upstream.empty() ? 0 : POLLOUT)), 0});
            }
            const auto n_conns = conns.size();
            if (::poll(fds.data(), fds.size(), 100) < 0) continue;

            if (fds[0].revents) {
                char buf[64];
                while (::read(wake[0], buf, sizeof buf) > 0) {
                }
            }
            for (std::size_t i = 0; i < listeners.size(); ++i)
                if (fds[1 + i].revents & POLLIN) accept_on(listeners[i]);
            for (std::size_t i = 0; i < n_conns; ++i) {
                auto& c = *conns[i];
                const auto& cf = fds[1 + listeners.size() + 2 * i];
                const auto& uf = fds[2 + listeners.size() + 2 * i];
                if (c.closed) continue;
                if (cf.revents & (POLLIN | POLLHUP | POLLERR)) {
                    if (!read_into(c.client, c.client_in)) {
                        close_conn(c);
                        continue;
                    }
                    client_frames(c);
                }
                if (uf.revents & (POLLIN | POLLHUP | POLLERR)) {
                    const bool open = read_into(c.upstream, c.upstream_in);
                    upstream_frames(c);
                    if (c.closed) continue;
                    if (!open) {
                        // The broker closed: hand over what it said before, then close.
                        write_from(c.client, c.to_client);
                        close_conn(c);
                        continue;
                    }
                }
                if (!write_from(c.upstream, c.to_upstream) || !write_from(c.client, c.to_client)) close_conn(c);
            }
        }
        for (auto& c : conns) close_conn(*c);
        conns.clear();
    }
};

kafka_proxy::kafka_proxy(const std::vector<std::string>& upstreams) : impl_(std::make_unique<impl>(*this)) {
    if (::pipe2(impl_->wake, O_NONBLOCK | O_CLOEXEC) != 0) fail("pipe2");
    for (const auto& u : upstreams) {
        const auto [host, port] = peers::split_host_port(u);
        impl::listener l;
        l.upstream_host = host;
        l.upstream_port = port;
        l.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l.fd < 0) fail("socket");
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = 0;
        if (::bind(l.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) fail("bind");
        if (::listen(l.fd, 64) != 0) fail("listen");
        socklen_t len = sizeof sa;
        if (::getsockname(l.fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) fail("getsockname");
        l.port = ntohs(sa.sin_port);
        impl_->listeners.push_back(l);
    }
    impl_->thread = std::thread([this] { impl_->run(); });
}

kafka_proxy::~kafka_proxy() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->stop = true;
    }
    impl_->poke();
    impl_->thread.join();
    for (auto& l : impl_->listeners) ::close(l.fd);
    ::close(impl_->wake[0]);
    ::close(impl_->wake[1]);
}

std::vector<std::string> kafka_proxy::addresses() const {
    std::vector<std::string> out;
    for (const auto& l : impl_->listeners) out.push_back("127.0.0.1:" + std::to_string(l.port));
    return out;
}

void kafka_proxy::cut_all() {
    std::unique_lock lock(impl_->mu);
    const auto target = ++impl_->cut_all_requested;
    impl_->poke();
    impl_->cv.wait_for(lock, std::chrono::seconds(5), [&] { return impl_->cut_all_done >= target; });
}

void kafka_proxy::require_sasl(std::shared_ptr<sasl_authority> authority, std::int64_t session_lifetime_ms) {
    std::lock_guard lock(impl_->mu);
    impl_->sasl_authority_ = std::move(authority);
    impl_->sasl_lifetime_ms = session_lifetime_ms;
}

void kafka_proxy::cut_after(std::int16_t api_key, int count) {
    std::lock_guard lock(impl_->mu);
    impl_->cut_after[api_key] += count;
}

}  // namespace kwire::test

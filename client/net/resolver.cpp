// dns_resolver (see resolver.hpp): c-ares driven by the user's executor, its sockets watched
// through Asio.
#include "net/resolver.hpp"

#include <ares.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstring>
#include <map>

#include "kwire/client/error.hpp"

namespace kwire::client::detail {

namespace net = boost::asio;
using net::ip::tcp;

namespace {
void init_library_once() {
    static const int status = ares_library_init(ARES_LIB_INIT_ALL);
    (void)status;  // on failure ares_init_options fails too, and says so
}
}  // namespace

struct dns_resolver::op : std::enable_shared_from_this<op> {
    explicit op(net::any_io_executor e) : ex(e), timer(e) {}
    ~op() { shutdown(); }

    // One watched c-ares socket. `id` tells a wait on this descriptor from one on an earlier
    // descriptor with the same number (c-ares may close a socket and open another between two
    // readiness callbacks).
    struct watch {
        std::unique_ptr<net::posix::stream_descriptor> d;
        std::uint64_t id = 0;
        bool want_read = false, want_write = false;
        bool reading = false, writing = false;
    };

    net::any_io_executor ex;
    net::steady_timer timer;
    ares_channel channel = nullptr;
    std::map<ares_socket_t, watch> watches;
    std::uint64_t next_watch_id = 1;
    handler done;
    std::uint16_t port = 0;
    bool have_result = false;
    bool cancelled = false;
    bool shutting_down = false;
    std::error_code result_ec;
    std::vector<tcp::endpoint> result;

    std::error_code start(const std::string& host) {
        init_library_once();
        ares_options opts{};
        opts.sock_state_cb = &op::on_sock_state;
        opts.sock_state_cb_data = this;
        if (ares_init_options(&channel, &opts, ARES_OPT_SOCK_STATE_CB) != ARES_SUCCESS) {
            channel = nullptr;
            return make_error_code(client_errc::name_resolution_failed);
        }
        ares_addrinfo_hints hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_protocol = IPPROTO_TCP;
        // The callback may run inside this call (a name from /etc/hosts needs no I/O).
        ares_getaddrinfo(channel, host.c_str(), nullptr, &hints, &op::on_addrinfo, this);
        after_process();
        return {};
    }

    static void on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) {
        auto* self = static_cast<op*>(arg);
        if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
            if (res) ares_freeaddrinfo(res);
            return;
        }
        self->have_result = true;
        if (status == ARES_SUCCESS && res) {
            for (auto* n = res->nodes; n; n = n->ai_next) {
                if (n->ai_family == AF_INET && n->ai_addrlen >= sizeof(sockaddr_in)) {
                    const auto* sa = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
                    net::ip::address_v4::bytes_type b;
                    std::memcpy(b.data(), &sa->sin_addr, b.size());
                    self->result.emplace_back(net::ip::address_v4(b), self->port);
                } else if (n->ai_family == AF_INET6 && n->ai_addrlen >= sizeof(sockaddr_in6)) {
                    const auto* sa = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
                    net::ip::address_v6::bytes_type b;
                    std::memcpy(b.data(), &sa->sin6_addr, b.size());
                    self->result.emplace_back(net::ip::address_v6(b, sa->sin6_scope_id), self->port);
                }
            }
        }
        if (self->result.empty()) self->result_ec = make_error_code(client_errc::name_resolution_failed);
        if (res) ares_freeaddrinfo(res);
    }

    static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
        auto* self = static_cast<op*>(data);
        if (self->shutting_down) return;
        if (!readable && !writable) {
            if (const auto it = self->watches.find(fd); it != self->watches.end()) {
                // c-ares closes the socket itself: give it back without closing it.
                it->second.d->release();
                self->watches.erase(it);
            }
            return;
        }
        auto& w = self->watches[fd];
        if (!w.d) {
            w.d = std::make_unique<net::posix::stream_descriptor>(self->ex, fd);
            w.id = self->next_watch_id++;
        }
        w.want_read = readable != 0;
        w.want_write = writable != 0;
        // The waits start after c-ares returns (after_process), never from inside it.
    }

    void start_waits() {
        for (auto& [fd, w] : watches) {
            if (w.want_read && !w.reading) wait(fd, w, true);
            if (w.want_write && !w.writing) wait(fd, w, false);
        }
    }

    void wait(ares_socket_t fd, watch& w, bool read) {
        (read ? w.reading : w.writing) = true;
        w.d->async_wait(read ? net::posix::descriptor_base::wait_read : net::posix::descriptor_base::wait_write,
                        [self = shared_from_this(), fd, id = w.id, read](boost::system::error_code ec) {
                            self->on_ready(fd, id, read, ec);
                        });
    }

    void on_ready(ares_socket_t fd, std::uint64_t id, bool read, boost::system::error_code ec) {
        const auto it = watches.find(fd);
        if (it == watches.end() || it->second.id != id) return;  // released meanwhile
        (read ? it->second.reading : it->second.writing) = false;
        if (ec || !channel) return;
        ares_process_fd(channel, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
        after_process();
    }

    void after_process() {
        if (have_result) return finish();
        start_waits();
        timeval tv{};
        const timeval* t = ares_timeout(channel, nullptr, &tv);
        if (!t) return;
        timer.expires_after(std::chrono::seconds(t->tv_sec) + std::chrono::microseconds(t->tv_usec));
        timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec || !self->channel || self->have_result) return;
            ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // c-ares' timeouts
            self->after_process();
        });
    }

    void finish() {
        shutdown();
        auto h = std::move(done);
        done = nullptr;
        if (!h) return;
        net::post(ex, [self = shared_from_this(), h = std::move(h)]() mutable {
            if (!self->cancelled) h(self->result_ec, std::move(self->result));
        });
    }

    void shutdown() {
        if (shutting_down) return;
        shutting_down = true;
        for (auto& [fd, w] : watches) w.d->release();  // cancels the waits; c-ares closes the sockets
        watches.clear();
        timer.cancel();
        if (channel) ares_destroy(channel);
        channel = nullptr;
    }
};

dns_resolver::dns_resolver(net::any_io_executor ex) : ex_(ex) {}

dns_resolver::~dns_resolver() { cancel(); }

void dns_resolver::async_resolve(const std::string& host, std::uint16_t port, handler h) {
    cancel();
    op_ = std::make_shared<op>(ex_);
    op_->done = std::move(h);
    op_->port = port;
    if (auto ec = op_->start(host)) {
        op_->result_ec = ec;
        op_->have_result = true;
        op_->finish();
    }
}

void dns_resolver::cancel() {
    if (!op_) return;
    op_->cancelled = true;
    op_->shutdown();
    op_.reset();
}

}  // namespace kwire::client::detail

// tcp_ping_pong: a listener on an ephemeral loopback port, one server thread, and the calling
// thread as the client (TCP_NODELAY on both ends, as both clients set it). tcp_relay: the same
// with two connections and two server threads handing over through a condition variable.
#include "floor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench_common.hpp"
#include "socket_io.hpp"

namespace kwire::bench {

namespace {

constexpr std::size_t warmup = 200;

void fail(const char* what) { throw std::runtime_error(std::string("tcp floor: ") + what + ": " + std::strerror(errno)); }

/// A loopback listener on an ephemeral port; returns its fd and fills `addr`.
int listen_loopback(sockaddr_in& addr, int backlog) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) fail("socket");
    addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, backlog) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(listener);
        fail("listen");
    }
    return listener;
}

int connect_loopback(const sockaddr_in& addr) {
    const int one = 1;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("socket");
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        fail("connect");
    }
    return fd;
}

int accept_nodelay(int listener) {
    const int one = 1;
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) fail("accept");
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

}  // namespace

std::vector<std::uint64_t> tcp_ping_pong(std::size_t request_bytes, std::size_t response_bytes, std::size_t count,
                                         bool spinning_client) {
    sockaddr_in addr{};
    const int listener = listen_loopback(addr, 1);
    const std::size_t total = warmup + count;
    std::thread server([&] {
        const int fd = ::accept(listener, nullptr, nullptr);
        if (fd < 0) return;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::vector<std::uint8_t> in(request_bytes), out(response_bytes, 0x5a);
        for (std::size_t i = 0; i < total; ++i)
            if (!recv_exact(fd, in.data(), in.size(), false) || !send_all(fd, out.data(), out.size())) break;
        ::close(fd);
    });
    std::vector<std::uint64_t> latency;
    latency.reserve(count);
    int fd = -1;
    bool ok = true;
    try {
        fd = connect_loopback(addr);
    } catch (const std::exception&) {
        ok = false;
    }
    std::vector<std::uint8_t> out(request_bytes, 0xa5), in(response_bytes);
    for (std::size_t i = 0; ok && i < total; ++i) {
        const auto t0 = bench_clock::now();
        ok = send_all(fd, out.data(), out.size()) && recv_exact(fd, in.data(), in.size(), spinning_client);
        if (ok && i >= warmup) latency.push_back(elapsed_ns(t0, bench_clock::now()));
    }
    if (fd >= 0) ::close(fd);
    ::shutdown(listener, SHUT_RDWR);
    server.join();
    ::close(listener);
    if (!ok) fail("ping-pong");
    return latency;
}

std::vector<std::uint64_t> tcp_relay(std::size_t request_bytes, std::size_t response_bytes, std::size_t count) {
    sockaddr_in addr{};
    const int listener = listen_loopback(addr, 2);
    const int producer = connect_loopback(addr);
    const int in_fd = accept_nodelay(listener);
    const int consumer = connect_loopback(addr);
    const int out_fd = accept_nodelay(listener);
    const std::size_t total = warmup + count;
    std::mutex mu;
    std::condition_variable arrived;
    std::size_t received = 0;  // guarded by mu
    bool closed = false;
    // The "produce" thread reads each request and wakes the "fetch" thread, which writes.
    std::thread produce_side([&] {
        std::vector<std::uint8_t> in(request_bytes);
        for (std::size_t i = 0; i < total; ++i) {
            if (!recv_exact(in_fd, in.data(), in.size(), false)) break;
            std::lock_guard lock(mu);
            ++received;
            arrived.notify_one();
        }
        std::lock_guard lock(mu);
        closed = true;
        arrived.notify_one();
    });
    std::thread fetch_side([&] {
        std::vector<std::uint8_t> out(response_bytes, 0x5a);
        for (std::size_t sent = 0; sent < total; ++sent) {
            std::unique_lock lock(mu);
            arrived.wait(lock, [&] { return received > sent || closed; });
            if (received <= sent) break;
            lock.unlock();
            if (!send_all(out_fd, out.data(), out.size())) break;
        }
    });
    std::vector<std::uint64_t> latency;
    latency.reserve(count);
    std::vector<std::uint8_t> out(request_bytes, 0xa5), in(response_bytes);
    bool ok = true;
    for (std::size_t i = 0; ok && i < total; ++i) {
        const auto t0 = bench_clock::now();
        ok = send_all(producer, out.data(), out.size()) && recv_exact(consumer, in.data(), in.size(), true);
        if (ok && i >= warmup) latency.push_back(elapsed_ns(t0, bench_clock::now()));
    }
    ::shutdown(producer, SHUT_RDWR);
    ::shutdown(consumer, SHUT_RDWR);
    produce_side.join();
    fetch_side.join();
    for (int fd : {producer, consumer, in_fd, out_fd, listener}) ::close(fd);
    if (!ok) fail("relay");
    return latency;
}

}  // namespace kwire::bench

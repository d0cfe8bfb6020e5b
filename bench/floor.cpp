// tcp_ping_pong: a listener on an ephemeral loopback port, one server thread, and the calling
// thread as the client (TCP_NODELAY on both ends, as both clients set it).
#include "floor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "bench_common.hpp"
#include "socket_io.hpp"

namespace kwire::bench {

namespace {

constexpr std::size_t warmup = 200;

void fail(const char* what) { throw std::runtime_error(std::string("tcp floor: ") + what + ": " + std::strerror(errno)); }

}  // namespace

std::vector<std::uint64_t> tcp_ping_pong(std::size_t request_bytes, std::size_t response_bytes, std::size_t count,
                                         bool spinning_client) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) fail("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 1) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(listener);
        fail("listen");
    }
    const int one = 1;
    const std::size_t total = warmup + count;
    std::thread server([&] {
        const int fd = ::accept(listener, nullptr, nullptr);
        if (fd < 0) return;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::vector<std::uint8_t> in(request_bytes), out(response_bytes, 0x5a);
        for (std::size_t i = 0; i < total; ++i)
            if (!recv_exact(fd, in.data(), in.size(), false) || !send_all(fd, out.data(), out.size())) break;
        ::close(fd);
    });
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<std::uint64_t> latency;
    latency.reserve(count);
    bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
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

}  // namespace kwire::bench

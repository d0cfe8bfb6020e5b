#include "blocking_connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "mock_cluster.hpp"  // split_host_port

namespace kwire::peers {

namespace {

/// Largest response we accept; anything bigger means the size prefix is garbage.
constexpr std::int32_t max_response_size = 256 * 1024 * 1024;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

blocking_connection::blocking_connection(const std::string& address, std::chrono::milliseconds timeout,
                                         std::string client_id)
    : address_(address), client_id_(std::move(client_id)) {
    std::pair<std::string, std::uint16_t> hp;
    try {
        hp = split_host_port(address);
    } catch (const std::exception& e) {
        throw connection_error(e.what());
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const auto port = std::to_string(hp.second);
    if (int rc = ::getaddrinfo(hp.first.c_str(), port.c_str(), &hints, &res); rc != 0)
        throw connection_error("getaddrinfo " + address + ": " + ::gai_strerror(rc));

    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    std::string last_error = "no addresses";
    for (auto* ai = res; ai; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) { last_error = errno_text("socket"); continue; }
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            fd_ = fd;
            break;
        }
        last_error = errno_text("connect");
        ::close(fd);
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) throw connection_error("connect to " + address + ": " + last_error);
}

blocking_connection::~blocking_connection() {
    if (fd_ >= 0) ::close(fd_);
}

blocking_connection::blocking_connection(blocking_connection&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      address_(std::move(o.address_)),
      client_id_(std::move(o.client_id_)),
      next_correlation_id_(o.next_correlation_id_),
      last_request_(std::move(o.last_request_)),
      last_response_(std::move(o.last_response_)) {}

blocking_connection& blocking_connection::operator=(blocking_connection&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        address_ = std::move(o.address_);
        client_id_ = std::move(o.client_id_);
        next_correlation_id_ = o.next_correlation_id_;
        last_request_ = std::move(o.last_request_);
        last_response_ = std::move(o.last_response_);
    }
    return *this;
}

void blocking_connection::send_all(const std::uint8_t* p, std::size_t n) {
    while (n) {
        const auto w = ::send(fd_, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw connection_error(errno_text(("send to " + address_).c_str()));
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

void blocking_connection::recv_all(std::uint8_t* p, std::size_t n) {
    while (n) {
        const auto r = ::recv(fd_, p, n, 0);
        if (r == 0) throw connection_error("connection to " + address_ + " closed by peer");
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw connection_error("timed out waiting for a response from " + address_);
            throw connection_error(errno_text(("recv from " + address_).c_str()));
        }
        p += r;
        n -= static_cast<std::size_t>(r);
    }
}

std::vector<std::uint8_t> blocking_connection::roundtrip(const std::vector<std::uint8_t>& request_frame) {
    if (fd_ < 0) throw connection_error("not connected");
    send_all(request_frame.data(), request_frame.size());
    std::uint8_t size_buf[4];
    recv_all(size_buf, 4);
    const auto size = kwire::protocol::load_be<std::int32_t>(size_buf);
    if (size < 4 || size > max_response_size)
        throw connection_error("bad response size " + std::to_string(size) + " from " + address_);
    std::vector<std::uint8_t> body(static_cast<std::size_t>(size));
    recv_all(body.data(), body.size());
    return body;
}

}  // namespace kwire::peers

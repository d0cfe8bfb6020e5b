// Whole-buffer reads and writes on a blocking or spinning TCP socket, for the bench's own
// servers and clients (instant_broker, the TCP floor).
#pragma once

#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

namespace kwire::bench {

/// Reads exactly n bytes; false on EOF or error. `spin`: non-blocking reads, yielding between
/// them as kwire::run_spinning does, so that a thread woken on this CPU runs at once.
inline bool recv_exact(int fd, std::uint8_t* p, std::size_t n, bool spin = false) {
    while (n > 0) {
        const auto got = ::recv(fd, p, n, spin ? MSG_DONTWAIT : 0);
        if (got < 0 && spin && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            sched_yield();
            continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

/// Writes all n bytes; false on error.
inline bool send_all(int fd, const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        const auto put = ::send(fd, p, n, MSG_NOSIGNAL);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return false;
        p += put;
        n -= static_cast<std::size_t>(put);
    }
    return true;
}

}  // namespace kwire::bench

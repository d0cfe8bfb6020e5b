// Splits the byte stream of a broker connection into response frames, without doing any I/O:
// the Asio layer reads into prepare(), reports commit(n), then takes frames with next().
//
// Each frame is an INT32 size followed by that many bytes. The size is checked before anything
// is reserved for it: negative sizes and sizes above the configured maximum fail the connection.
// A plaintext client that reached a TLS port would otherwise read a TLS alert or handshake
// (0x15 0x03 ... / 0x16 0x03 ...) as a size of ~350 MB (KAFKA-4090); that is reported as what it is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "kwire/protocol/types.hpp"

namespace kwire::client::detail {

class frame_reader {
public:
    explicit frame_reader(std::size_t max_frame_bytes = 100 * 1024 * 1024) noexcept
        : max_frame_(max_frame_bytes) {}

    /// Writable space of at least `min_bytes` at the end of the buffered data.
    std::span<std::uint8_t> prepare(std::size_t min_bytes = 64 * 1024);
    /// `n` bytes were written into the span prepare() returned.
    void commit(std::size_t n) noexcept { end_ += n; }

    /// The next complete frame's body (size prefix removed), or nullopt when more bytes are
    /// needed or on error (then `ec` is set and the connection must be closed). The view is valid
    /// until the next call to next() or prepare().
    std::optional<protocol::bytes_view> next(std::error_code& ec);

    /// Bytes buffered but not yet returned as frames.
    std::size_t buffered() const noexcept { return end_ - begin_; }
    std::size_t max_frame_bytes() const noexcept { return max_frame_; }
    /// Forgets buffered bytes, keeping the buffer (a read may still be pending into it).
    void reset() noexcept { begin_ = end_ = missing_ = 0; }

private:
    std::vector<std::uint8_t> buf_;
    std::size_t begin_ = 0;  // start of unconsumed data
    std::size_t end_ = 0;    // end of valid data
    std::size_t max_frame_;
    std::size_t missing_ = 0;  // bytes still needed for the frame whose size is known
};

/// Whether the first bytes of a stream look like a TLS record (alert or handshake), which a
/// plaintext Kafka connection can only receive from a TLS listener.
constexpr bool looks_like_tls(const std::uint8_t* p, std::size_t n) noexcept {
    return n >= 3 && (p[0] == 0x15 || p[0] == 0x16) && p[1] == 0x03 && p[2] <= 0x04;
}

}  // namespace kwire::client::detail

// Internal: the per-codec entry points behind compress()/decompress(), and the capped output
// buffer every decompressor writes through.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "kwire/protocol/error.hpp"
#include "kwire/protocol/types.hpp"

namespace kwire::codec::detail {

using protocol::bytes_view;
using byte_vector = std::vector<std::uint8_t>;

/// Grows an output vector in steps while a decompressor fills it, never beyond cap + 1 bytes:
/// producing that one extra byte is how a decompressor learns the cap was exceeded, without ever
/// allocating what a header merely claims. rollback() or done() must end every use.
class capped_output {
public:
    capped_output(byte_vector& out, std::size_t cap) noexcept
        : out_(out), start_(out.size()), used_(out.size()),
          limit_(cap == std::numeric_limits<std::size_t>::max() ? cap : cap + 1), cap_(cap) {}

    /// Free space to write into (at least one byte), or an empty span when cap + 1 bytes have
    /// been produced. `hint` is the caller's guess of the total output (e.g. a content size
    /// already checked against the cap); it only sizes the first step.
    std::span<std::uint8_t> window(std::size_t hint = 0) {
        if (out_.size() == used_) {
            const std::size_t produced_so_far = produced();
            const std::size_t allowed = limit_ - produced_so_far;
            if (allowed == 0) return {};
            // First step: the hint (or 64 KiB); later steps double what we have, so the number
            // of steps is logarithmic and the overshoot is bounded by the cap.
            std::size_t step = produced_so_far == 0 ? (hint != 0 ? hint + 1 : first_step)
                                                    : std::max(produced_so_far, first_step);
            step = std::min(step, allowed);
            out_.resize(used_ + step);
        }
        return {out_.data() + used_, out_.size() - used_};
    }
    void commit(std::size_t n) noexcept { used_ += n; }

    std::size_t produced() const noexcept { return used_ - start_; }
    std::size_t room_left_under_cap() const noexcept {
        return produced() >= cap_ ? 0 : cap_ - produced();
    }
    bool exceeded() const noexcept { return produced() > cap_; }

    /// Ensures n bytes of space right now (for codecs that know a chunk's exact size, after the
    /// caller checked it against room_left_under_cap()); returns where they start.
    std::uint8_t* exact(std::size_t n) {
        out_.resize(used_ + n);
        return out_.data() + used_;
    }

    void done() { out_.resize(used_); }
    void rollback() { out_.resize(start_); }

private:
    static constexpr std::size_t first_step = 64 * 1024;
    byte_vector& out_;
    std::size_t start_;
    std::size_t used_;
    std::size_t limit_;
    std::size_t cap_;
};

inline std::error_code error(errc e) noexcept { return make_error_code(e); }

std::error_code gzip_compress(bytes_view in, byte_vector& out, std::optional<int> level);
std::error_code gzip_decompress(bytes_view in, byte_vector& out, std::size_t cap);

std::error_code snappy_compress_xerial(bytes_view in, byte_vector& out);
std::error_code snappy_compress_raw(bytes_view in, byte_vector& out);
std::error_code snappy_decompress(bytes_view in, byte_vector& out, std::size_t cap);

std::error_code lz4_compress(bytes_view in, byte_vector& out, std::optional<int> level);
/// legacy_v0_framing: Kafka's magic-0 messages carry an LZ4 frame whose header checksum was
/// computed over the wrong bytes (KAFKA-3160); when set, the checksum is recomputed before
/// decoding instead of trusted.
std::error_code lz4_decompress(bytes_view in, byte_vector& out, std::size_t cap,
                               bool legacy_v0_framing = false);

/// The lz4 frame written piece by piece, so a batch builder can compress each 64 KiB block as
/// soon as its records are appended (while they are still in cache) instead of the whole batch at
/// finish(). The bytes are those LZ4F writes for Kafka's preferences: version 1, independent
/// 64 KiB blocks, no checksums, no content size; a block that does not shrink is stored raw.
/// Only for the fast levels (< 3); LZ4-HC goes through lz4_compress.
inline constexpr std::size_t lz4_block_size = 64 * 1024;
inline constexpr std::size_t lz4_frame_header_size = 7;
inline constexpr std::size_t lz4_end_mark_size = 4;
void lz4_frame_header(byte_vector& out);
/// Appends one block (in.size() <= lz4_block_size, not empty).
std::error_code lz4_frame_block(bytes_view in, byte_vector& out, int level);
void lz4_frame_end(byte_vector& out);

std::error_code zstd_compress(bytes_view in, byte_vector& out, std::optional<int> level);
std::error_code zstd_decompress(bytes_view in, byte_vector& out, std::size_t cap);

}  // namespace kwire::codec::detail

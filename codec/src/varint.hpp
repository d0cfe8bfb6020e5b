// Internal: bounded zigzag varint decoding for the record decoders' hot path.
//
// Same rules as protocol::reader (at most 5 bytes for a varint, 10 for a varlong, no bits beyond
// the type's width), but without the sticky-error machinery: the record decoder maps each
// failure to the error that fits the field it was reading.
#pragma once

#include <cstdint>

#include "kwire/protocol/wire.hpp"

namespace kwire::codec::detail {

enum class varint_status : std::uint8_t { ok, truncated, too_long };

/// Decodes a varint (zigzag int32) from [p, end); advances p only on success.
inline varint_status read_varint(const std::uint8_t*& p, const std::uint8_t* end, std::int32_t& out) noexcept {
    if (p != end && *p < 0x80) [[likely]] {
        out = protocol::unzigzag32(*p++);
        return varint_status::ok;
    }
    std::uint32_t v = 0;
    const std::uint8_t* q = p;
    for (unsigned shift = 0;; shift += 7) {
        if (q == end) return varint_status::truncated;
        const std::uint8_t b = *q++;
        // The fifth byte may only carry the top 4 bits, and must be the last.
        if (shift == 28 && (b & 0xf0) != 0) return varint_status::too_long;
        v |= static_cast<std::uint32_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) break;
    }
    p = q;
    out = protocol::unzigzag32(v);
    return varint_status::ok;
}

/// Decodes a varlong (zigzag int64) from [p, end); advances p only on success.
inline varint_status read_varlong(const std::uint8_t*& p, const std::uint8_t* end, std::int64_t& out) noexcept {
    if (p != end && *p < 0x80) [[likely]] {
        out = protocol::unzigzag64(*p++);
        return varint_status::ok;
    }
    std::uint64_t v = 0;
    const std::uint8_t* q = p;
    for (unsigned shift = 0;; shift += 7) {
        if (q == end) return varint_status::truncated;
        const std::uint8_t b = *q++;
        // The tenth byte may only carry the top bit, and must be the last.
        if (shift == 63 && (b & 0xfe) != 0) return varint_status::too_long;
        v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
        if ((b & 0x80) == 0) break;
    }
    p = q;
    out = protocol::unzigzag64(v);
    return varint_status::ok;
}


/// The tail of reading a nullable length-prefixed field, once the length `n` is known (INT32 in
/// legacy message sets, a varint in v2 records): -1 is null, other negatives are malformed, and
/// the bytes must lie within [p, end).
inline errc take_nullable(std::int32_t n, const std::uint8_t*& p, const std::uint8_t* end,
                          std::optional<bytes_view>& out) noexcept {
    if (n < 0) {
        if (n != -1) return errc::negative_length;
        out.reset();
        return errc::ok;
    }
    if (static_cast<std::size_t>(n) > static_cast<std::size_t>(end - p)) return errc::length_too_large;
    out = bytes_view{p, static_cast<std::size_t>(n)};
    p += n;
    return errc::ok;
}

}  // namespace kwire::codec::detail

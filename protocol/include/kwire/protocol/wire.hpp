// Wire primitives of the Kafka protocol: a writer that appends to a byte vector and a reader that
// never trusts its input. Every generated message codec and the record-batch codec use these.
//
// The reader keeps the first error and turns every later read into a no-op returning a zero value,
// so decoders can read a whole struct and check once; loops over counts stop on the first error.
// Every length and count is checked against the bytes that remain *before* anything is allocated.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/protocol/error.hpp"
#include "kwire/protocol/types.hpp"

namespace kwire::protocol {

// ---------------------------------------------------------------------------------------------
// Varint helpers (unsigned LEB128 and zigzag), shared by the message and record codecs.

/// Bytes an unsigned varint of v takes on the wire.
constexpr std::size_t uvarint_size(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) { v >>= 7; ++n; }
    return n;
}
constexpr std::uint32_t zigzag32(std::int32_t v) noexcept {
    return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}
constexpr std::uint64_t zigzag64(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int32_t unzigzag32(std::uint32_t v) noexcept {
    return static_cast<std::int32_t>((v >> 1) ^ (~(v & 1) + 1));
}
constexpr std::int64_t unzigzag64(std::uint64_t v) noexcept {
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}
constexpr std::size_t varint_size(std::int32_t v) noexcept { return uvarint_size(zigzag32(v)); }
constexpr std::size_t varlong_size(std::int64_t v) noexcept { return uvarint_size(zigzag64(v)); }

/// Writes an unsigned varint at p (which must have room for 10 bytes); returns the end.
inline std::uint8_t* put_uvarint(std::uint8_t* p, std::uint64_t v) noexcept {
    while (v >= 0x80) { *p++ = static_cast<std::uint8_t>(v | 0x80); v >>= 7; }
    *p++ = static_cast<std::uint8_t>(v);
    return p;
}

template <class U> constexpr U byteswap(U u) noexcept {
    if constexpr (sizeof(U) == 2) return static_cast<U>(__builtin_bswap16(u));
    else if constexpr (sizeof(U) == 4) return static_cast<U>(__builtin_bswap32(u));
    else if constexpr (sizeof(U) == 8) return static_cast<U>(__builtin_bswap64(u));
    else return u;
}

template <class T> inline void store_be(std::uint8_t* p, T v) noexcept {
    using U = std::make_unsigned_t<T>;
    auto u = static_cast<U>(v);
    if constexpr (std::endian::native == std::endian::little) u = byteswap(u);
    std::memcpy(p, &u, sizeof(U));
}
template <class T> inline T load_be(const std::uint8_t* p) noexcept {
    using U = std::make_unsigned_t<T>;
    U u;
    std::memcpy(&u, p, sizeof(U));
    if constexpr (std::endian::native == std::endian::little) u = byteswap(u);
    return static_cast<T>(u);
}

// ---------------------------------------------------------------------------------------------

/// Appends Kafka primitives to a byte vector. Encoding has no side effects beyond the append,
/// so a retried request can simply be encoded again.
class writer {
public:
    explicit writer(std::vector<std::uint8_t>& out) noexcept : out_(&out) {}

    std::vector<std::uint8_t>& buffer() noexcept { return *out_; }
    std::size_t size() const noexcept { return out_->size(); }

    /// Grows the buffer by n bytes and returns where they start (for writers that fill in place).
    std::uint8_t* grow(std::size_t n) {
        const auto at = out_->size();
        out_->resize(at + n);
        return out_->data() + at;
    }

    void i8(std::int8_t v) { out_->push_back(static_cast<std::uint8_t>(v)); }
    void boolean(bool v) { out_->push_back(v ? 1 : 0); }
    void i16(std::int16_t v) { store_be(grow(2), v); }
    void u16(std::uint16_t v) { store_be(grow(2), v); }
    void i32(std::int32_t v) { store_be(grow(4), v); }
    void u32(std::uint32_t v) { store_be(grow(4), v); }
    void i64(std::int64_t v) { store_be(grow(8), v); }
    void f64(double v) { store_be(grow(8), std::bit_cast<std::uint64_t>(v)); }
    void id(const uuid& u) { raw(u.bytes.data(), u.bytes.size()); }

    void uvarint(std::uint64_t v) {
        std::uint8_t tmp[10];
        raw(tmp, static_cast<std::size_t>(put_uvarint(tmp, v) - tmp));
    }
    void varint(std::int32_t v) { uvarint(zigzag32(v)); }
    void varlong(std::int64_t v) { uvarint(zigzag64(v)); }

    /// Appends n bytes copied from p (never from this buffer itself). Long runs (a Produce
    /// request's record batches) are copied once, without zero-filling the space first.
    void raw(const void* p, std::size_t n) {
        if (n >= long_run) return append_long(*out_, p, n);
        if (n) std::memcpy(grow(n), p, n);
    }

    // Lengths: classic forms are INT16 (strings) / INT32 (bytes, arrays); compact forms are an
    // unsigned varint of length+1, with 0 meaning null.
    void string_length(std::size_t n, bool compact) {
        compact ? uvarint(n + 1) : i16(static_cast<std::int16_t>(n));
    }
    void bytes_length(std::size_t n, bool compact) {
        compact ? uvarint(n + 1) : i32(static_cast<std::int32_t>(n));
    }
    void array_length(std::size_t n, bool compact) { bytes_length(n, compact); }
    void null_string(bool compact) { compact ? uvarint(0) : i16(-1); }
    void null_bytes(bool compact) { compact ? uvarint(0) : i32(-1); }
    void null_array(bool compact) { null_bytes(compact); }

    void string(std::string_view s, bool compact) {
        string_length(s.size(), compact);
        raw(s.data(), s.size());
    }
    void nullable_string(const std::optional<std::string>& s, bool compact) {
        s ? string(*s, compact) : null_string(compact);
    }
    void bytes(bytes_view b, bool compact) {
        bytes_length(b.size(), compact);
        raw(b.data(), b.size());
    }
    void nullable_bytes(const std::optional<bytes_view>& b, bool compact) {
        b ? bytes(*b, compact) : null_bytes(compact);
    }

    /// Reserves an INT32 to be patched later (frame sizes, batch lengths); returns its offset.
    std::size_t reserve_i32() {
        const auto at = out_->size();
        grow(4);
        return at;
    }
    void patch_i32(std::size_t at, std::int32_t v) noexcept { store_be(out_->data() + at, v); }

private:
    static constexpr std::size_t long_run = 256;
    static void append_long(std::vector<std::uint8_t>& out, const void* p, std::size_t n);  // wire.cpp

    std::vector<std::uint8_t>* out_;
};

// ---------------------------------------------------------------------------------------------

/// Reads Kafka primitives from a byte span, bounds-checking everything. Views it hands out
/// (string_view, bytes_view) point into the input, which must outlive them.
class reader {
public:
    reader() noexcept = default;
    reader(const std::uint8_t* p, std::size_t n) noexcept : p_(p), end_(p + n) {}
    explicit reader(bytes_view b) noexcept : reader(b.data(), b.size()) {}

    bool ok() const noexcept { return !err_; }
    std::error_code error() const noexcept { return err_; }
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
    const std::uint8_t* position() const noexcept { return p_; }

    /// Records the first error; later reads return zero values.
    void fail(std::error_code ec) noexcept {
        if (!err_) err_ = ec;
        p_ = end_;
    }
    void fail(errc e) noexcept { fail(make_error_code(e)); }

    /// Whether n more bytes are available; fails with `truncated` if not.
    bool need(std::size_t n) noexcept {
        if (remaining() >= n) return true;
        fail(errc::truncated);
        return false;
    }

    std::int8_t i8() noexcept { return fixed<std::int8_t>(); }
    bool boolean() noexcept { return fixed<std::uint8_t>() != 0; }
    std::int16_t i16() noexcept { return fixed<std::int16_t>(); }
    std::uint16_t u16() noexcept { return fixed<std::uint16_t>(); }
    std::int32_t i32() noexcept { return fixed<std::int32_t>(); }
    std::uint32_t u32() noexcept { return fixed<std::uint32_t>(); }
    std::int64_t i64() noexcept { return fixed<std::int64_t>(); }
    double f64() noexcept { return std::bit_cast<double>(fixed<std::uint64_t>()); }
    uuid id() noexcept {
        uuid u;
        if (need(16)) { std::memcpy(u.bytes.data(), p_, 16); p_ += 16; }
        return u;
    }

    /// Unsigned varint of at most max_bytes (5 for 32-bit values, 10 for 64-bit).
    std::uint64_t uvarint(unsigned max_bytes = 5) noexcept {
        std::uint64_t v = 0;
        for (unsigned i = 0, shift = 0; i < max_bytes; ++i, shift += 7) {
            if (p_ == end_) { fail(errc::truncated); return 0; }
            const std::uint8_t b = *p_++;
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) {
                if (max_bytes == 5 && v > 0xffffffffu) break;  // fifth byte carries > 4 bits
                if (i == 9 && b > 1) break;                    // tenth byte carries > 1 bit
                return v;
            }
        }
        fail(errc::varint_too_long);
        return 0;
    }
    std::int32_t varint() noexcept { return unzigzag32(static_cast<std::uint32_t>(uvarint(5))); }
    std::int64_t varlong() noexcept { return unzigzag64(uvarint(10)); }

    /// A span of n bytes, bounds-checked.
    bytes_view take(std::size_t n) noexcept {
        if (!need(n)) return {};
        bytes_view v{p_, n};
        p_ += n;
        return v;
    }
    void skip(std::size_t n) noexcept { take(n); }

    /// Length of a string/bytes/array: -1 for null, else the length. A length below -1, or above
    /// what remains (times the smallest element size), is an error reported here, before any
    /// caller allocates.
    std::int64_t string_length(bool compact) noexcept {
        return checked_length(compact ? static_cast<std::int64_t>(uvarint()) - 1 : i16(), 1);
    }
    std::int64_t bytes_length(bool compact) noexcept {
        return checked_length(compact ? static_cast<std::int64_t>(uvarint()) - 1 : i32(), 1);
    }
    std::int64_t array_length(bool compact, std::size_t min_element_size) noexcept {
        return checked_length(compact ? static_cast<std::int64_t>(uvarint()) - 1 : i32(),
                              min_element_size);
    }

    std::string_view string_view(bool compact) noexcept {
        const auto n = string_length(compact);
        if (n < 0) { if (ok()) fail(errc::negative_length); return {}; }
        return take(static_cast<std::size_t>(n)).as_string();
    }
    std::string string(bool compact) { return std::string(string_view(compact)); }
    std::optional<std::string> nullable_string(bool compact) {
        const auto n = string_length(compact);
        if (n < 0) return std::nullopt;
        return std::string(take(static_cast<std::size_t>(n)).as_string());
    }
    bytes_view blob(bool compact) noexcept {
        const auto n = bytes_length(compact);
        if (n < 0) { if (ok()) fail(errc::negative_length); return {}; }
        return take(static_cast<std::size_t>(n));
    }
    std::optional<kwire::protocol::bytes_view> nullable_blob(bool compact) noexcept {
        const auto n = bytes_length(compact);
        if (n < 0) return std::nullopt;
        return take(static_cast<std::size_t>(n));
    }

private:
    template <class T> T fixed() noexcept {
        if (!need(sizeof(T))) return T{};
        const T v = load_be<T>(p_);
        p_ += sizeof(T);
        return v;
    }
    std::int64_t checked_length(std::int64_t n, std::size_t min_element_size) noexcept {
        if (!ok()) return -1;
        if (n < -1) { fail(errc::negative_length); return -1; }
        if (n > 0 && static_cast<std::uint64_t>(n) * min_element_size > remaining()) {
            fail(errc::length_too_large);
            return -1;
        }
        return n;
    }

    const std::uint8_t* p_ = nullptr;
    const std::uint8_t* end_ = nullptr;
    std::error_code err_;
};

}  // namespace kwire::protocol

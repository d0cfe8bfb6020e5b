// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of RecordBatch v2.
//
// Hardware path: the SSE4.2 crc32 instruction has a latency of 3 cycles but a throughput of one
// per cycle, so a single dependency chain runs at a third of the possible speed. Large inputs are
// therefore cut into three adjacent blocks whose CRCs are computed in three independent chains,
// then merged: crc(A ++ B) = shift(crc(A), |B|) ^ crc_raw(B), where shift() advances a CRC over
// |B| zero bytes. That shift is a linear map over GF(2), precomputed at compile time as four
// byte-indexed tables per block size (no PCLMUL needed). This is Mark Adler's crc32c scheme.
//
// Portable path: slicing-by-8 tables, for CPUs without SSE4.2 (and to check the hardware path).
#include "kwire/codec/crc.hpp"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define KWIRE_CRC32C_X86 1
#endif

namespace kwire::codec {
namespace {

constexpr std::uint32_t poly = 0x82F63B78u;  // reflected Castagnoli polynomial

// ---- compile-time tables ------------------------------------------------------------------------

using table8 = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr table8 make_slicing_tables() {
    table8 t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? poly : 0u);
        t[0][i] = c;
    }
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xffu];
    return t;
}
constexpr table8 slicing = make_slicing_tables();

// A 32x32 matrix over GF(2): column n is the image of bit n.
using gf2_matrix = std::array<std::uint32_t, 32>;

constexpr std::uint32_t gf2_times(const gf2_matrix& m, std::uint32_t v) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; v != 0; ++i, v >>= 1)
        if (v & 1u) sum ^= m[i];
    return sum;
}
constexpr gf2_matrix gf2_square(const gf2_matrix& m) {
    gf2_matrix sq{};
    for (std::size_t n = 0; n < 32; ++n) sq[n] = gf2_times(m, m[n]);
    return sq;
}

using shift_table = std::array<std::array<std::uint32_t, 256>, 4>;

/// Tables that advance a (non-inverted) CRC register over `zero_bytes` zero bytes, which must be a
/// power of two.
constexpr shift_table make_shift_table(std::size_t zero_bytes) {
    gf2_matrix op{};  // one zero bit: c -> (c >> 1) ^ (c & 1 ? poly : 0)
    op[0] = poly;
    for (std::size_t n = 1; n < 32; ++n) op[n] = 1u << (n - 1);
    for (std::size_t bits = 1; bits < zero_bytes * 8; bits *= 2) op = gf2_square(op);
    shift_table t{};
    for (std::size_t k = 0; k < 4; ++k)
        for (std::uint32_t b = 0; b < 256; ++b) t[k][b] = gf2_times(op, b << (8 * k));
    return t;
}

// Block sizes of the three-stream hardware loop: long blocks for bulk data, short ones so that
// inputs of a few hundred bytes still get the parallel chains.
constexpr std::size_t long_block = 8192;
constexpr std::size_t short_block = 256;
constexpr shift_table shift_long = make_shift_table(long_block);
constexpr shift_table shift_short = make_shift_table(short_block);

[[maybe_unused]] inline std::uint32_t shift(const shift_table& t, std::uint32_t crc) noexcept {
    return t[0][crc & 0xffu] ^ t[1][(crc >> 8) & 0xffu] ^ t[2][(crc >> 16) & 0xffu] ^ t[3][crc >> 24];
}

inline std::uint64_t load_le64(const std::uint8_t* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
}

#if KWIRE_CRC32C_X86
inline std::uint64_t load_u64(const std::uint8_t* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

/// Runs three crc32 chains over three adjacent blocks of `block` bytes each, as long as at least
/// 3 * block bytes remain, merging them with the shift table for `block`.
__attribute__((target("sse4.2"))) inline std::uint64_t crc_triple_blocks(
    std::uint64_t crc0, const std::uint8_t*& p, std::size_t& n, std::size_t block,
    const shift_table& table) noexcept {
    while (n >= 3 * block) {
        std::uint64_t crc1 = 0, crc2 = 0;
        const std::uint8_t* const end = p + block;
        do {
            crc0 = _mm_crc32_u64(crc0, load_u64(p));
            crc1 = _mm_crc32_u64(crc1, load_u64(p + block));
            crc2 = _mm_crc32_u64(crc2, load_u64(p + 2 * block));
            p += 8;
        } while (p < end);
        crc0 = shift(table, static_cast<std::uint32_t>(crc0)) ^ crc1;
        crc0 = shift(table, static_cast<std::uint32_t>(crc0)) ^ crc2;
        p += 2 * block;
        n -= 3 * block;
    }
    return crc0;
}
#endif

}  // namespace

std::uint32_t crc32c_portable(std::uint32_t crc, const std::uint8_t* p, std::size_t n) noexcept {
    std::uint32_t c = ~crc;
    while (n >= 8) {
        const std::uint64_t w = load_le64(p) ^ c;
        c = slicing[7][w & 0xffu] ^ slicing[6][(w >> 8) & 0xffu] ^ slicing[5][(w >> 16) & 0xffu] ^
            slicing[4][(w >> 24) & 0xffu] ^ slicing[3][(w >> 32) & 0xffu] ^
            slicing[2][(w >> 40) & 0xffu] ^ slicing[1][(w >> 48) & 0xffu] ^ slicing[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) c = (c >> 8) ^ slicing[0][(c ^ *p++) & 0xffu];
    return ~c;
}

#if KWIRE_CRC32C_X86

bool crc32c_hardware_available() noexcept {
    static const bool available = [] {
        __builtin_cpu_init();  // may run before the CPU model data is initialised (static init)
        return __builtin_cpu_supports("sse4.2") != 0;
    }();
    return available;
}

__attribute__((target("sse4.2"))) std::uint32_t crc32c_hardware(std::uint32_t crc,
                                                                   const std::uint8_t* p,
                                                                   std::size_t n) noexcept {
    std::uint64_t c = ~crc;
    // Align to 8 so that the word loads never straddle a cache line.
    while (n != 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0) {
        c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
        --n;
    }
    c = crc_triple_blocks(c, p, n, long_block, shift_long);
    c = crc_triple_blocks(c, p, n, short_block, shift_short);
    // Tail (< 768 bytes): one chain.
    while (n >= 8) {
        c = _mm_crc32_u64(c, load_u64(p));
        p += 8;
        n -= 8;
    }
    while (n != 0) {
        c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
        --n;
    }
    return ~static_cast<std::uint32_t>(c);
}

std::uint32_t crc32c(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept {
    return crc32c_hardware_available() ? crc32c_hardware(crc, data, n)
                                       : crc32c_portable(crc, data, n);
}

#else  // no x86: portable only

bool crc32c_hardware_available() noexcept { return false; }
std::uint32_t crc32c_hardware(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept {
    return crc32c_portable(crc, data, n);
}
std::uint32_t crc32c(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept {
    return crc32c_portable(crc, data, n);
}

#endif

}  // namespace kwire::codec

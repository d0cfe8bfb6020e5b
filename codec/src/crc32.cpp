// CRC32 (IEEE) of the legacy MessageSet v0/v1 format. zlib's implementation is already
// table-driven and fast enough for a format that only old brokers still serve; a build without
// zlib (KWIRE_WITH_ZLIB=OFF) uses the plain table-driven loop below instead.
#include "kwire/codec/crc.hpp"

#if KWIRE_WITH_ZLIB
#include <zlib.h>
#else
#include <array>
#endif

namespace kwire::codec {

#if KWIRE_WITH_ZLIB
std::uint32_t crc32(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept {
    // crc32_z takes a size_t length, so buffers above 4 GiB need no chunking.
    return static_cast<std::uint32_t>(::crc32_z(crc, data, n));
}
#else
namespace {
constexpr std::array<std::uint32_t, 256> crc32_table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}();
}  // namespace

std::uint32_t crc32(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept {
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i) crc = crc32_table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}
#endif

}  // namespace kwire::codec

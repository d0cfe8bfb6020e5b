// CRC32 (IEEE) of the legacy MessageSet v0/v1 format. zlib's implementation is already
// table-driven and fast enough for a format that only old brokers still serve.
#include "kwire/codec/crc.hpp"

#include <zlib.h>

namespace kwire::codec {

std::uint32_t crc32(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept {
    // crc32_z takes a size_t length, so buffers above 4 GiB need no chunking.
    return static_cast<std::uint32_t>(::crc32_z(crc, data, n));
}

}  // namespace kwire::codec

// Checksums of the Kafka record formats: CRC32C (Castagnoli) guards RecordBatch v2, CRC32 (IEEE,
// zlib's) guards the legacy MessageSet v0/v1 messages.
//
// All functions continue a running checksum: pass 0 to start, or the result of a previous call to
// extend it, so crc(crc(0, a), b) == crc(0, a ++ b). Pre- and post-inversion happen inside.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kwire/protocol/types.hpp"

namespace kwire::codec {

/// CRC32C of n bytes at data, continuing `crc`. Uses the SSE4.2 crc32 instruction when the CPU
/// has it (decided once, at first call), else a portable slicing-by-8 table implementation.
std::uint32_t crc32c(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept;
inline std::uint32_t crc32c(std::uint32_t crc, protocol::bytes_view b) noexcept {
    return crc32c(crc, b.data(), b.size());
}

/// The portable slicing-by-8 implementation (always available; tests and benchmarks compare the
/// two paths).
std::uint32_t crc32c_portable(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept;

/// Whether this CPU has SSE4.2, i.e. whether crc32c_hardware may be called.
bool crc32c_hardware_available() noexcept;

/// The SSE4.2 implementation (three interleaved crc32 streams). Only call it when
/// crc32c_hardware_available(); on other architectures it forwards to the portable one.
std::uint32_t crc32c_hardware(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept;

/// CRC32 (IEEE 802.3, the polynomial of zlib and gzip) of n bytes, continuing `crc`.
std::uint32_t crc32(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept;
inline std::uint32_t crc32(std::uint32_t crc, protocol::bytes_view b) noexcept {
    return crc32(crc, b.data(), b.size());
}

}  // namespace kwire::codec

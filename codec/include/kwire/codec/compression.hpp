// The compression codecs of Kafka record batches (attribute bits 0-2).
//
// Both directions append to a caller-owned vector, so a producer can compress straight into the
// request it is building and a consumer can reuse one buffer for every batch. On error the vector
// is left at its original size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/protocol/error.hpp"
#include "kwire/protocol/types.hpp"

namespace kwire::codec {

/// Codec ids as carried in bits 0-2 of the batch (or message) attributes.
enum class compression : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

/// Whether id (0-7, from the attribute bits) names a codec kwire implements.
constexpr bool is_known_compression(unsigned id) noexcept { return id <= 4; }

/// Whether this build of kwire includes the codec (none always; the others can be left out at
/// build time with KWIRE_WITH_ZLIB, _SNAPPY, _LZ4, _ZSTD). A codec left out fails compress and
/// decompress with unsupported_compression.
bool compression_available(compression c) noexcept;

/// "none", "gzip", "snappy", "lz4", "zstd" (Kafka's compression.type values), "unknown" otherwise.
std::string_view compression_name(compression c) noexcept;

/// Compresses input and appends the result to out.
///  - gzip: a gzip member (RFC 1952), default level 6 (zlib's default); level in -1..9.
///  - snappy: the xerial framing Kafka's Java client writes (readable by the Java and C clients);
///    see compress_snappy_raw for unframed output. The level is ignored.
///  - lz4: the LZ4 frame format (independent 64 KiB blocks, no checksums), which is what Kafka's
///    Java and C clients exchange for magic >= 1. Default level 0 (fast); >= 3 is LZ4-HC.
///  - zstd: one frame with its content size; default level 3.
/// Errors: unsupported_compression for an unknown codec or one this build left out (see
/// compression_available), invalid_argument for a level the codec
/// rejects or an input it cannot represent.
std::error_code compress(compression codec, protocol::bytes_view input, std::vector<std::uint8_t>& out,
                         std::optional<int> level = std::nullopt);

/// Raw (unframed) snappy: a length preamble and one snappy stream. the C client writes this; Java
/// consumers (xerial SnappyInputStream) read it too.
std::error_code compress_snappy_raw(protocol::bytes_view input, std::vector<std::uint8_t>& out);

/// Decompresses input and appends the result to out, producing at most max_decompressed_bytes.
/// The output grows as data inflates (sizes claimed by headers are only used as hints, after
/// being checked against the cap), so a bomb fails after at most about max_decompressed_bytes of
/// work and memory.
///  - gzip: gzip or zlib wrapper (auto-detected); concatenated members are accepted.
///  - snappy: the xerial framing or raw snappy (detected by the xerial magic).
///  - lz4: LZ4 frames (concatenated frames accepted).
///  - zstd: streaming, so frames without a content size work; concatenated frames accepted.
/// Errors: decompressed_too_large past the cap, decompression_failed for corrupt or truncated
/// input (an empty input is corrupt for every codec but none), unsupported_compression for an
/// unknown codec or one this build left out.
std::error_code decompress(compression codec, protocol::bytes_view input, std::vector<std::uint8_t>& out,
                           std::size_t max_decompressed_bytes);

}  // namespace kwire::codec

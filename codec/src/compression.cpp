// compress()/decompress(): dispatch on the codec id; the codecs live in one file each.
#include "kwire/codec/compression.hpp"

#include <cstring>

#include "codecs.hpp"

namespace kwire::codec {

std::string_view compression_name(compression c) noexcept {
    switch (c) {
        case compression::none: return "none";
        case compression::gzip: return "gzip";
        case compression::snappy: return "snappy";
        case compression::lz4: return "lz4";
        case compression::zstd: return "zstd";
    }
    return "unknown";
}

bool compression_available(compression c) noexcept {
    switch (c) {
        case compression::none: return true;
        case compression::gzip: return KWIRE_WITH_ZLIB;
        case compression::snappy: return KWIRE_WITH_SNAPPY;
        case compression::lz4: return KWIRE_WITH_LZ4;
        case compression::zstd: return KWIRE_WITH_ZSTD;
    }
    return false;
}

std::error_code compress(compression codec, protocol::bytes_view input, std::vector<std::uint8_t>& out,
                         std::optional<int> level) {
    switch (codec) {
        case compression::none:
            out.insert(out.end(), input.begin(), input.end());
            return {};
        case compression::gzip: return detail::gzip_compress(input, out, level);
        case compression::snappy: return detail::snappy_compress_xerial(input, out);
        case compression::lz4: return detail::lz4_compress(input, out, level);
        case compression::zstd: return detail::zstd_compress(input, out, level);
    }
    return make_error_code(errc::unsupported_compression);
}

std::error_code compress_snappy_raw(protocol::bytes_view input, std::vector<std::uint8_t>& out) {
    return detail::snappy_compress_raw(input, out);
}

std::error_code decompress(compression codec, protocol::bytes_view input, std::vector<std::uint8_t>& out,
                           std::size_t max_decompressed_bytes) {
    switch (codec) {
        case compression::none:
            if (input.size() > max_decompressed_bytes) return make_error_code(errc::decompressed_too_large);
            out.insert(out.end(), input.begin(), input.end());
            return {};
        case compression::gzip: return detail::gzip_decompress(input, out, max_decompressed_bytes);
        case compression::snappy: return detail::snappy_decompress(input, out, max_decompressed_bytes);
        case compression::lz4: return detail::lz4_decompress(input, out, max_decompressed_bytes);
        case compression::zstd: return detail::zstd_decompress(input, out, max_decompressed_bytes);
    }
    return make_error_code(errc::unsupported_compression);
}

}  // namespace kwire::codec

// Stand-ins for the codecs a build leaves out (KWIRE_WITH_ZSTD, _LZ4, _SNAPPY, _ZLIB set to OFF;
// codec/CMakeLists.txt then drops the codec's source file and its library). Every entry point of a
// missing codec answers errc::unsupported_compression, in both directions, so a producer asked
// for it fails its batches with that error and a consumer reports it for batches that use it.
#include "codecs.hpp"

namespace kwire::codec::detail {

#if !KWIRE_WITH_ZLIB
std::error_code gzip_compress(bytes_view, byte_vector&, std::optional<int>) {
    return error(errc::unsupported_compression);
}
std::error_code gzip_decompress(bytes_view, byte_vector&, std::size_t) { return error(errc::unsupported_compression); }
#endif

#if !KWIRE_WITH_SNAPPY
std::error_code snappy_compress_xerial(bytes_view, byte_vector&) { return error(errc::unsupported_compression); }
std::error_code snappy_compress_raw(bytes_view, byte_vector&) { return error(errc::unsupported_compression); }
std::error_code snappy_decompress(bytes_view, byte_vector&, std::size_t) {
    return error(errc::unsupported_compression);
}
#endif

#if !KWIRE_WITH_LZ4
std::error_code lz4_compress(bytes_view, byte_vector&, std::optional<int>) {
    return error(errc::unsupported_compression);
}
std::error_code lz4_decompress(bytes_view, byte_vector&, std::size_t, bool) {
    return error(errc::unsupported_compression);
}
// The batch builder writes lz4 frames block by block: the header and end mark are plain bytes,
// and the first block fails, which fails the batch.
void lz4_frame_header(byte_vector&) {}
std::error_code lz4_frame_block(bytes_view, byte_vector&, int) { return error(errc::unsupported_compression); }
void lz4_frame_end(byte_vector&) {}
#endif

#if !KWIRE_WITH_ZSTD
std::error_code zstd_compress(bytes_view, byte_vector&, std::optional<int>) {
    return error(errc::unsupported_compression);
}
std::error_code zstd_decompress(bytes_view, byte_vector&, std::size_t) { return error(errc::unsupported_compression); }
#endif

}  // namespace kwire::codec::detail

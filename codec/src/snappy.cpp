// snappy (Kafka codec 2).
//
// Two framings exist on the wire. Kafka's Java client writes the xerial "snappy-java" stream:
//   magic "\x82SNAPPY\0" | int32 BE version (1) | int32 BE minimum compatible version (1)
//   then chunks: int32 BE compressed length | raw snappy block (its own length preamble)
// the C client writes one raw snappy block. Both clients read both, and so do we; we write xerial
// because that is what every Java consumer has always been able to read.
#include <snappy.h>

#include <array>
#include <cstring>

#include "codecs.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::codec::detail {
namespace {

constexpr std::array<std::uint8_t, 8> xerial_magic{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr std::size_t xerial_header_size = 16;  // magic + version + compatible version
constexpr std::int32_t xerial_version = 1;
// snappy-java's default block size; each chunk is an independent raw snappy block.
constexpr std::size_t xerial_chunk = 32 * 1024;

bool has_xerial_magic(bytes_view in) noexcept {
    return in.size() >= xerial_magic.size() &&
           std::memcmp(in.data(), xerial_magic.data(), xerial_magic.size()) == 0;
}

/// Appends one raw snappy block of `in` to out.
void append_raw_block(const std::uint8_t* in, std::size_t n, byte_vector& out) {
    const std::size_t at = out.size();
    out.resize(at + snappy::MaxCompressedLength(n));
    std::size_t written = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in), n, reinterpret_cast<char*>(out.data() + at),
                        &written);
    out.resize(at + written);
}

/// Decodes one raw snappy block into dst. The length preamble is checked against the room left
/// under the cap before any space is allocated for it.
std::error_code decode_raw_block(const std::uint8_t* in, std::size_t n, capped_output& dst) {
    const auto* src = reinterpret_cast<const char*>(in);
    std::size_t length = 0;
    if (!snappy::GetUncompressedLength(src, n, &length)) return error(errc::decompression_failed);
    if (length > dst.room_left_under_cap()) return error(errc::decompressed_too_large);
    // RawUncompress validates the whole block and never writes past `length` bytes.
    if (!snappy::RawUncompress(src, n, reinterpret_cast<char*>(dst.exact(length))))
        return error(errc::decompression_failed);
    dst.commit(length);
    return {};
}

}  // namespace

std::error_code snappy_compress_raw(bytes_view in, byte_vector& out) {
    // The preamble is a 32-bit varint: snappy cannot describe a block of 4 GiB or more.
    if (in.size() > 0xffffffffu) return error(errc::invalid_argument);
    append_raw_block(in.data(), in.size(), out);
    return {};
}

std::error_code snappy_compress_xerial(bytes_view in, byte_vector& out) {
    out.resize(out.size() + xerial_header_size);
    std::uint8_t* header = out.data() + out.size() - xerial_header_size;
    std::memcpy(header, xerial_magic.data(), xerial_magic.size());
    protocol::store_be(header + 8, xerial_version);
    protocol::store_be(header + 12, xerial_version);
    for (std::size_t pos = 0; pos < in.size(); pos += xerial_chunk) {
        const std::size_t n = std::min(xerial_chunk, in.size() - pos);
        const std::size_t length_at = out.size();
        out.resize(length_at + 4);
        append_raw_block(in.data() + pos, n, out);
        protocol::store_be(out.data() + length_at, static_cast<std::int32_t>(out.size() - length_at - 4));
    }
    return {};
}

std::error_code snappy_decompress(bytes_view in, byte_vector& out, std::size_t cap) {
    capped_output dst(out, cap);
    std::error_code ec;
    if (!has_xerial_magic(in)) {
        ec = decode_raw_block(in.data(), in.size(), dst);
    } else if (in.size() < xerial_header_size) {
        ec = error(errc::decompression_failed);
    } else {
        // The version fields are not checked: every snappy-java version writes 1 and reads the
        // same chunk layout, and the C client ignores them too.
        std::size_t pos = xerial_header_size;
        while (!ec && pos < in.size()) {
            if (in.size() - pos < 4) {
                ec = error(errc::decompression_failed);
                break;
            }
            const auto length = protocol::load_be<std::int32_t>(in.data() + pos);
            pos += 4;
            if (length < 0 || static_cast<std::size_t>(length) > in.size() - pos) {
                ec = error(errc::decompression_failed);
                break;
            }
            ec = decode_raw_block(in.data() + pos, static_cast<std::size_t>(length), dst);
            pos += static_cast<std::size_t>(length);
        }
    }
    if (ec) {
        dst.rollback();
        return ec;
    }
    dst.done();
    return {};
}

}  // namespace kwire::codec::detail

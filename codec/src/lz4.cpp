// lz4 (Kafka codec 3): the LZ4 frame format (magic 0x184D2204) through the LZ4F API.
//
// Kafka's Java reader only understands independent blocks, so we write those, with 64 KiB
// blocks and no checksums, like the C client. Each thread keeps one compression and one
// decompression context (they hold the 64 KiB block buffers).
#include <lz4.h>
#include <lz4frame.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "codecs.hpp"

namespace kwire::codec::detail {
namespace {

struct compression_context {
    LZ4F_cctx* ctx = nullptr;
    compression_context() = default;
    compression_context(const compression_context&) = delete;
    compression_context& operator=(const compression_context&) = delete;
    ~compression_context() { LZ4F_freeCompressionContext(ctx); }
    LZ4F_cctx* get() {
        if (ctx == nullptr && LZ4F_isError(LZ4F_createCompressionContext(&ctx, LZ4F_VERSION))) ctx = nullptr;
        return ctx;
    }
};

struct decompression_context {
    LZ4F_dctx* ctx = nullptr;
    decompression_context() = default;
    decompression_context(const decompression_context&) = delete;
    decompression_context& operator=(const decompression_context&) = delete;
    ~decompression_context() { LZ4F_freeDecompressionContext(ctx); }
    /// A context at the start of a frame. Only calls that ended cleanly (at a frame boundary)
    /// keep theirs; see discard().
    LZ4F_dctx* get() {
        if (ctx == nullptr && LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) ctx = nullptr;
        return ctx;
    }
    /// Drops a context left mid-frame. LZ4F_resetDecompressionContext is not enough in lz4
    /// 1.9.4: after an abandoned frame that declared a content size, the next frame without one
    /// fails with "frameSize_wrong" (found by fuzz-decompress_lz4).
    void discard() noexcept {
        LZ4F_freeDecompressionContext(ctx);
        ctx = nullptr;
    }
};

/// The block compressor's state for lz4_frame_block (LZ4_compress_fast_extState resets it on
/// every call, about 16 KiB of memset per 64 KiB block).
struct block_state {
    LZ4_stream_t state;
};

thread_local compression_context tl_cctx;
thread_local block_state tl_block_state;
thread_local decompression_context tl_dctx;

constexpr std::uint32_t frame_magic = 0x184D2204u;
constexpr std::size_t max_header_size = 19;  // magic 4, FLG, BD, content size 8, dict id 4, HC
constexpr std::uint8_t flg_content_size = 0x08;
constexpr std::uint8_t flg_dict_id = 0x01;

/// Size of the frame header starting at p (n bytes available), or 0 if it is not a frame header.
std::size_t frame_header_size(const std::uint8_t* p, std::size_t n) noexcept {
    if (n < 7) return 0;
    std::uint32_t magic;
    std::memcpy(&magic, p, 4);
    if constexpr (std::endian::native == std::endian::big) magic = __builtin_bswap32(magic);
    if (magic != frame_magic) return 0;
    const std::uint8_t flg = p[4];
    const std::size_t size = 7 + ((flg & flg_content_size) ? 8 : 0) + ((flg & flg_dict_id) ? 4 : 0);
    return size <= n ? size : 0;
}

/// XXH32 of fewer than 16 bytes (all a frame descriptor can be), as the header checksum needs.
std::uint32_t xxh32_short(const std::uint8_t* p, std::size_t n, std::uint32_t seed) noexcept {
    constexpr std::uint32_t p1 = 0x9E3779B1u, p2 = 0x85EBCA77u, p3 = 0xC2B2AE3Du, p4 = 0x27D4EB2Fu,
                            p5 = 0x165667B1u;
    std::uint32_t h = seed + p5 + static_cast<std::uint32_t>(n);
    const std::uint8_t* const end = p + n;
    for (; end - p >= 4; p += 4) {
        std::uint32_t w;
        std::memcpy(&w, p, 4);
        if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap32(w);
        h = std::rotl(h + w * p3, 17) * p4;
    }
    for (; p < end; ++p) h = std::rotl(h + *p * p5, 11) * p1;
    h ^= h >> 15;
    h *= p2;
    h ^= h >> 13;
    h *= p3;
    h ^= h >> 16;
    return h;
}

}  // namespace

std::error_code lz4_compress(bytes_view in, byte_vector& out, std::optional<int> level) {
    LZ4F_cctx* ctx = tl_cctx.get();
    if (ctx == nullptr) return error(errc::invalid_argument);
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs.compressionLevel = level.value_or(0);

    const std::size_t start = out.size();
    out.resize(start + max_header_size + LZ4F_compressBound(in.size(), &prefs));
    std::uint8_t* const dst = out.data() + start;
    const std::size_t capacity = out.size() - start;
    std::size_t pos = LZ4F_compressBegin(ctx, dst, capacity, &prefs);
    std::size_t rc = pos;
    if (!LZ4F_isError(rc)) {
        rc = LZ4F_compressUpdate(ctx, dst + pos, capacity - pos, in.data(), in.size(), nullptr);
        if (!LZ4F_isError(rc)) {
            pos += rc;
            rc = LZ4F_compressEnd(ctx, dst + pos, capacity - pos, nullptr);
            pos += rc;
        }
    }
    if (LZ4F_isError(rc)) {
        out.resize(start);
        return error(errc::invalid_argument);
    }
    out.resize(start + pos);
    return {};
}

void lz4_frame_header(byte_vector& out) {
    // FLG: version 01, block independence; BD: 64 KiB blocks; HC: second byte of XXH32(FLG BD).
    const std::uint8_t flg = 0x60, bd = 0x40;
    const std::uint8_t descriptor[2] = {flg, bd};
    const auto hc = static_cast<std::uint8_t>(xxh32_short(descriptor, 2, 0) >> 8);
    const std::uint8_t header[lz4_frame_header_size] = {0x04, 0x22, 0x4D, 0x18, flg, bd, hc};
    out.insert(out.end(), header, header + lz4_frame_header_size);
}

std::error_code lz4_frame_block(bytes_view in, byte_vector& out, int level) {
    if (in.empty() || in.size() > lz4_block_size || level >= 3) return error(errc::invalid_argument);
    const int acceleration = level < 0 ? -level + 1 : 1;  // as LZ4F maps levels below 3
    const std::size_t start = out.size();
    out.resize(start + 4 + in.size());  // a block that does not shrink is stored as it is
    std::uint8_t* const dst = out.data() + start;
    const int n = LZ4_compress_fast_extState(&tl_block_state.state, reinterpret_cast<const char*>(in.data()),
                                             reinterpret_cast<char*>(dst + 4), static_cast<int>(in.size()),
                                             static_cast<int>(in.size() - 1), acceleration);
    std::uint32_t header;
    if (n > 0) {
        header = static_cast<std::uint32_t>(n);
    } else {
        header = static_cast<std::uint32_t>(in.size()) | 0x80000000u;
        std::memcpy(dst + 4, in.data(), in.size());
    }
    if constexpr (std::endian::native == std::endian::big) header = __builtin_bswap32(header);
    std::memcpy(dst, &header, 4);
    out.resize(start + 4 + (n > 0 ? static_cast<std::size_t>(n) : in.size()));
    return {};
}

void lz4_frame_end(byte_vector& out) { out.insert(out.end(), lz4_end_mark_size, std::uint8_t{0}); }

std::error_code lz4_decompress(bytes_view in, byte_vector& out, std::size_t cap, bool legacy_v0_framing) {
    if (in.empty()) return error(errc::decompression_failed);
    LZ4F_dctx* ctx = tl_dctx.get();
    if (ctx == nullptr) return error(errc::decompression_failed);

    // The input is fed as up to two pieces: a repaired copy of the frame header (legacy only),
    // then the rest.
    std::array<std::uint8_t, max_header_size> fixed_header{};
    std::array<bytes_view, 2> pieces{bytes_view{}, in};
    std::size_t hint = 0;
    if (const std::size_t header = frame_header_size(in.data(), in.size()); header != 0) {
        if (in.data()[4] & flg_content_size) {
            std::uint64_t size;  // little-endian, right after FLG and BD
            std::memcpy(&size, in.data() + 6, 8);
            if constexpr (std::endian::native == std::endian::big) size = __builtin_bswap64(size);
            if (size > cap) return error(errc::decompressed_too_large);
            hint = static_cast<std::size_t>(size);
        }
        if (legacy_v0_framing) {
            // KAFKA-3160: Kafka 0.8/0.9 hashed the magic number too. Recompute the checksum over
            // the descriptor (FLG .. before HC), as the specification and LZ4F want.
            std::memcpy(fixed_header.data(), in.data(), header);
            fixed_header[header - 1] =
                static_cast<std::uint8_t>(xxh32_short(in.data() + 4, header - 5, 0) >> 8);
            pieces[0] = bytes_view{fixed_header.data(), header};
            pieces[1] = bytes_view{in.data() + header, in.size() - header};
        }
    }

    capped_output dst(out, cap);
    std::error_code ec;
    std::size_t frame_state = 1;  // LZ4F's hint of bytes still expected; 0 = frame complete
    for (const bytes_view piece : pieces) {
        const std::uint8_t* src = piece.data();
        const std::uint8_t* const end = src + piece.size();
        while (!ec && src != end) {
            const auto w = dst.window(hint);
            if (w.empty()) {
                ec = error(errc::decompressed_too_large);
                break;
            }
            std::size_t produced = w.size();
            std::size_t consumed = static_cast<std::size_t>(end - src);
            // A complete frame followed by more input starts the next frame (the context resets
            // itself at the end of each frame).
            frame_state = LZ4F_decompress(ctx, w.data(), &produced, src, &consumed, nullptr);
            if (LZ4F_isError(frame_state) || (consumed == 0 && produced == 0)) {
                ec = error(errc::decompression_failed);
                break;
            }
            src += consumed;
            dst.commit(produced);
        }
    }
    // All input consumed: flush what the context still buffers until the frame says it is done.
    while (!ec && frame_state != 0) {
        const auto w = dst.window(hint);
        if (w.empty()) {
            ec = error(errc::decompressed_too_large);
            break;
        }
        std::size_t produced = w.size();
        std::size_t consumed = 0;
        frame_state = LZ4F_decompress(ctx, w.data(), &produced, nullptr, &consumed, nullptr);
        if (LZ4F_isError(frame_state) || (produced == 0 && frame_state != 0)) {
            ec = error(errc::decompression_failed);  // input ended inside the frame
            break;
        }
        dst.commit(produced);
    }
    if (!ec && dst.exceeded()) ec = error(errc::decompressed_too_large);
    if (ec) {
        tl_dctx.discard();
        dst.rollback();
        return ec;
    }
    dst.done();
    return {};
}

}  // namespace kwire::codec::detail

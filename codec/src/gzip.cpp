// gzip (Kafka codec 1) through zlib.
//
// zlib streams cost a few hundred KiB of state to set up, more than compressing a typical batch,
// so each thread keeps one deflate and one inflate stream and resets them between uses.
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <climits>

#include "codecs.hpp"

namespace kwire::codec::detail {
namespace {

// zlib counts in uInt; feed it at most this much input or output per call.
constexpr std::size_t max_chunk = std::size_t{1} << 30;

constexpr int gzip_window_bits = 15 + 16;       // 32 KiB window, gzip wrapper
constexpr int auto_detect_window_bits = 15 + 32;  // accept gzip or zlib wrapper

struct deflate_stream {
    z_stream zs{};
    bool ready = false;
    int level = 0;

    deflate_stream() = default;
    deflate_stream(const deflate_stream&) = delete;
    deflate_stream& operator=(const deflate_stream&) = delete;
    ~deflate_stream() {
        if (ready) deflateEnd(&zs);
    }

    z_stream* acquire(int want_level) {
        if (ready && level == want_level && deflateReset(&zs) == Z_OK) return &zs;
        if (ready) deflateEnd(&zs);
        ready = false;
        zs = z_stream{};
        if (deflateInit2(&zs, want_level, Z_DEFLATED, gzip_window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return nullptr;
        ready = true;
        level = want_level;
        return &zs;
    }
};

struct inflate_stream {
    z_stream zs{};
    bool ready = false;

    inflate_stream() = default;
    inflate_stream(const inflate_stream&) = delete;
    inflate_stream& operator=(const inflate_stream&) = delete;
    ~inflate_stream() {
        if (ready) inflateEnd(&zs);
    }

    z_stream* acquire() {
        if (ready && inflateReset(&zs) == Z_OK) return &zs;
        if (ready) inflateEnd(&zs);
        ready = false;
        zs = z_stream{};
        if (inflateInit2(&zs, auto_detect_window_bits) != Z_OK) return nullptr;
        ready = true;
        return &zs;
    }
};

thread_local deflate_stream tl_deflate;
thread_local inflate_stream tl_inflate;

/// Moves the next piece of [src, src + left) into the stream's input.
void feed_input(z_stream& zs, const std::uint8_t*& src, std::size_t& left) {
    const std::size_t n = std::min(left, max_chunk);
    zs.next_in = src;
    zs.avail_in = static_cast<uInt>(n);
    src += n;
    left -= n;
}

}  // namespace

std::error_code gzip_compress(bytes_view in, byte_vector& out, std::optional<int> level) {
    const int lvl = level.value_or(Z_DEFAULT_COMPRESSION);
    if (lvl < Z_DEFAULT_COMPRESSION || lvl > Z_BEST_COMPRESSION) return error(errc::invalid_argument);
    z_stream* zs = tl_deflate.acquire(lvl);
    if (zs == nullptr) return error(errc::invalid_argument);

    const std::size_t start = out.size();
    // deflateBound is a true upper bound for a single Z_FINISH, so the loop below normally runs
    // once; it still grows the output if zlib ever wants more.
    std::size_t written = 0;
    out.resize(start + deflateBound(zs, static_cast<uLong>(in.size())));
    const std::uint8_t* src = in.data();
    std::size_t src_left = in.size();
    feed_input(*zs, src, src_left);
    for (;;) {
        if (zs->avail_in == 0 && src_left != 0) feed_input(*zs, src, src_left);
        if (start + written == out.size()) out.resize(out.size() + std::max<std::size_t>(64 * 1024, written / 2));
        const std::size_t space = std::min(out.size() - start - written, max_chunk);
        zs->next_out = out.data() + start + written;
        zs->avail_out = static_cast<uInt>(space);
        const int flush = src_left == 0 ? Z_FINISH : Z_NO_FLUSH;
        const int rc = deflate(zs, flush);
        written += space - zs->avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            out.resize(start);
            return error(errc::invalid_argument);
        }
    }
    out.resize(start + written);
    return {};
}

std::error_code gzip_decompress(bytes_view in, byte_vector& out, std::size_t cap) {
    if (in.empty()) return error(errc::decompression_failed);
    z_stream* zs = tl_inflate.acquire();
    if (zs == nullptr) return error(errc::decompression_failed);

    capped_output dst(out, cap);
    const std::uint8_t* src = in.data();
    std::size_t src_left = in.size();
    feed_input(*zs, src, src_left);
    // Text and record data usually inflate 3-10x; the first step only sizes the buffer.
    const std::size_t hint = std::min(cap, in.size() > cap / 4 ? cap : in.size() * 4);
    for (;;) {
        if (zs->avail_in == 0 && src_left != 0) feed_input(*zs, src, src_left);
        const auto w = dst.window(hint);
        if (w.empty()) {
            dst.rollback();
            return error(errc::decompressed_too_large);
        }
        const std::size_t space = std::min(w.size(), max_chunk);
        zs->next_out = w.data();
        zs->avail_out = static_cast<uInt>(space);
        const int rc = inflate(zs, Z_NO_FLUSH);
        dst.commit(space - zs->avail_out);
        if (rc == Z_OK) continue;
        if (rc == Z_STREAM_END) {
            if (zs->avail_in == 0 && src_left == 0) break;
            // Another member follows: gzip(1) and Java's GZIPInputStream read concatenations.
            if (inflateReset(zs) == Z_OK) continue;
        }
        // Z_BUF_ERROR here means no progress with output space available, i.e. the input ended
        // inside the stream; everything else (Z_DATA_ERROR, Z_NEED_DICT, ...) is corruption.
        dst.rollback();
        return error(errc::decompression_failed);
    }
    if (dst.exceeded()) {
        dst.rollback();
        return error(errc::decompressed_too_large);
    }
    dst.done();
    return {};
}

}  // namespace kwire::codec::detail

// zstd (Kafka codec 4, record batches v2 only).
//
// Decompression streams (ZSTD_decompressStream): Java producers (zstd-jni's output stream) write
// frames without a content size, so the single-shot API cannot be used. Each thread keeps one
// compression and one decompression context; creating them costs more than a small batch.
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>

#include "codecs.hpp"

namespace kwire::codec::detail {
namespace {

struct contexts {
    ZSTD_CCtx* cctx = nullptr;
    ZSTD_DCtx* dctx = nullptr;
    contexts() = default;
    contexts(const contexts&) = delete;
    contexts& operator=(const contexts&) = delete;
    ~contexts() {
        ZSTD_freeCCtx(cctx);
        ZSTD_freeDCtx(dctx);
    }
    ZSTD_CCtx* compressor() {
        // ZSTD_compressCCtx starts every frame afresh: no reset needed between batches.
        if (cctx == nullptr) cctx = ZSTD_createCCtx();
        return cctx;
    }
    ZSTD_DCtx* decompressor() {
        // Session reset only: a previous call may have stopped mid-frame. The window limit stays
        // at zstd's default (128 MiB), which bounds what a hostile frame header can make zstd
        // reserve; the output itself is capped separately.
        if (dctx == nullptr) dctx = ZSTD_createDCtx();
        else ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
        return dctx;
    }
};

thread_local contexts tl_contexts;

}  // namespace

std::error_code zstd_compress(bytes_view in, byte_vector& out, std::optional<int> level) {
    ZSTD_CCtx* ctx = tl_contexts.compressor();
    if (ctx == nullptr) return error(errc::invalid_argument);
    // Clamped into zstd's range, as ZSTD_CCtx_setParameter did.
    const int lvl = std::clamp(level.value_or(ZSTD_CLEVEL_DEFAULT), ZSTD_minCLevel(), ZSTD_maxCLevel());
    const std::size_t start = out.size();
    out.resize(start + ZSTD_compressBound(in.size()));
    // The one-shot API on the reused context: it writes the content size into the frame header
    // (readers size their output in one step) and picks the parameters for this input size, as
    // ZSTD_compress2 would, but without resetting and re-applying the parameters per batch, which
    // cost about a fifth of the time on a producer's batches (measured, zstd 1.5.4).
    const std::size_t n = ZSTD_compressCCtx(ctx, out.data() + start, out.size() - start, in.data(), in.size(), lvl);
    if (ZSTD_isError(n)) {
        out.resize(start);
        return error(errc::invalid_argument);
    }
    out.resize(start + n);
    return {};
}

std::error_code zstd_decompress(bytes_view in, byte_vector& out, std::size_t cap) {
    if (in.empty()) return error(errc::decompression_failed);
    ZSTD_DCtx* ctx = tl_contexts.decompressor();
    if (ctx == nullptr) return error(errc::decompression_failed);

    // A declared content size lets a bomb fail before any work, and sizes the output in one step.
    std::size_t hint = 0;
    const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) {
        if (declared > cap) return error(errc::decompressed_too_large);
        hint = static_cast<std::size_t>(declared);
    }

    capped_output dst(out, cap);
    ZSTD_inBuffer src{in.data(), in.size(), 0};
    std::error_code ec;
    for (;;) {
        const auto w = dst.window(hint);
        if (w.empty()) {
            ec = error(errc::decompressed_too_large);
            break;
        }
        ZSTD_outBuffer o{w.data(), w.size(), 0};
        const std::size_t consumed_before = src.pos;
        const std::size_t rc = ZSTD_decompressStream(ctx, &o, &src);
        dst.commit(o.pos);
        if (ZSTD_isError(rc)) {
            ec = ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge
                     ? error(errc::decompressed_too_large)
                     : error(errc::decompression_failed);
            break;
        }
        if (rc == 0 && src.pos == src.size) break;  // last frame complete
        // rc != 0 with input left or the output full: call again. With all input consumed and
        // output space unused, zstd wants more input than there is: truncated.
        if ((rc != 0 && src.pos == src.size && o.pos < o.size) || (o.pos == 0 && src.pos == consumed_before)) {
            ec = error(errc::decompression_failed);
            break;
        }
    }
    if (!ec && dst.exceeded()) ec = error(errc::decompressed_too_large);
    if (ec) {
        dst.rollback();
        return ec;
    }
    dst.done();
    return {};
}

}  // namespace kwire::codec::detail

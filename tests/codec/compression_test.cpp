// compress()/decompress() for every codec: round trips, the framings other clients write, caps.
#include <gtest/gtest.h>

#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>

#include "../require_codec.hpp"
#include "kwire/codec/compression.hpp"
#include "test_util.hpp"

namespace kwire::codec {
namespace {

using test::bytes;

constexpr compression all_codecs[] = {compression::none, compression::gzip, compression::snappy, compression::lz4,
                                      compression::zstd};
constexpr compression real_codecs[] = {compression::gzip, compression::snappy, compression::lz4, compression::zstd};
constexpr std::size_t no_cap = std::numeric_limits<std::size_t>::max();

class EveryCodec : public testing::TestWithParam<compression> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Codecs, EveryCodec, testing::ValuesIn(all_codecs), test::codec_param_name);

class RealCodec : public testing::TestWithParam<compression> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Codecs, RealCodec, testing::ValuesIn(real_codecs), test::codec_param_name);

TEST_P(EveryCodec, RoundTripsManySizesAndContents) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{32 * 1024},
                          std::size_t{32 * 1024 + 1}, std::size_t{200 * 1024}}) {
        for (const bytes& input : {test::text_like(n, 1), test::random_bytes(n, 2)}) {
            bytes packed;
            ASSERT_FALSE(compress(GetParam(), input, packed)) << n;
            bytes unpacked;
            ASSERT_FALSE(decompress(GetParam(), packed, unpacked, no_cap)) << n;
            EXPECT_EQ(unpacked, input) << n;
        }
    }
}

TEST_P(RealCodec, ShrinksCompressibleData) {
    const bytes input = test::text_like(64 * 1024, 3);
    bytes packed;
    ASSERT_FALSE(compress(GetParam(), input, packed));
    EXPECT_LT(packed.size(), input.size() / 2);
}

TEST_P(EveryCodec, AppendsToExistingContentOnBothSides) {
    const bytes input = test::text_like(5000, 4);
    bytes packed = test::to_bytes("prefix");
    ASSERT_FALSE(compress(GetParam(), input, packed));
    ASSERT_EQ(std::string(packed.begin(), packed.begin() + 6), "prefix");
    bytes unpacked = test::to_bytes("head");
    ASSERT_FALSE(decompress(GetParam(), bytes_view{packed.data() + 6, packed.size() - 6}, unpacked, no_cap));
    ASSERT_EQ(unpacked.size(), 4 + input.size());
    EXPECT_EQ(std::string(unpacked.begin(), unpacked.begin() + 4), "head");
    EXPECT_TRUE(std::equal(input.begin(), input.end(), unpacked.begin() + 4));
}

// The cap is inclusive: exactly max_decompressed_bytes is fine, one byte less is not.
TEST_P(EveryCodec, CapIsExact) {
    const bytes input = test::text_like(100000, 5);
    bytes packed;
    ASSERT_FALSE(compress(GetParam(), input, packed));
    bytes out = test::to_bytes("keep");
    EXPECT_FALSE(decompress(GetParam(), packed, out, input.size()));
    EXPECT_EQ(out.size(), 4 + input.size());
    out = test::to_bytes("keep");
    EXPECT_EQ(decompress(GetParam(), packed, out, input.size() - 1), errc::decompressed_too_large);
    EXPECT_EQ(out, test::to_bytes("keep")) << "a failed call leaves the output as it was";
}

TEST_P(RealCodec, HonoursLevels) {
    const bytes input = test::text_like(50000, 6);
    for (int level : {1, 3, 9}) {
        bytes packed, unpacked;
        ASSERT_FALSE(compress(GetParam(), input, packed, level)) << level;
        ASSERT_FALSE(decompress(GetParam(), packed, unpacked, no_cap)) << level;
        EXPECT_EQ(unpacked, input) << level;
    }
}

// Each thread reuses its codec contexts; a call that fails mid-stream must not poison the next.
TEST_P(RealCodec, RecoversAfterAFailedCall) {
    const bytes input = test::text_like(200000, 12);
    bytes packed;
    ASSERT_FALSE(compress(GetParam(), input, packed));
    const bytes truncated(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(packed.size() / 2));
    bytes out;
    EXPECT_EQ(decompress(GetParam(), truncated, out, no_cap), errc::decompression_failed);
    EXPECT_EQ(decompress(GetParam(), packed, out, input.size() / 2), errc::decompressed_too_large);
    ASSERT_FALSE(decompress(GetParam(), packed, out, no_cap));
    EXPECT_EQ(out, input);
}

// Regression (fuzz-decompress_lz4): a frame header declaring a content size, then nothing. After
// it, lz4 1.9.4's reset context rejected the next frame (one without a content size).
TEST(Compression, Lz4AbandonedFrameWithContentSizeDoesNotBreakTheNextFrame) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    const bytes header_only = {0x04, 0x22, 0x4d, 0x18,                          // magic
                               0x68,                                            // FLG: v01, independent, content size
                               0x40,                                            // BD: 64 KiB blocks
                               0x82, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // content size 3970
                               0x41};                                           // header checksum
    bytes out;
    EXPECT_EQ(decompress(compression::lz4, header_only, out, 1 << 20), errc::decompression_failed);
    bytes packed;
    ASSERT_FALSE(compress(compression::lz4, header_only, packed));
    ASSERT_FALSE(decompress(compression::lz4, packed, out, header_only.size()));
    EXPECT_EQ(out, header_only);
}

TEST(Compression, GzipLevelOutOfRangeIsInvalidArgument) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    bytes out;
    EXPECT_EQ(compress(compression::gzip, test::bv("x"), out, 10), errc::invalid_argument);
    EXPECT_EQ(compress(compression::gzip, test::bv("x"), out, -2), errc::invalid_argument);
    EXPECT_TRUE(out.empty());
}

// A codec this build leaves out (KWIRE_WITH_*=OFF) says so, both ways, and writes nothing.
TEST(Compression, CodecsLeftOutOfTheBuildAreUnsupportedBothWays) {
    int left_out = 0;
    for (compression c : real_codecs) {
        if (compression_available(c)) continue;
        ++left_out;
        bytes out = test::to_bytes("keep");
        EXPECT_EQ(compress(c, test::bv("abc"), out), errc::unsupported_compression) << compression_name(c);
        EXPECT_EQ(decompress(c, test::bv("abc"), out, no_cap), errc::unsupported_compression) << compression_name(c);
        EXPECT_EQ(out, test::to_bytes("keep")) << compression_name(c);
    }
    EXPECT_TRUE(compression_available(compression::none));
    if (left_out == 0) GTEST_SKIP() << "this build has every codec";
}

TEST(Compression, UnknownCodecIdsAreUnsupported) {
    for (unsigned id = 5; id <= 7; ++id) {
        bytes out;
        EXPECT_EQ(compress(static_cast<compression>(id), test::bv("abc"), out), errc::unsupported_compression);
        EXPECT_EQ(decompress(static_cast<compression>(id), test::bv("abc"), out, no_cap),
                  errc::unsupported_compression);
        EXPECT_FALSE(is_known_compression(id));
    }
    EXPECT_EQ(compression_name(static_cast<compression>(6)), "unknown");
}

TEST(Compression, GzipWritesAGzipMemberAndReadsZlibToo) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    const bytes input = test::text_like(3000, 7);
    bytes packed;
    ASSERT_FALSE(compress(compression::gzip, input, packed));
    ASSERT_GE(packed.size(), 18u);
    EXPECT_EQ(packed[0], 0x1f);  // gzip magic
    EXPECT_EQ(packed[1], 0x8b);
    EXPECT_EQ(packed[2], 8);  // deflate

    // A zlib-wrapped stream (compress2) decodes as well: windowBits 15+32 auto-detects.
    uLongf zlen = compressBound(static_cast<uLong>(input.size()));
    bytes zlib_stream(zlen);
    ASSERT_EQ(compress2(zlib_stream.data(), &zlen, input.data(), static_cast<uLong>(input.size()), 6), Z_OK);
    zlib_stream.resize(zlen);
    bytes out;
    ASSERT_FALSE(decompress(compression::gzip, zlib_stream, out, no_cap));
    EXPECT_EQ(out, input);
}

TEST(Compression, GzipConcatenatedMembersDecodeAsOneStream) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    bytes packed;
    ASSERT_FALSE(compress(compression::gzip, test::bv("hello "), packed));
    ASSERT_FALSE(compress(compression::gzip, test::bv("world"), packed));
    bytes out;
    ASSERT_FALSE(decompress(compression::gzip, packed, out, no_cap));
    EXPECT_EQ(test::to_string(out), "hello world");
}

TEST(Compression, ZstdConcatenatedFramesAndFramesWithoutContentSize) {
    KWIRE_REQUIRE_CODEC(compression::zstd);
    // A streaming compressor (what zstd-jni's output stream does) writes no content size.
    const bytes input = test::text_like(300000, 8);
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    bytes frame(ZSTD_compressBound(input.size()) + 64);
    ZSTD_outBuffer o{frame.data(), frame.size(), 0};
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue)));
    std::size_t left = 1;
    while (left != 0) {
        left = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
        ASSERT_FALSE(ZSTD_isError(left));
    }
    ZSTD_freeCCtx(cctx);
    frame.resize(o.pos);
    ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);

    bytes two_frames = frame;
    ASSERT_FALSE(compress(compression::zstd, test::bv("tail"), two_frames));
    bytes out;
    ASSERT_FALSE(decompress(compression::zstd, two_frames, out, no_cap));
    ASSERT_EQ(out.size(), input.size() + 4);
    EXPECT_TRUE(std::equal(input.begin(), input.end(), out.begin()));
    EXPECT_EQ(std::string(out.end() - 4, out.end()), "tail");
}

TEST(Compression, Lz4WritesIndependentBlocksWithoutChecksums) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    const bytes input = test::text_like(200000, 9);
    bytes packed;
    ASSERT_FALSE(compress(compression::lz4, input, packed));
    ASSERT_GE(packed.size(), 7u);
    EXPECT_EQ(protocol::load_be<std::uint32_t>(packed.data()), 0x04224D18u);  // 0x184D2204 little-endian
    const std::uint8_t flg = packed[4];
    EXPECT_EQ(flg >> 6, 1) << "frame version 01";
    EXPECT_TRUE(flg & 0x20) << "block independence: Kafka's Java reader requires it";
    EXPECT_FALSE(flg & 0x10) << "no block checksum";
    EXPECT_FALSE(flg & 0x04) << "no content checksum";
    EXPECT_EQ((packed[5] >> 4) & 0x7, 4) << "64 KiB maximum block size";
}

// A xerial frame built by hand: header, then two chunks that are hand-written raw snappy
// blocks, the second using a back-reference.
TEST(Compression, SnappyDecodesHandBuiltXerialFrame) {
    KWIRE_REQUIRE_CODEC(compression::snappy);
    const bytes frame = {
        0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00,  // xerial magic
        0x00, 0x00, 0x00, 0x01,                    // version 1
        0x00, 0x00, 0x00, 0x01,                    // minimum compatible version 1
        0x00, 0x00, 0x00, 0x07,                    // chunk 1: 7 bytes
        0x05,                                      //   uncompressed length 5
        0x10, 'h', 'e', 'l', 'l', 'o',             //   literal of 5: tag (5-1)<<2
        0x00, 0x00, 0x00, 0x08,                    // chunk 2: 8 bytes
        0x0a,                                      //   uncompressed length 10
        0x0c, ' ', 'a', 'b', 'c',                  //   literal of 4 " abc": tag (4-1)<<2
        0x09, 0x03,                                //   copy len 6 offset 3: tag 01 | (6-4)<<2
    };
    bytes out;
    ASSERT_FALSE(decompress(compression::snappy, frame, out, no_cap));
    EXPECT_EQ(test::to_string(out), "hello abcabcabc");

    // The same second chunk on its own is raw snappy, which librdkafka writes.
    const bytes raw(frame.begin() + 31, frame.end());
    out.clear();
    ASSERT_FALSE(decompress(compression::snappy, raw, out, no_cap));
    EXPECT_EQ(test::to_string(out), " abcabcabc");
}

TEST(Compression, SnappyWritesXerialChunksOf32KiB) {
    KWIRE_REQUIRE_CODEC(compression::snappy);
    const bytes input = test::text_like(70000, 10);
    bytes packed;
    ASSERT_FALSE(compress(compression::snappy, input, packed));
    const bytes header = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
    ASSERT_GE(packed.size(), header.size());
    EXPECT_TRUE(std::equal(header.begin(), header.end(), packed.begin()));
    // Walk the chunks with the reference library: 32 KiB + 32 KiB + the rest.
    std::vector<std::size_t> chunk_sizes;
    std::size_t pos = header.size();
    while (pos < packed.size()) {
        const auto n = static_cast<std::size_t>(protocol::load_be<std::int32_t>(packed.data() + pos));
        std::string chunk;
        ASSERT_TRUE(snappy::Uncompress(reinterpret_cast<const char*>(packed.data() + pos + 4), n, &chunk));
        chunk_sizes.push_back(chunk.size());
        pos += 4 + n;
    }
    EXPECT_EQ(pos, packed.size());
    EXPECT_EQ(chunk_sizes, (std::vector<std::size_t>{32768, 32768, 70000 - 65536}));
}

TEST(Compression, SnappyRawRoundTripsAndMatchesTheReferenceLibrary) {
    KWIRE_REQUIRE_CODEC(compression::snappy);
    const bytes input = test::text_like(40000, 11);
    bytes packed;
    ASSERT_FALSE(compress_snappy_raw(input, packed));
    std::string reference;
    ASSERT_TRUE(snappy::Uncompress(reinterpret_cast<const char*>(packed.data()), packed.size(), &reference));
    EXPECT_EQ(test::to_bytes(reference), input);
    bytes out;
    ASSERT_FALSE(decompress(compression::snappy, packed, out, no_cap));
    EXPECT_EQ(out, input);
}

TEST(Compression, ThreadsEachUseTheirOwnContexts) {
    // The codecs cache contexts per thread; concurrent use must not interfere.
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &failures] {
            for (int i = 0; i < 20; ++i) {
                for (compression c : real_codecs) {
                    if (!compression_available(c)) continue;  // left out of this build
                    const bytes input = test::text_like(20000 + static_cast<std::size_t>(i * 100), static_cast<std::uint32_t>(t * 1000 + i));
                    bytes packed, out;
                    if (compress(c, input, packed) || decompress(c, packed, out, no_cap) || out != input) ++failures;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace kwire::codec

// Malformed input, each case with the specific error it must produce: broken batch framing,
// lying lengths and counts, checksums, unknown magic and codecs, corrupt compressed payloads and
// decompression bombs.
#include <gtest/gtest.h>

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <functional>
#include <map>

#include "../require_codec.hpp"
#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/compression.hpp"
#include "kwire/codec/records_reader.hpp"
#include "test_util.hpp"

namespace kwire::codec {
namespace {

using test::bv;
using test::bytes;
using test::legacy_entry;

// ---- v2 batches built field by field --------------------------------------------------------

/// A v2 batch around hand-made record bytes, with a correct CRC.
bytes raw_batch(const bytes& records, std::int32_t count, std::int16_t attributes = 0) {
    bytes b;
    protocol::writer w(b);
    w.i64(0);                                                          // baseOffset
    w.i32(static_cast<std::int32_t>(49 + records.size()));             // batchLength
    w.i32(-1);                                                         // partitionLeaderEpoch
    w.i8(2);                                                           // magic
    w.u32(0);                                                          // crc (fixed below)
    w.i16(attributes);                                                 // attributes
    w.i32(count - 1);                                                  // lastOffsetDelta
    w.i64(100);                                                        // baseTimestamp
    w.i64(100);                                                        // maxTimestamp
    w.i64(-1);                                                         // producerId
    w.i16(-1);                                                         // producerEpoch
    w.i32(-1);                                                         // baseSequence
    w.i32(count);                                                      // recordCount
    w.raw(records.data(), records.size());
    test::fix_crc(b);
    return b;
}

/// One record: the fields written by `fields`, prefixed by their length (+ length_delta, to lie).
bytes record(const std::function<void(protocol::writer&)>& fields, std::int32_t length_delta = 0) {
    bytes body;
    protocol::writer bw(body);
    fields(bw);
    bytes out;
    protocol::writer w(out);
    w.varint(static_cast<std::int32_t>(body.size()) + length_delta);
    w.raw(body.data(), body.size());
    return out;
}

/// Fields of a well-formed record with key "k", value "val", and `headers` header bytes.
void normal_fields(protocol::writer& w) {
    w.i8(0);        // attributes
    w.varlong(0);   // timestampDelta
    w.varint(0);    // offsetDelta
    w.varint(1);    // keyLength
    w.raw("k", 1);
    w.varint(3);    // valueLength
    w.raw("val", 3);
    w.varint(0);    // headers
}

std::error_code decode_error(const bytes& blob, const decode_options& options = {}) {
    return test::read_all(blob, options).error;
}

TEST(BadInput, WellFormedHandMadeBatchDecodes) {
    // The baseline the cases below deviate from.
    const auto r = test::read_all(raw_batch(record(normal_fields), 1));
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].key, "k");
    EXPECT_EQ(r.records[0].value, "val");
}

TEST(BadInput, BatchLengthNegative) {
    bytes b = raw_batch(record(normal_fields), 1);
    protocol::store_be<std::int32_t>(b.data() + batch_v2::length_at, -5);
    EXPECT_EQ(decode_error(b), errc::negative_length);
}

TEST(BadInput, BatchLengthSmallerThanAnyEntry) {
    bytes b = raw_batch(record(normal_fields), 1);
    protocol::store_be<std::int32_t>(b.data() + batch_v2::length_at, 13);
    EXPECT_EQ(decode_error(b), errc::invalid_record);
}

TEST(BadInput, BatchLengthSmallerThanTheV2Header) {
    bytes b = raw_batch(record(normal_fields), 1);
    protocol::store_be<std::int32_t>(b.data() + batch_v2::length_at, 40);
    EXPECT_EQ(decode_error(b), errc::invalid_record);
}

TEST(BadInput, BatchLengthBeyondTheDataIsAnIncompleteTail) {
    // Oversized relative to the blob: indistinguishable from a Fetch response cut short, so it
    // is reported as incomplete (the caller knows whether more data can come), not decoded.
    bytes b = raw_batch(record(normal_fields), 1);
    protocol::store_be<std::int32_t>(b.data() + batch_v2::length_at, 0x7fffffff);
    const auto r = test::read_all(b);
    EXPECT_FALSE(r.error);
    EXPECT_TRUE(r.incomplete);
    EXPECT_TRUE(r.records.empty());
}

TEST(BadInput, BatchCutInsideARecordWithConsistentLength) {
    // A batch whose length and CRC agree but whose last record runs past its end.
    bytes recs = record(normal_fields);
    recs.resize(recs.size() - 2);
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::length_too_large);
}

TEST(BadInput, RecordCountLargerThanTheRecords) {
    bytes recs = record(normal_fields);
    test::append(recs, record(normal_fields));
    EXPECT_EQ(decode_error(raw_batch(recs, 3)), errc::invalid_record);
}

TEST(BadInput, RecordCountSmallerThanTheRecords) {
    bytes recs = record(normal_fields);
    test::append(recs, record(normal_fields));
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::invalid_record);
}

TEST(BadInput, RecordCountNegative) {
    EXPECT_EQ(decode_error(raw_batch(record(normal_fields), -1)), errc::invalid_record);
}

TEST(BadInput, RecordLengthNegative) {
    bytes recs;
    protocol::writer(recs).varint(-3);
    test::append(recs, bytes(20, 0));
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::negative_length);
}

TEST(BadInput, RecordLengthLongerThanItsFields) {
    bytes recs = record(normal_fields, +1);
    recs.push_back(0);  // the extra byte the length claims
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::invalid_record);
}

TEST(BadInput, RecordLengthShorterThanItsFields) {
    // The header count (last field) falls outside the record.
    bytes recs = record(normal_fields, -1);
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::invalid_record);
}

TEST(BadInput, RecordLengthVarintTooLong) {
    const bytes recs = {0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::varint_too_long);
}

TEST(BadInput, TimestampDeltaVarlongTooLong) {
    const bytes recs = record([](protocol::writer& w) {
        w.i8(0);
        for (int i = 0; i < 10; ++i) w.i8(static_cast<std::int8_t>(0xff));  // 11-byte varlong
        w.i8(0);
        w.varint(0);
        w.varint(-1);
        w.varint(-1);
        w.varint(0);
    });
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::varint_too_long);
}

TEST(BadInput, KeyLengthBelowMinusOne) {
    const bytes recs = record([](protocol::writer& w) {
        w.i8(0);
        w.varlong(0);
        w.varint(0);
        w.varint(-2);  // key length
        w.varint(-1);
        w.varint(0);
    });
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::negative_length);
}

TEST(BadInput, KeyLengthBeyondTheRecord) {
    const bytes recs = record([](protocol::writer& w) {
        w.i8(0);
        w.varlong(0);
        w.varint(0);
        w.varint(50);  // key length, but only a few bytes follow
        w.raw("abc", 3);
        w.varint(-1);
        w.varint(0);
    });
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::length_too_large);
}

TEST(BadInput, ValueLengthBelowMinusOneAndBeyondTheRecord) {
    for (std::int32_t len : {-7, 1000}) {
        const bytes recs = record([len](protocol::writer& w) {
            w.i8(0);
            w.varlong(0);
            w.varint(0);
            w.varint(-1);
            w.varint(len);  // value length
            w.raw("xy", 2);
            w.varint(0);
        });
        EXPECT_EQ(decode_error(raw_batch(recs, 1)), len < 0 ? errc::negative_length : errc::length_too_large) << len;
    }
}

void fields_with_header(protocol::writer& w, std::int32_t header_count, std::int32_t key_len, std::int32_t value_len) {
    w.i8(0);
    w.varlong(0);
    w.varint(0);
    w.varint(-1);
    w.varint(-1);
    w.varint(header_count);
    w.varint(key_len);
    if (key_len > 0) w.raw("hk", 2);
    w.varint(value_len);
    if (value_len > 0) w.raw("hv", 2);
}

TEST(BadInput, HeaderKeyNull) {
    const bytes recs = record([](protocol::writer& w) { fields_with_header(w, 1, -1, 2); });
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::negative_length);
}

TEST(BadInput, HeaderValueLengthBelowMinusOne) {
    const bytes recs = record([](protocol::writer& w) { fields_with_header(w, 1, 2, -3); });
    EXPECT_EQ(decode_error(raw_batch(recs, 1)), errc::negative_length);
}

TEST(BadInput, HeaderCountNegativeOrBeyondTheRecord) {
    EXPECT_EQ(decode_error(raw_batch(record([](protocol::writer& w) { fields_with_header(w, -1, 2, 2); }), 1)),
              errc::negative_length);
    EXPECT_EQ(decode_error(raw_batch(record([](protocol::writer& w) { fields_with_header(w, 1000, 2, 2); }), 1)),
              errc::length_too_large);
    // Two headers announced, one present.
    EXPECT_EQ(decode_error(raw_batch(record([](protocol::writer& w) { fields_with_header(w, 2, 2, 2); }), 1)),
              errc::invalid_record);
}

TEST(BadInput, HeaderWithNullValueIsFine) {
    const auto r = test::read_all(raw_batch(record([](protocol::writer& w) { fields_with_header(w, 1, 2, -1); }), 1));
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.records[0].headers.size(), 1u);
    EXPECT_EQ(r.records[0].headers[0].first, "hk");
    EXPECT_EQ(r.records[0].headers[0].second, std::nullopt);
}

TEST(BadInput, CrcMismatch) {
    for (std::size_t at : {batch_v2::attributes_at, batch_v2::record_count_at + 1, batch_v2::header_size + 3}) {
        bytes b = raw_batch(record(normal_fields), 1);
        b[at] ^= 0x01;
        EXPECT_EQ(decode_error(b), errc::crc_mismatch) << at;
    }
    bytes b = raw_batch(record(normal_fields), 1);
    b[batch_v2::crc_at + 3] ^= 0x80;
    EXPECT_EQ(decode_error(b), errc::crc_mismatch);
}

TEST(BadInput, UnknownMagic) {
    for (int magic : {3, 4, 0x7f, 0xff}) {
        bytes b = raw_batch(record(normal_fields), 1);
        b[batch_v2::magic_at] = static_cast<std::uint8_t>(magic);
        EXPECT_EQ(decode_error(b), errc::unsupported_magic) << int(magic);
    }
}

TEST(BadInput, UnknownCodecIds) {
    for (std::int16_t id = 5; id <= 7; ++id)
        EXPECT_EQ(decode_error(raw_batch(record(normal_fields), 1, id)), errc::unsupported_compression) << id;
}

TEST(BadInput, AnErrorStopsTheReader) {
    bytes blob = raw_batch(record(normal_fields), 1);
    test::append(blob, raw_batch(record(normal_fields), 5));  // count mismatch
    test::append(blob, raw_batch(record(normal_fields), 1));
    const auto r = test::read_all(blob);
    EXPECT_EQ(r.error, errc::invalid_record);
    EXPECT_EQ(r.batches.size(), 2u);
    EXPECT_EQ(r.records.size(), 2u) << "the good record of the bad batch came before the fault";
}

// ---- corrupt compressed payloads -------------------------------------------------------------

struct corruption {
    compression codec;
    const char* what;
    std::function<void(bytes&)> apply;
};

std::vector<corruption> corruptions() {
    return {
        {compression::gzip, "truncated", [](bytes& b) { b.resize(b.size() * 2 / 3); }},
        {compression::gzip, "flipped byte (CRC32 trailer catches it)", [](bytes& b) { b[b.size() / 2] ^= 0x40; }},
        {compression::gzip, "bad header", [](bytes& b) { b[0] = 0x00; }},
        {compression::gzip, "trailing garbage", [](bytes& b) { test::append(b, test::to_bytes("garbage!")); }},
        {compression::snappy, "truncated", [](bytes& b) { b.resize(b.size() * 2 / 3); }},
        {compression::snappy, "chunk length beyond the end", [](bytes& b) { protocol::store_be<std::int32_t>(b.data() + 16, 0x7fffff00); }},
        {compression::snappy, "chunk length negative", [](bytes& b) { protocol::store_be<std::int32_t>(b.data() + 16, -4); }},
        {compression::snappy, "chunk with garbage", [](bytes& b) { std::fill(b.begin() + 23, b.begin() + 60, 0xff); }},
        {compression::snappy, "header only half there", [](bytes& b) { b.resize(12); }},
        {compression::lz4, "truncated", [](bytes& b) { b.resize(b.size() * 2 / 3); }},
        {compression::lz4, "end mark missing", [](bytes& b) { b.erase(b.end() - 4, b.end()); }},
        {compression::lz4, "block size above the maximum", [](bytes& b) { protocol::store_be<std::uint32_t>(b.data() + 7, 0x00ff0f00); }},
        {compression::lz4, "bad magic", [](bytes& b) { b[0] ^= 0xff; }},
        {compression::zstd, "truncated", [](bytes& b) { b.resize(b.size() * 2 / 3); }},
        {compression::zstd, "bad magic", [](bytes& b) { b[0] ^= 0xff; }},
        {compression::zstd, "trailing garbage", [](bytes& b) { test::append(b, test::to_bytes("garbage!")); }},
        {compression::zstd, "reserved block type", [](bytes& b) {
             // The first block header follows the frame header: magic 4, descriptor 1, window
             // descriptor (unless single segment), dictionary id, content size.
             const std::uint8_t fhd = b[4];
             const bool single_segment = (fhd >> 5) & 1;
             constexpr std::size_t did_size[] = {0, 1, 2, 4};
             constexpr std::size_t fcs_size[] = {0, 2, 4, 8};
             const std::size_t fcs = (fhd >> 6) == 0 ? (single_segment ? 1 : 0) : fcs_size[fhd >> 6];
             const std::size_t at = 5 + (single_segment ? 0 : 1) + did_size[fhd & 3] + fcs;
             b[at] = static_cast<std::uint8_t>(b[at] | 0x06);  // block type 3: reserved
         }},
    };
}

TEST(BadInput, CorruptCompressedDataIsDecompressionFailed) {
    const bytes input = test::text_like(100000, 21);
    for (const auto& c : corruptions()) {
        if (!compression_available(c.codec)) continue;  // left out of this build
        bytes packed;
        ASSERT_FALSE(compress(c.codec, input, packed));
        c.apply(packed);
        bytes out = test::to_bytes("keep");
        EXPECT_EQ(decompress(c.codec, packed, out, 1 << 30), errc::decompression_failed)
            << compression_name(c.codec) << ": " << c.what;
        EXPECT_EQ(out, test::to_bytes("keep")) << compression_name(c.codec) << ": " << c.what;
    }
}

TEST(BadInput, EmptyAndRandomInputIsDecompressionFailed) {
    for (compression c : {compression::gzip, compression::snappy, compression::lz4, compression::zstd}) {
        if (!compression_available(c)) continue;  // left out of this build
        bytes out;
        EXPECT_EQ(decompress(c, bytes_view{}, out, 1 << 20), errc::decompression_failed) << compression_name(c);
        for (std::uint32_t seed = 1; seed <= 20; ++seed) {
            bytes noise = test::random_bytes(500, seed);
            // Raw snappy starts with the output length; keep it small so that the noise is judged
            // as data rather than rejected by the cap.
            if (c == compression::snappy) noise[0] = 0x40;
            EXPECT_EQ(decompress(c, noise, out, 1 << 20), errc::decompression_failed)
                << compression_name(c) << " seed " << seed;
        }
        EXPECT_TRUE(out.empty());
    }
}

TEST(BadInput, SnappyLengthPreambleLargerThanTheData) {
    KWIRE_REQUIRE_CODEC(compression::snappy);
    // Says 100 bytes, holds a 5-byte literal: snappy must not invent the rest.
    const bytes raw = {100, 0x10, 'h', 'e', 'l', 'l', 'o'};
    bytes out;
    EXPECT_EQ(decompress(compression::snappy, raw, out, 1 << 20), errc::decompression_failed);
}

TEST(BadInput, CorruptCompressedBatchPayload) {
    for (compression codec : {compression::gzip, compression::snappy, compression::lz4, compression::zstd}) {
        if (!compression_available(codec)) continue;  // left out of this build
        bytes out;
        batch_builder b;
        b.begin(out, {.codec = codec});
        for (int i = 0; i < 100; ++i) ASSERT_FALSE(b.append(i, bv("key"), bv("some value that compresses well")));
        ASSERT_FALSE(b.finish());
        // Drop the tail of the compressed payload, keep the framing consistent.
        out.resize(out.size() - 10);
        protocol::store_be<std::int32_t>(out.data() + batch_v2::length_at,
                                         static_cast<std::int32_t>(out.size() - batch_v2::log_overhead));
        test::fix_crc(out);
        EXPECT_EQ(decode_error(out), errc::decompression_failed) << compression_name(codec);
    }
}

// ---- decompression bombs -------------------------------------------------------------------

constexpr std::size_t bomb_size = std::size_t{1} << 30;  // 1 GiB of zeros
constexpr std::size_t small_cap = std::size_t{1} << 20;

/// 1 GiB of zeros compressed with each codec, built chunk by chunk with the libraries' streaming
/// APIs (never holding the 1 GiB), once per test run.
const bytes& bomb(compression codec) {
    static const bytes zeros(1 << 20, 0);
    static std::map<compression, bytes> cache;
    auto it = cache.find(codec);
    if (it != cache.end()) return it->second;
    bytes out;
    const std::size_t chunks = bomb_size / zeros.size();
    switch (codec) {
        case compression::gzip: {
            // Deflating 1 GiB takes seconds, so the stream is assembled instead: after a full
            // flush the compressor starts from scratch, so every further 1 MiB chunk of zeros
            // compresses to the same bytes, which are repeated. The trailer gets the CRC32 and
            // size of the whole 1 GiB.
            z_stream zs{};
            EXPECT_EQ(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 9, Z_RLE), Z_OK);
            auto run = [&zs](const bytes& in, int flush) {
                bytes result, buf(1 << 16);
                zs.next_in = const_cast<Bytef*>(in.data());
                zs.avail_in = static_cast<uInt>(in.size());
                do {
                    zs.next_out = buf.data();
                    zs.avail_out = static_cast<uInt>(buf.size());
                    deflate(&zs, flush);
                    result.insert(result.end(), buf.data(), buf.data() + (buf.size() - zs.avail_out));
                } while (zs.avail_out == 0);
                return result;
            };
            out = run(zeros, Z_FULL_FLUSH);  // gzip header + first chunk
            const bytes middle = run(zeros, Z_FULL_FLUSH);
            EXPECT_EQ(run(zeros, Z_FULL_FLUSH), middle) << "chunks after a full flush are identical";
            for (std::size_t i = 1; i < chunks; ++i) out.insert(out.end(), middle.begin(), middle.end());
            bytes tail = run(bytes{}, Z_FINISH);  // final empty block + trailer (of 3 MiB)
            deflateEnd(&zs);
            const uLong chunk_crc = ::crc32(0, zeros.data(), static_cast<uInt>(zeros.size()));
            uLong crc = chunk_crc;
            for (std::size_t i = 1; i < chunks; ++i) crc = crc32_combine(crc, chunk_crc, static_cast<z_off_t>(zeros.size()));
            const auto isize = static_cast<std::uint32_t>(bomb_size);
            for (int i = 0; i < 4; ++i) {
                tail[tail.size() - 8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(crc >> (8 * i));
                tail[tail.size() - 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(isize >> (8 * i));
            }
            out.insert(out.end(), tail.begin(), tail.end());
            break;
        }
        case compression::snappy: {
            // xerial framing with 1 MiB chunks (snappy-java reads any chunk size); snappy's
            // format caps the ratio near 21:1, so this one is about 48 MiB.
            std::string chunk;
            snappy::Compress(reinterpret_cast<const char*>(zeros.data()), zeros.size(), &chunk);
            out = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
            out.reserve(16 + chunks * (4 + chunk.size()));
            for (std::size_t i = 0; i < chunks; ++i) {
                const std::size_t at = out.size();
                out.resize(at + 4);
                protocol::store_be(out.data() + at, static_cast<std::int32_t>(chunk.size()));
                out.insert(out.end(), chunk.begin(), chunk.end());
            }
            break;
        }
        case compression::lz4: {
            LZ4F_cctx* ctx = nullptr;
            LZ4F_createCompressionContext(&ctx, LZ4F_VERSION);
            LZ4F_preferences_t prefs{};
            prefs.frameInfo.blockMode = LZ4F_blockIndependent;
            bytes buf(LZ4F_compressBound(zeros.size(), &prefs) + 64);
            std::size_t n = LZ4F_compressBegin(ctx, buf.data(), buf.size(), &prefs);
            out.insert(out.end(), buf.data(), buf.data() + n);
            for (std::size_t i = 0; i < chunks; ++i) {
                n = LZ4F_compressUpdate(ctx, buf.data(), buf.size(), zeros.data(), zeros.size(), nullptr);
                out.insert(out.end(), buf.data(), buf.data() + n);
            }
            n = LZ4F_compressEnd(ctx, buf.data(), buf.size(), nullptr);
            out.insert(out.end(), buf.data(), buf.data() + n);
            LZ4F_freeCompressionContext(ctx);
            break;
        }
        case compression::zstd: {
            ZSTD_CCtx* ctx = ZSTD_createCCtx();
            ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, 1);
            bytes buf(ZSTD_CStreamOutSize());
            for (std::size_t i = 0; i <= chunks; ++i) {
                ZSTD_inBuffer in{zeros.data(), i < chunks ? zeros.size() : 0, 0};
                const auto mode = i < chunks ? ZSTD_e_continue : ZSTD_e_end;
                std::size_t left;
                do {
                    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
                    left = ZSTD_compressStream2(ctx, &o, &in, mode);
                    out.insert(out.end(), buf.data(), buf.data() + o.pos);
                } while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
            }
            ZSTD_freeCCtx(ctx);
            break;
        }
        case compression::none: break;
    }
    return cache.emplace(codec, std::move(out)).first->second;
}

class Bomb : public testing::TestWithParam<compression> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Codecs, Bomb,
                         testing::Values(compression::gzip, compression::snappy, compression::lz4,
                                         compression::zstd),
                         test::codec_param_name);

TEST_P(Bomb, OneGibOfZerosFailsAtTheCapWithoutAllocatingIt) {
    const bytes& packed = bomb(GetParam());
    ASSERT_FALSE(packed.empty());
    bytes out;
    EXPECT_EQ(decompress(GetParam(), packed, out, small_cap), errc::decompressed_too_large);
    EXPECT_TRUE(out.empty());
    // Growth stops at the cap: never the 1 GiB the stream expands to.
    EXPECT_LE(out.capacity(), 4 * small_cap);
}

TEST_P(Bomb, InsideABatchFailsAtTheConfiguredCap) {
    const bytes& packed = bomb(GetParam());
    bytes batch;
    protocol::writer w(batch);
    w.i64(0);
    w.i32(static_cast<std::int32_t>(49 + packed.size()));
    w.i32(-1);
    w.i8(2);
    w.u32(0);
    w.i16(static_cast<std::int16_t>(GetParam()));
    w.i32(0);
    w.i64(0);
    w.i64(0);
    w.i64(-1);
    w.i16(-1);
    w.i32(-1);
    w.i32(1);
    w.raw(packed.data(), packed.size());
    test::fix_crc(batch);
    bytes buffer;
    records_reader r(batch, buffer, {.max_decompressed_bytes = small_cap});
    EXPECT_FALSE(r.next_batch());
    EXPECT_EQ(r.error(), errc::decompressed_too_large);
    EXPECT_LE(buffer.capacity(), 4 * small_cap);
}

TEST(BadInput, SnappyLengthPreambleIsCheckedBeforeAllocating) {
    KWIRE_REQUIRE_CODEC(compression::snappy);
    // Raw snappy claiming 1 GiB (varint 0x80 0x80 0x80 0x80 0x04), then a token literal.
    const bytes raw = {0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x00};
    bytes out;
    EXPECT_EQ(decompress(compression::snappy, raw, out, small_cap), errc::decompressed_too_large);
    EXPECT_EQ(out.capacity(), 0u) << "nothing allocated for the claimed size";
    // The same in xerial framing.
    bytes framed = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 7};
    test::append(framed, raw);
    EXPECT_EQ(decompress(compression::snappy, framed, out, small_cap), errc::decompressed_too_large);
    EXPECT_EQ(out.capacity(), 0u);
}

TEST(BadInput, DeclaredContentSizesAboveTheCapFailBeforeDecoding) {
    KWIRE_REQUIRE_CODEC(compression::zstd);
    KWIRE_REQUIRE_CODEC(compression::lz4);
    const bytes input(small_cap + 1, 'x');
    for (compression c : {compression::zstd}) {
        bytes packed;
        ASSERT_FALSE(compress(c, input, packed));  // zstd records the content size
        bytes out;
        EXPECT_EQ(decompress(c, packed, out, small_cap), errc::decompressed_too_large);
        EXPECT_EQ(out.capacity(), 0u);
    }
    // An lz4 frame with a content size field.
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.contentSize = input.size();
    bytes packed(LZ4F_compressFrameBound(input.size(), &prefs));
    packed.resize(LZ4F_compressFrame(packed.data(), packed.size(), input.data(), input.size(), &prefs));
    bytes out;
    EXPECT_EQ(decompress(compression::lz4, packed, out, small_cap), errc::decompressed_too_large);
    EXPECT_EQ(out.capacity(), 0u);
    ASSERT_FALSE(decompress(compression::lz4, packed, out, input.size())) << "and it decodes under a cap that fits";
    EXPECT_EQ(out, input);
}

// ---- legacy messages ---------------------------------------------------------------------

TEST(BadInput, LegacyCrcMismatch) {
    bytes e = legacy_entry(0, 1, 0, 5, bv("k"), bv("v"));
    e.back() ^= 1;
    EXPECT_EQ(decode_error(e), errc::crc_mismatch);
    EXPECT_FALSE(decode_error(e, {.verify_crc = false}));
}

/// Rewrites the CRC32 of a single legacy entry after tampering.
void fix_legacy_crc(bytes& e) {
    protocol::store_be(e.data() + 12, crc32(0, e.data() + 16, e.size() - 16));
}

TEST(BadInput, LegacyKeyLengthBelowMinusOneAndBeyondTheMessage) {
    bytes e = legacy_entry(0, 0, 0, -1, bv("key"), bv("v"));
    protocol::store_be<std::int32_t>(e.data() + 18, -2);
    fix_legacy_crc(e);
    EXPECT_EQ(decode_error(e), errc::negative_length);
    protocol::store_be<std::int32_t>(e.data() + 18, 100);
    fix_legacy_crc(e);
    EXPECT_EQ(decode_error(e), errc::length_too_large);
}

TEST(BadInput, LegacyMessageWithBytesLeftOver) {
    bytes e = legacy_entry(0, 0, 0, -1, bv("k"), bv("v"));
    e.push_back(0);
    protocol::store_be<std::int32_t>(e.data() + 8, static_cast<std::int32_t>(e.size() - 12));
    fix_legacy_crc(e);
    EXPECT_EQ(decode_error(e), errc::invalid_record);
}

TEST(BadInput, LegacyV1MessageTooShortForItsTimestamp) {
    bytes e = legacy_entry(0, 0, 0, -1, std::nullopt, std::nullopt);  // 14-byte v0 message
    e[16] = 1;                                                        // now claims v1
    fix_legacy_crc(e);
    EXPECT_EQ(decode_error(e), errc::invalid_record);
}

bytes legacy_wrapper(std::uint8_t magic, compression codec, const bytes& inner) {
    bytes packed;
    EXPECT_FALSE(compress(codec, inner, packed));
    return legacy_entry(10, magic, static_cast<std::uint8_t>(codec), 0, std::nullopt, bytes_view{packed});
}

TEST(BadInput, LegacyWrapperProblems) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    const bytes one = legacy_entry(0, 1, 0, 1, bv("k"), bv("v"));
    // zstd only exists for magic 2.
    EXPECT_EQ(decode_error(legacy_wrapper(1, compression::zstd, one)), errc::unsupported_compression);
    // Codec ids 5-7.
    EXPECT_EQ(decode_error(legacy_entry(0, 1, 6, 0, std::nullopt, bv("x"))), errc::unsupported_compression);
    // A compressed wrapper without a value.
    EXPECT_EQ(decode_error(legacy_entry(0, 1, 1, 0, std::nullopt, std::nullopt)), errc::invalid_record);
    // An empty inner set.
    EXPECT_EQ(decode_error(legacy_wrapper(1, compression::gzip, bytes{})), errc::invalid_record);
    // An inner set cut short.
    bytes cut = one;
    cut.resize(cut.size() - 1);
    EXPECT_EQ(decode_error(legacy_wrapper(1, compression::gzip, cut)), errc::truncated);
    // Inner messages in another format than the wrapper.
    EXPECT_EQ(decode_error(legacy_wrapper(0, compression::gzip, one)), errc::invalid_record);
    // Nested compression.
    const bytes nested = legacy_wrapper(1, compression::gzip, one);
    EXPECT_EQ(decode_error(legacy_wrapper(1, compression::gzip, nested)), errc::invalid_record);
    // Corrupt payload.
    bytes corrupt = legacy_entry(10, 1, 1, 0, std::nullopt, bv("definitely not gzip"));
    EXPECT_EQ(decode_error(corrupt), errc::decompression_failed);
}

TEST(BadInput, LegacyInnerCrcMismatch) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    bytes inner = legacy_entry(0, 1, 0, 1, bv("k"), bv("v"));
    inner.back() ^= 1;
    EXPECT_EQ(decode_error(legacy_wrapper(1, compression::gzip, inner)), errc::crc_mismatch);
}

TEST(BadInput, LegacyBombFailsAtTheCap) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    const bytes& packed = bomb(compression::gzip);
    const bytes e = legacy_entry(0, 1, 1, 0, std::nullopt, bytes_view{packed});
    EXPECT_EQ(decode_error(e, {.max_decompressed_bytes = small_cap}), errc::decompressed_too_large);
}

}  // namespace
}  // namespace kwire::codec

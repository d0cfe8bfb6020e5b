// RecordBatch v2: the encoder's exact bytes, round trips through every codec, and the reader's
// handling of a RECORDS blob (several batches, a partial tail, skipping).
#include <gtest/gtest.h>

#include <lz4frame.h>

#include <array>
#include <random>

#include "../require_codec.hpp"
#include "alloc_counter.hpp"
#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/records_reader.hpp"
#include "test_util.hpp"

namespace kwire::codec {
namespace {

using test::bv;
using test::bytes;
using test::owned_record;

constexpr compression all_codecs[] = {compression::none, compression::gzip, compression::snappy, compression::lz4,
                                      compression::zstd};

// Worked out by hand from the specification (see record.hpp), for:
//   record 0: timestamp 1000, key "k", value "v1", no headers
//   record 1: timestamp 1005, null key, value "value2", header "h" = "x"
// The CRC was computed independently (a bitwise CRC32C in Python over bytes 21..87).
const bytes golden_batch = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // baseOffset 0
    0x00, 0x00, 0x00, 0x4c,                          // batchLength 76 = 49 + 27 bytes of records
    0xff, 0xff, 0xff, 0xff,                          // partitionLeaderEpoch -1
    0x02,                                            // magic 2
    0x72, 0x08, 0xdc, 0x7e,                          // crc 0x7208DC7E
    0x00, 0x00,                                      // attributes: no codec, CreateTime
    0x00, 0x00, 0x00, 0x01,                          // lastOffsetDelta 1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8,  // baseTimestamp 1000
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xed,  // maxTimestamp 1005
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producerId -1
    0xff, 0xff,                                      // producerEpoch -1
    0xff, 0xff, 0xff, 0xff,                          // baseSequence -1
    0x00, 0x00, 0x00, 0x02,                          // recordCount 2
    // record 0
    0x12,                    // length 9 (zigzag 18)
    0x00,                    // attributes
    0x00,                    // timestampDelta 0
    0x00,                    // offsetDelta 0
    0x02, 'k',               // keyLength 1, key
    0x04, 'v', '1',          // valueLength 2, value
    0x00,                    // headers 0
    // record 1
    0x20,                    // length 16 (zigzag 32)
    0x00,                    // attributes
    0x0a,                    // timestampDelta 5 (zigzag 10)
    0x02,                    // offsetDelta 1
    0x01,                    // keyLength -1: null key
    0x0c, 'v', 'a', 'l', 'u', 'e', '2',  // valueLength 6, value
    0x02,                    // headers 1
    0x02, 'h',               //   header keyLength 1, key
    0x02, 'x',               //   header valueLength 1, value
};

TEST(RecordBatch, EncoderWritesTheGoldenBytes) {
    bytes out;
    batch_builder b;
    b.begin(out);
    ASSERT_FALSE(b.append(1000, bv("k"), bv("v1")));
    const std::array<header_view, 1> headers{header_view{"h", bv("x")}};
    ASSERT_FALSE(b.append(1005, std::nullopt, bv("value2"), headers));
    EXPECT_EQ(b.size_bytes(), golden_batch.size());
    ASSERT_FALSE(b.finish());
    EXPECT_EQ(out, golden_batch);
}

// Cancellation takes back the record appended last: the batch is then byte for byte the one
// built without it (its max timestamp included), whatever came before.
TEST(RecordBatch, DropLastTakesBackOnlyTheLastRecordAsIfNeverAppended) {
    bytes out;
    batch_builder b;
    b.begin(out);
    EXPECT_FALSE(b.drop_last()) << "nothing appended";
    ASSERT_FALSE(b.append(1000, bv("k"), bv("v1")));
    ASSERT_FALSE(b.append(9000, bv("dropped"), bv("taken back")));
    EXPECT_TRUE(b.drop_last());
    EXPECT_FALSE(b.drop_last()) << "only the last one, once";
    const std::array<header_view, 1> headers{header_view{"h", bv("x")}};
    ASSERT_FALSE(b.append(1005, std::nullopt, bv("value2"), headers));
    ASSERT_FALSE(b.finish());
    EXPECT_EQ(out, golden_batch);
}

TEST(RecordBatch, DecoderReadsTheGoldenBytes) {
    const auto r = test::read_all(golden_batch);
    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_FALSE(r.incomplete);
    ASSERT_EQ(r.batches.size(), 1u);
    const batch_header& h = r.batches[0];
    EXPECT_EQ(h.magic, 2);
    EXPECT_EQ(h.crc, 0x7208DC7Eu);
    EXPECT_EQ(h.codec(), compression::none);
    EXPECT_EQ(h.ts_type(), timestamp_type::create_time);
    EXPECT_EQ(h.record_count, 2);
    EXPECT_EQ(h.last_offset(), 1);
    EXPECT_EQ(h.size_bytes(), golden_batch.size());
    const std::vector<owned_record> expected = {
        {0, 1000, "k", "v1", {}},
        {1, 1005, std::nullopt, "value2", {{"h", "x"}}},
    };
    EXPECT_EQ(r.records, expected);
    EXPECT_EQ(r.consumed, golden_batch.size());
}

/// A varied set of records: null and empty keys and values, headers (with null values), large
/// values, timestamps that go backwards.
std::vector<owned_record> sample_records(std::size_t n) {
    std::vector<owned_record> recs;
    for (std::size_t i = 0; i < n; ++i) {
        owned_record r;
        r.offset = static_cast<std::int64_t>(i);
        r.timestamp = 1'700'000'000'000 + static_cast<std::int64_t>(i % 7) * 1000 - static_cast<std::int64_t>(i % 3) * 5000;
        if (i % 5 != 0) r.key = "key-" + std::to_string(i);
        if (i % 11 == 3) r.key = "";
        if (i % 13 != 1) r.value = std::string(i % 17 == 0 ? 3000 : i % 200, static_cast<char>('a' + i % 26));
        if (i % 4 == 0) r.headers.emplace_back("trace", "id-" + std::to_string(i));
        if (i % 8 == 0) r.headers.emplace_back("empty-value", std::nullopt);
        recs.push_back(std::move(r));
    }
    return recs;
}

std::optional<bytes_view> view(const std::optional<std::string>& s) {
    if (!s) return std::nullopt;
    return bv(*s);
}

std::error_code encode(const std::vector<owned_record>& recs, bytes& out, const batch_options& options) {
    batch_builder b;
    b.begin(out, options);
    std::vector<header_view> headers;
    for (const auto& r : recs) {
        headers.clear();
        for (const auto& [k, v] : r.headers) headers.push_back({k, view(v)});
        if (auto ec = b.append(r.timestamp, view(r.key), view(r.value), headers)) return ec;
    }
    return b.finish();
}

class RecordBatchCodec : public testing::TestWithParam<compression> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Codecs, RecordBatchCodec, testing::ValuesIn(all_codecs),
                         test::codec_param_name);

TEST_P(RecordBatchCodec, RoundTripsManyRecords) {
    const auto recs = sample_records(1000);
    bytes out;
    ASSERT_FALSE(encode(recs, out, {.codec = GetParam()}));
    const auto r = test::read_all(out);
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.batches.size(), 1u);
    const batch_header& h = r.batches[0];
    EXPECT_EQ(h.codec(), GetParam());
    EXPECT_EQ(h.record_count, 1000);
    EXPECT_EQ(h.last_offset_delta, 999);
    EXPECT_EQ(h.base_timestamp, recs[0].timestamp);
    std::int64_t max_ts = recs[0].timestamp;
    for (const auto& rec : recs) max_ts = std::max(max_ts, rec.timestamp);
    EXPECT_EQ(h.max_timestamp, max_ts);
    EXPECT_EQ(h.producer_id, -1);
    EXPECT_EQ(h.producer_epoch, -1);
    EXPECT_EQ(h.base_sequence, -1);
    EXPECT_EQ(h.partition_leader_epoch, -1);
    EXPECT_FALSE(h.is_transactional());
    EXPECT_FALSE(h.is_control());
    EXPECT_EQ(r.records, recs);
    if (GetParam() != compression::none) {
        EXPECT_LT(out.size(), 500'000u) << "compressed";
    }
}

TEST_P(RecordBatchCodec, BuilderIsReusableAndBatchesFollowEachOther) {
    const auto first = sample_records(50);
    const auto second = sample_records(30);
    bytes out = test::to_bytes("request-prefix");
    batch_builder b;
    for (const auto* recs : {&first, &second}) {
        b.begin(out, {.codec = GetParam()});
        for (const auto& r : *recs) ASSERT_FALSE(b.append(r.timestamp, view(r.key), view(r.value)));
        ASSERT_FALSE(b.finish());
    }
    const auto r = test::read_all(bytes_view{out.data() + 14, out.size() - 14});
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.batches.size(), 2u);
    ASSERT_EQ(r.records.size(), 80u);
    EXPECT_EQ(r.records[50].offset, 0) << "each batch starts at offset delta 0";
    EXPECT_EQ(r.records[50].value, second[0].value);
    EXPECT_EQ(r.consumed, out.size() - 14);
}

TEST_P(RecordBatchCodec, CompressedRecordsAreViewsIntoTheCallersBuffer) {
    bytes out;
    ASSERT_FALSE(encode(sample_records(20), out, {.codec = GetParam()}));
    bytes buffer;
    records_reader r(out, buffer);
    ASSERT_TRUE(r.next_batch());
    record_view rec;
    int n = 0;
    while (r.next_record(rec)) {
        if (!rec.value || rec.value->empty()) continue;
        const std::uint8_t* base = GetParam() == compression::none ? out.data() : buffer.data();
        const std::size_t size = GetParam() == compression::none ? out.size() : buffer.size();
        EXPECT_GE(rec.value->data(), base);
        EXPECT_LE(rec.value->data() + rec.value->size(), base + size);
        ++n;
    }
    EXPECT_FALSE(r.error());
    EXPECT_GT(n, 10);
}

TEST(RecordBatch, ProducerStateAndTransactionalFlag) {
    bytes out;
    batch_builder b;
    b.begin(out, {.producer_id = 4242, .producer_epoch = 7, .base_sequence = 100});
    ASSERT_FALSE(b.append(1, bv("a"), bv("b")));
    b.set_producer_state(5555, 8, 200, true);  // e.g. sequence assigned when the batch drains
    ASSERT_FALSE(b.finish());
    const auto r = test::read_all(out);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.batches.size(), 1u);
    EXPECT_EQ(r.batches[0].producer_id, 5555);
    EXPECT_EQ(r.batches[0].producer_epoch, 8);
    EXPECT_EQ(r.batches[0].base_sequence, 200);
    EXPECT_TRUE(r.batches[0].is_transactional());
    EXPECT_EQ(r.batches[0].attributes, batch_attributes::transactional);
}

TEST(RecordBatch, LogAppendTimeGivesEveryRecordTheMaxTimestamp) {
    bytes out;
    ASSERT_FALSE(encode(sample_records(5), out, {}));
    // What a broker does with message.timestamp.type=LogAppendTime.
    protocol::store_be<std::int16_t>(out.data() + batch_v2::attributes_at, batch_attributes::log_append_time);
    protocol::store_be<std::int64_t>(out.data() + batch_v2::max_timestamp_at, 1'234'567);
    test::fix_crc(out);
    const auto r = test::read_all(out);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(r.batches[0].ts_type(), timestamp_type::log_append_time);
    ASSERT_EQ(r.records.size(), 5u);
    for (const auto& rec : r.records) EXPECT_EQ(rec.timestamp, 1'234'567);
}

TEST(RecordBatch, OffsetsAreBaseOffsetPlusDelta) {
    bytes out;
    ASSERT_FALSE(encode(sample_records(3), out, {}));
    // The broker assigns baseOffset; it is outside the CRC.
    protocol::store_be<std::int64_t>(out.data(), 9'000'000'000);
    const auto r = test::read_all(out);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.records.size(), 3u);
    EXPECT_EQ(r.records[0].offset, 9'000'000'000);
    EXPECT_EQ(r.records[2].offset, 9'000'000'002);
    EXPECT_EQ(r.batches[0].last_offset(), 9'000'000'002);
}

TEST(RecordBatch, PartialTrailingBatchIsIncompleteNotAnError) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    bytes one, two;
    ASSERT_FALSE(encode(sample_records(10), one, {}));
    ASSERT_FALSE(encode(sample_records(12), two, {.codec = compression::lz4}));
    for (std::size_t cut : {std::size_t{1}, std::size_t{11}, std::size_t{12}, std::size_t{17}, std::size_t{61},
                            two.size() - 1}) {
        bytes blob = one;
        blob.insert(blob.end(), two.begin(), two.begin() + static_cast<std::ptrdiff_t>(cut));
        const auto r = test::read_all(blob);
        EXPECT_FALSE(r.error) << cut;
        EXPECT_TRUE(r.incomplete) << cut;
        EXPECT_EQ(r.batches.size(), 1u) << cut;
        EXPECT_EQ(r.records.size(), 10u) << cut;
        EXPECT_EQ(r.consumed, one.size()) << cut;
    }
    // Only a partial batch: nothing decoded, the fetch size was too small.
    const auto r = test::read_all(bytes_view{two.data(), two.size() / 2});
    EXPECT_TRUE(r.incomplete);
    EXPECT_TRUE(r.batches.empty());
    EXPECT_EQ(r.consumed, 0u);
}

TEST(RecordBatch, EmptyBlobHasNoBatches) {
    const auto r = test::read_all(bytes_view{});
    EXPECT_FALSE(r.error);
    EXPECT_FALSE(r.incomplete);
    EXPECT_TRUE(r.batches.empty());
}

TEST(RecordBatch, UnreadRecordsAreSkippedByNextBatch) {
    KWIRE_REQUIRE_CODEC(compression::zstd);
    bytes blob;
    ASSERT_FALSE(encode(sample_records(10), blob, {}));
    ASSERT_FALSE(encode(sample_records(4), blob, {.codec = compression::zstd}));
    ASSERT_FALSE(encode(sample_records(6), blob, {}));
    records_reader r(blob);
    record_view rec;
    ASSERT_TRUE(r.next_batch());
    ASSERT_TRUE(r.next_record(rec));  // read one of ten
    ASSERT_TRUE(r.next_batch());      // skip the rest
    EXPECT_EQ(r.batch().record_count, 4);
    ASSERT_TRUE(r.next_batch());  // skip all four
    int n = 0;
    while (r.next_record(rec)) ++n;
    EXPECT_EQ(n, 6);
    EXPECT_FALSE(r.next_batch());
    EXPECT_FALSE(r.error());
    EXPECT_FALSE(r.next_record(rec)) << "no batch, no record";
}

TEST(RecordBatch, EmptyBatchLeftByCompactionDecodesWithNoRecords) {
    // Compaction can keep a batch header with zero records (to retain producer state); the
    // codec bits may still say lz4 although there is no payload.
    bytes out;
    batch_builder b;
    b.begin(out);
    ASSERT_FALSE(b.append(5, bv("k"), bv("v")));
    ASSERT_FALSE(b.finish());
    out.resize(batch_v2::header_size);
    protocol::store_be<std::int32_t>(out.data() + batch_v2::length_at,
                                     static_cast<std::int32_t>(batch_v2::header_size - batch_v2::log_overhead));
    protocol::store_be<std::int16_t>(out.data() + batch_v2::attributes_at, static_cast<std::int16_t>(compression::lz4));
    protocol::store_be<std::int32_t>(out.data() + batch_v2::record_count_at, 0);
    test::fix_crc(out);
    const auto r = test::read_all(out);
    EXPECT_FALSE(r.error) << r.error.message();
    EXPECT_EQ(r.batches.size(), 1u);
    EXPECT_TRUE(r.records.empty());
}

TEST(RecordBatch, SizeBytesTracksTheUncompressedBatchAndMaxRecordSizeBoundsAppend) {
    bytes out = test::to_bytes("xyz");
    batch_builder b;
    EXPECT_EQ(b.size_bytes(), 0u);
    b.begin(out);
    EXPECT_EQ(b.size_bytes(), batch_v2::header_size);
    const auto recs = sample_records(100);
    for (const auto& r : recs) {
        std::vector<header_view> headers;
        for (const auto& [k, v] : r.headers) headers.push_back({k, view(v)});
        const std::size_t before = out.size();
        const std::size_t bound = batch_builder::max_record_size(view(r.key), view(r.value), headers);
        ASSERT_FALSE(b.append(r.timestamp, view(r.key), view(r.value), headers));
        EXPECT_LE(out.size() - before, bound);
        EXPECT_GE(out.size() - before + 17, bound) << "a bound, but a tight one";
        EXPECT_EQ(b.size_bytes(), out.size() - 3);
    }
    EXPECT_EQ(b.record_count(), 100);
    ASSERT_FALSE(b.finish());
    EXPECT_FALSE(b.active());
    EXPECT_EQ(b.size_bytes(), 0u);
}

TEST(RecordBatch, AbortAndEmptyFinishRestoreTheBuffer) {
    bytes out = test::to_bytes("keep");
    batch_builder b;
    b.begin(out, {.codec = compression::gzip});
    ASSERT_FALSE(b.append(1, bv("k"), bv("v")));
    b.abort();
    EXPECT_EQ(out, test::to_bytes("keep"));
    EXPECT_FALSE(b.active());

    b.begin(out);
    EXPECT_EQ(b.finish(), errc::invalid_argument) << "brokers reject empty batches";
    EXPECT_EQ(out, test::to_bytes("keep"));
}

TEST(RecordBatch, AppendWithoutBeginIsInvalidArgument) {
    batch_builder b;
    EXPECT_EQ(b.append(1, bv("k"), bv("v")), errc::invalid_argument);
    EXPECT_EQ(b.finish(), errc::invalid_argument);
}

TEST(RecordBatch, ExtremeTimestampsRoundTrip) {
    const std::vector<owned_record> recs = {
        {0, std::numeric_limits<std::int64_t>::max(), "a", "1", {}},
        {1, std::numeric_limits<std::int64_t>::min(), "b", "2", {}},
        {2, -1, std::nullopt, std::nullopt, {}},
    };
    bytes out;
    ASSERT_FALSE(encode(recs, out, {}));
    const auto r = test::read_all(out);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(r.records, recs);
}

TEST(RecordBatch, VerifyCrcCanBeTurnedOff) {
    bytes out;
    ASSERT_FALSE(encode(sample_records(3), out, {}));
    out[batch_v2::crc_at] ^= 0xff;
    EXPECT_EQ(test::read_all(out).error, errc::crc_mismatch);
    const auto r = test::read_all(out, {.verify_crc = false});
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.records.size(), 3u);
}

// Compressing elsewhere: a batch built with defer_compression and compressed afterwards (as a
// producer does on its compression executor) is byte for byte the batch built inline, once the
// producer state and CRC are stored; and until then it carries the uncompressed records.
TEST_P(RecordBatchCodec, DeferredCompressionGivesTheInlineBytes) {
    const auto recs = sample_records(1500);  // several lz4 blocks
    for (const std::optional<int> level : {std::optional<int>{}, std::optional<int>{4}}) {
        if (level && (GetParam() == compression::snappy || GetParam() == compression::none)) continue;
        bytes inline_batch, deferred, compressed = test::to_bytes("prefix");
        ASSERT_FALSE(encode(recs, inline_batch,
                            {.codec = GetParam(), .compression_level = level, .producer_id = 9, .producer_epoch = 2,
                             .base_sequence = 40}));
        ASSERT_FALSE(encode(recs, deferred,
                            {.codec = GetParam(), .compression_level = level, .defer_compression = true}));
        EXPECT_GE(deferred.size(), batch_v2::header_size + 100'000) << "records not compressed yet";
        ASSERT_FALSE(compress_deferred_batch(deferred, level, compressed));
        std::span<std::uint8_t> batch{compressed.data() + 6, compressed.size() - 6};
        set_batch_producer_state(batch, 9, 2, 40);
        EXPECT_EQ(bytes(batch.begin(), batch.end()), inline_batch) << compression_name(GetParam());
        const auto r = test::read_all(bytes_view{batch.data(), batch.size()});
        ASSERT_FALSE(r.error) << r.error.message();
        EXPECT_EQ(r.records, recs);
    }
}

TEST(RecordBatch, DeferredCompressionRejectsATruncatedBatchAndLeavesTheOutput) {
    bytes out = test::to_bytes("keep");
    const bytes short_batch(batch_v2::header_size - 1, 0);
    EXPECT_EQ(compress_deferred_batch(short_batch, std::nullopt, out), errc::invalid_argument);
    EXPECT_EQ(out, test::to_bytes("keep"));
}

// lz4 is compressed block by block as records are appended: the frame must be exactly what
// LZ4F writes for Kafka's preferences (independent 64 KiB blocks, no checksums) over the same
// records, across several blocks, with an incompressible block stored raw, and with records that
// straddle block boundaries or are larger than a block.
// A codec left out of the build (KWIRE_WITH_*=OFF): the batch fails with unsupported_compression
// (which is what a producer reports for it) and the output is left as it was.
TEST(RecordBatch, CodecLeftOutOfTheBuildFailsTheBatch) {
    int left_out = 0;
    for (compression codec : all_codecs) {
        if (compression_available(codec)) continue;
        ++left_out;
        bytes out = test::to_bytes("keep");
        batch_builder b;
        b.begin(out, {.codec = codec});
        for (int i = 0; i < 3; ++i) ASSERT_FALSE(b.append(i, test::bv("key"), test::bv("value")));
        EXPECT_EQ(b.finish(), errc::unsupported_compression) << compression_name(codec);
        EXPECT_EQ(out, test::to_bytes("keep")) << compression_name(codec);
    }
    if (left_out == 0) GTEST_SKIP() << "this build has every codec";
}

TEST(RecordBatch, Lz4BlockByBlockFrameIsWhatLz4fWrites) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    std::mt19937 rng(5);
    std::vector<std::string> values;
    for (int i = 0; i < 3000; ++i) {
        std::string v = "{\"id\":" + std::to_string(rng() % 100000) + ",\"type\":\"order\",\"amount\":" +
                        std::to_string(rng() % 1000) + "}";
        if (i >= 1000 && i < 1700) {  // a stretch of random bytes: at least one raw block
            v.resize(100);
            for (auto& c : v) c = static_cast<char>(rng());
        }
        if (i == 2500) v.assign(150'000, 'x');  // one record over two blocks
        values.push_back(std::move(v));
    }
    bytes plain, packed;
    std::vector<std::size_t> plain_sizes;
    batch_builder b;
    for (auto [codec, out] : {std::pair{compression::none, &plain}, std::pair{compression::lz4, &packed}}) {
        b.begin(*out, {.codec = codec});
        for (std::size_t i = 0; i < values.size(); ++i) {
            ASSERT_FALSE(b.append(1000 + static_cast<std::int64_t>(i), std::nullopt, bv(values[i])));
            if (codec == compression::none) {
                plain_sizes.push_back(b.size_bytes());
            } else {
                ASSERT_EQ(b.size_bytes(), plain_sizes[i]) << "size_bytes counts the uncompressed records, at " << i;
            }
        }
        if (codec == compression::lz4) {
            EXPECT_LT(packed.size(), plain.size() / 2) << "compressed as it went";
        }
        ASSERT_FALSE(b.finish());
    }
    const bytes_view records{plain.data() + batch_v2::header_size, plain.size() - batch_v2::header_size};
    ASSERT_GT(records.size(), 4 * 65536u);
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    bytes expected(LZ4F_compressFrameBound(records.size(), &prefs));
    const std::size_t n = LZ4F_compressFrame(expected.data(), expected.size(), records.data(), records.size(), &prefs);
    ASSERT_FALSE(LZ4F_isError(n));
    expected.resize(n);
    EXPECT_EQ(bytes(packed.begin() + batch_v2::header_size, packed.end()), expected);

    const auto r = test::read_all(packed);
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.records.size(), values.size());
    EXPECT_EQ(r.records[2500].value, std::optional<std::string>(values[2500]));
    EXPECT_EQ(r.records[1200].value, std::optional<std::string>(values[1200]));
}

TEST(RecordBatch, AppendAndDecodeAllocateNothingPerRecord) {
    const auto recs = sample_records(1000);
    std::vector<std::vector<header_view>> headers(recs.size());
    for (std::size_t i = 0; i < recs.size(); ++i)
        for (const auto& [k, v] : recs[i].headers) headers[i].push_back({k, view(v)});

    for (compression codec : all_codecs) {
        if (!compression_available(codec)) continue;  // left out of this build
        bytes out;
        out.reserve(1 << 20);  // the request buffer, already grown by earlier requests
        batch_builder b;
        // A first batch warms up the builder's scratch buffer and the codec contexts.
        b.begin(out, {.codec = codec});
        for (std::size_t i = 0; i < recs.size(); ++i)
            ASSERT_FALSE(b.append(recs[i].timestamp, view(recs[i].key), view(recs[i].value), headers[i]));
        ASSERT_FALSE(b.finish());
        out.clear();

        b.begin(out, {.codec = codec});
        const std::size_t before_append = test::allocations();
        for (std::size_t i = 0; i < recs.size(); ++i)
            ASSERT_FALSE(b.append(recs[i].timestamp, view(recs[i].key), view(recs[i].value), headers[i]));
        EXPECT_EQ(test::allocations(), before_append) << compression_name(codec);
        ASSERT_FALSE(b.finish());

        bytes buffer;
        buffer.reserve(1 << 20);
        records_reader r(out, buffer);
        ASSERT_TRUE(r.next_batch());  // decompression may allocate codec state once per thread
        const std::size_t before_decode = test::allocations();
        record_view rec;
        std::size_t n = 0, header_bytes = 0;
        while (r.next_record(rec)) {
            ++n;
            for (const auto& h : rec.headers) header_bytes += h.key.size();
        }
        EXPECT_EQ(test::allocations(), before_decode) << compression_name(codec);
        EXPECT_FALSE(r.error());
        EXPECT_EQ(n, recs.size());
        EXPECT_GT(header_bytes, 0u);
    }
}

}  // namespace
}  // namespace kwire::codec

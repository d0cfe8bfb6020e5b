// Legacy MessageSet v0/v1: hand-built messages, compressed wrappers and their offset rules, and
// blobs that mix formats.
#include <gtest/gtest.h>

#include "../require_codec.hpp"
#include "kwire/codec/compression.hpp"
#include "kwire/codec/records_reader.hpp"
#include "test_util.hpp"

namespace kwire::codec {
namespace {

using test::bv;
using test::bytes;
using test::legacy_entry;
using test::owned_record;

// CRCs computed independently with Python's zlib.crc32 over magic .. end.
const bytes golden_v0 = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // offset 5
    0x00, 0x00, 0x00, 0x10,                          // messageSize 16
    0x1f, 0xec, 0xd7, 0x0a,                          // crc 0x1FECD70A
    0x00,                                            // magic 0
    0x00,                                            // attributes: no codec
    0x00, 0x00, 0x00, 0x01, 'k',                     // key length 1, key
    0x00, 0x00, 0x00, 0x01, 'v',                     // value length 1, value
};

const bytes golden_v1 = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // offset 7
    0x00, 0x00, 0x00, 0x1b,                          // messageSize 27
    0x8e, 0xe3, 0x0b, 0xba,                          // crc 0x8EE30BBA
    0x01,                                            // magic 1
    0x00,                                            // attributes: no codec, CreateTime
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,  // timestamp 1700000000000
    0xff, 0xff, 0xff, 0xff,                          // key length -1: null
    0x00, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', // value length 5, value
};

TEST(MessageSet, DecodesHandBuiltV0Message) {
    const auto r = test::read_all(golden_v0);
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.batches.size(), 1u);
    EXPECT_EQ(r.batches[0].magic, 0);
    EXPECT_EQ(r.batches[0].record_count, 1);
    EXPECT_EQ(r.batches[0].base_offset, 5);
    EXPECT_EQ(r.batches[0].crc, 0x1FECD70Au);
    const std::vector<owned_record> expected = {{5, -1, "k", "v", {}}};
    EXPECT_EQ(r.records, expected);
}

TEST(MessageSet, DecodesHandBuiltV1Message) {
    const auto r = test::read_all(golden_v1);
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.batches.size(), 1u);
    EXPECT_EQ(r.batches[0].magic, 1);
    const std::vector<owned_record> expected = {{7, 1'700'000'000'000, std::nullopt, "hello", {}}};
    EXPECT_EQ(r.records, expected);
}

TEST(MessageSet, TestHelperBuildsTheGoldenMessages) {
    EXPECT_EQ(legacy_entry(5, 0, 0, -1, bv("k"), bv("v")), golden_v0);
    EXPECT_EQ(legacy_entry(7, 1, 0, 1'700'000'000'000, std::nullopt, bv("hello")), golden_v1);
}

TEST(MessageSet, UncompressedMessagesAreOneRecordBatchesEach) {
    bytes blob;
    test::append(blob, legacy_entry(10, 1, 0, 100, bv("a"), bv("1")));
    test::append(blob, legacy_entry(11, 1, 0, 101, std::nullopt, std::nullopt));
    test::append(blob, legacy_entry(12, 1, 0, 102, bv(""), bv("")));
    const auto r = test::read_all(blob);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(r.batches.size(), 3u);
    const std::vector<owned_record> expected = {
        {10, 100, "a", "1", {}},
        {11, 101, std::nullopt, std::nullopt, {}},
        {12, 102, "", "", {}},
    };
    EXPECT_EQ(r.records, expected);
}

/// A compressed wrapper around `inner` (already a message set) with the given offset.
bytes wrapper(std::int64_t offset, std::uint8_t magic, compression codec, std::int64_t timestamp, const bytes& inner,
              std::uint8_t extra_attributes = 0) {
    bytes packed;
    EXPECT_FALSE(compress(codec, inner, packed));
    return legacy_entry(offset, magic, static_cast<std::uint8_t>(static_cast<std::uint8_t>(codec) | extra_attributes),
                        timestamp, std::nullopt, bytes_view{packed});
}

TEST(MessageSet, GzipV1WrapperHasRelativeInnerOffsets) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    // Inner offsets 0, 1, 2 are relative; the wrapper carries the last absolute offset, 102.
    bytes inner;
    test::append(inner, legacy_entry(0, 1, 0, 1000, bv("k0"), bv("v0")));
    test::append(inner, legacy_entry(1, 1, 0, 1001, std::nullopt, bv("v1")));
    test::append(inner, legacy_entry(2, 1, 0, 1002, bv("k2"), std::nullopt));
    const bytes blob = wrapper(102, 1, compression::gzip, 1002, inner);

    const auto r = test::read_all(blob);
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.batches.size(), 1u);
    const batch_header& h = r.batches[0];
    EXPECT_EQ(h.magic, 1);
    EXPECT_EQ(h.codec(), compression::gzip);
    EXPECT_EQ(h.record_count, 3);
    EXPECT_EQ(h.base_offset, 100);
    EXPECT_EQ(h.last_offset(), 102);
    const std::vector<owned_record> expected = {
        {100, 1000, "k0", "v0", {}},
        {101, 1001, std::nullopt, "v1", {}},
        {102, 1002, "k2", std::nullopt, {}},
    };
    EXPECT_EQ(r.records, expected);
}

TEST(MessageSet, V1WrapperWithLogAppendTimeOverridesInnerTimestamps) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    bytes inner;
    test::append(inner, legacy_entry(0, 1, 0, 1, bv("a"), bv("x")));
    test::append(inner, legacy_entry(1, 1, 0, 2, bv("b"), bv("y")));
    const bytes blob = wrapper(41, 1, compression::gzip, 777, inner, 0x08);
    const auto r = test::read_all(blob);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.records.size(), 2u);
    EXPECT_EQ(r.records[0].timestamp, 777);
    EXPECT_EQ(r.records[1].timestamp, 777);
    EXPECT_EQ(r.records[0].offset, 40);
}

TEST(MessageSet, GzipV0WrapperHasAbsoluteInnerOffsets) {
    KWIRE_REQUIRE_CODEC(compression::gzip);
    bytes inner;
    test::append(inner, legacy_entry(50, 0, 0, -1, bv("a"), bv("x")));
    test::append(inner, legacy_entry(51, 0, 0, -1, bv("b"), bv("y")));
    const bytes blob = wrapper(51, 0, compression::gzip, -1, inner);
    const auto r = test::read_all(blob);
    ASSERT_FALSE(r.error) << r.error.message();
    const std::vector<owned_record> expected = {{50, -1, "a", "x", {}}, {51, -1, "b", "y", {}}};
    EXPECT_EQ(r.records, expected);
    EXPECT_EQ(r.batches[0].base_offset, 50);
    EXPECT_EQ(r.batches[0].last_offset(), 51);
}

class LegacyCodec : public testing::TestWithParam<compression> {
protected:
    void SetUp() override { KWIRE_REQUIRE_CODEC(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Codecs, LegacyCodec,
                         testing::Values(compression::gzip, compression::snappy, compression::lz4),
                         test::codec_param_name);

TEST_P(LegacyCodec, WrappersOfBothMagicsDecode) {
    for (std::uint8_t magic : {std::uint8_t{0}, std::uint8_t{1}}) {
        bytes inner;
        std::vector<owned_record> expected;
        for (int i = 0; i < 100; ++i) {
            const std::string value = "value-" + std::to_string(i) + std::string(static_cast<std::size_t>(i), 'z');
            const std::int64_t inner_offset = magic == 1 ? i : 1000 + i;
            const std::int64_t ts = magic == 1 ? 5000 + i : -1;
            test::append(inner, legacy_entry(inner_offset, magic, 0, ts, std::nullopt, bv(value)));
            expected.push_back({1000 + i, ts, std::nullopt, value, {}});
        }
        const auto r = test::read_all(wrapper(1099, magic, GetParam(), 0, inner));
        ASSERT_FALSE(r.error) << r.error.message() << " magic " << int(magic);
        EXPECT_EQ(r.records, expected) << "magic " << int(magic);
    }
}

// KAFKA-3160: Kafka 0.8/0.9 wrote the LZ4 frame header checksum over the wrong bytes. For
// magic 0 the reader must not trust that byte (it recomputes it); for magic 1 it must.
TEST(MessageSet, Lz4V0ToleratesTheBrokenHeaderChecksum) {
    KWIRE_REQUIRE_CODEC(compression::lz4);
    for (std::uint8_t magic : {std::uint8_t{0}, std::uint8_t{1}}) {
        const bytes inner = legacy_entry(magic == 0 ? 3 : 0, magic, 0, 9, bv("k"), bv("lz4 payload"));
        bytes packed;
        ASSERT_FALSE(compress(compression::lz4, inner, packed));
        ASSERT_EQ(packed[4] & 0x09, 0) << "no content size, no dictionary id: HC is byte 6";
        packed[6] ^= 0x5a;
        const auto r = test::read_all(legacy_entry(3, magic, 3, 9, std::nullopt, bytes_view{packed}));
        if (magic == 0) {
            ASSERT_FALSE(r.error) << r.error.message();
            ASSERT_EQ(r.records.size(), 1u);
            EXPECT_EQ(r.records[0].value, "lz4 payload");
            EXPECT_EQ(r.records[0].offset, 3);
        } else {
            EXPECT_EQ(r.error, errc::decompression_failed);
        }
    }
}

TEST(MessageSet, BlobsMayMixMagics) {
    bytes blob;
    test::append(blob, legacy_entry(0, 0, 0, -1, bv("a"), bv("v0")));
    test::append(blob, legacy_entry(1, 1, 0, 11, bv("b"), bv("v1")));
    batch_builder b;
    const std::size_t v2_at = blob.size();
    b.begin(blob);
    ASSERT_FALSE(b.append(22, bv("c"), bv("v2")));
    ASSERT_FALSE(b.finish());
    protocol::store_be<std::int64_t>(blob.data() + v2_at, 2);  // baseOffset
    const auto r = test::read_all(blob);
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.batches.size(), 3u);
    EXPECT_EQ(r.batches[0].magic, 0);
    EXPECT_EQ(r.batches[1].magic, 1);
    EXPECT_EQ(r.batches[2].magic, 2);
    const std::vector<owned_record> expected = {
        {0, -1, "a", "v0", {}},
        {1, 11, "b", "v1", {}},
        {2, 22, "c", "v2", {}},
    };
    EXPECT_EQ(r.records, expected);
}

TEST(MessageSet, PartialTrailingMessageIsIncomplete) {
    bytes blob = golden_v1;
    test::append(blob, golden_v0);
    blob.resize(blob.size() - 3);
    const auto r = test::read_all(blob);
    EXPECT_FALSE(r.error);
    EXPECT_TRUE(r.incomplete);
    EXPECT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.consumed, golden_v1.size());
}

}  // namespace
}  // namespace kwire::codec

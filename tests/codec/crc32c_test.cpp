// CRC32C (both implementations) against published vectors, against each other, and CRC32.
#include <gtest/gtest.h>

#include <array>
#include <numeric>

#include "kwire/codec/crc.hpp"
#include "test_util.hpp"

namespace kwire::codec {
namespace {

using test::bytes;

struct vector_case {
    const char* name;
    bytes data;
    std::uint32_t crc;
};

std::vector<vector_case> known_vectors() {
    bytes ascending(32), descending(32);
    std::iota(ascending.begin(), ascending.end(), std::uint8_t{0});
    for (std::size_t i = 0; i < 32; ++i) descending[i] = static_cast<std::uint8_t>(31 - i);
    return {
        {"check string", test::to_bytes("123456789"), 0xE3069283u},
        // RFC 3720 (iSCSI), appendix B.4.
        {"32 zeros", bytes(32, 0x00), 0x8A9136AAu},
        {"32 0xFF", bytes(32, 0xFF), 0x62A8AB43u},
        {"ascending 0..31", ascending, 0x46DD794Eu},
        {"descending 31..0", descending, 0x113FDB5Cu},
        {"empty", bytes{}, 0x00000000u},
    };
}

using crc_fn = std::uint32_t (*)(std::uint32_t, const std::uint8_t*, std::size_t) noexcept;

void expect_known_vectors(crc_fn fn) {
    for (const auto& v : known_vectors()) EXPECT_EQ(fn(0, v.data.data(), v.data.size()), v.crc) << v.name;
}

TEST(Crc32c, DispatchedMatchesKnownVectors) { expect_known_vectors(&crc32c); }

TEST(Crc32c, PortableMatchesKnownVectors) { expect_known_vectors(&crc32c_portable); }

TEST(Crc32c, HardwareMatchesKnownVectors) {
    if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
    expect_known_vectors(&crc32c_hardware);
}

// Lengths around every boundary of the hardware path: alignment prologue, 8-byte words, the
// 3 x 256 short blocks and the 3 x 8192 long blocks, at every alignment.
TEST(Crc32c, HardwareEqualsPortableForManyLengthsAndAlignments) {
    if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2 on this CPU";
    const bytes data = test::random_bytes(3 * 3 * 8192 + 64, 42);
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 1100; ++n) lengths.push_back(n);
    for (std::size_t base : {std::size_t{3 * 8192}, std::size_t{2 * 3 * 8192}, std::size_t{3 * 3 * 8192}})
        for (std::size_t d = 0; d < 24; ++d) lengths.push_back(base - 12 + d);
    for (std::size_t n = 1200; n < 3 * 3 * 8192; n += 997) lengths.push_back(n);
    for (std::size_t align = 0; align < 8; ++align) {
        for (std::size_t n : lengths) {
            if (align + n > data.size()) continue;
            const std::uint8_t* p = data.data() + align;
            ASSERT_EQ(crc32c_hardware(0, p, n), crc32c_portable(0, p, n)) << "n=" << n << " align=" << align;
            // A non-zero seed exercises the pre/post inversion of a continued checksum.
            ASSERT_EQ(crc32c_hardware(0xDEADBEEFu, p, n), crc32c_portable(0xDEADBEEFu, p, n))
                << "n=" << n << " align=" << align;
        }
    }
}

TEST(Crc32c, ContinuingEqualsOneShot) {
    const bytes data = test::random_bytes(100000, 7);
    const std::uint32_t whole = crc32c(0, data.data(), data.size());
    for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{777}, std::size_t{30000}, data.size()}) {
        const std::uint32_t first = crc32c(0, data.data(), split);
        EXPECT_EQ(crc32c(first, data.data() + split, data.size() - split), whole) << split;
        EXPECT_EQ(crc32c_portable(crc32c_portable(0, data.data(), split), data.data() + split, data.size() - split),
                  whole)
            << split;
    }
}

TEST(Crc32c, DetectsASingleBitFlip) {
    bytes data = test::random_bytes(5000, 9);
    const std::uint32_t before = crc32c(0, data.data(), data.size());
    data[4321] ^= 0x10;
    EXPECT_NE(crc32c(0, data.data(), data.size()), before);
}

TEST(Crc32, MatchesIeeeVectors) {
    const bytes check = test::to_bytes("123456789");
    EXPECT_EQ(crc32(0, check.data(), check.size()), 0xCBF43926u);
    const bytes zeros(32, 0);
    EXPECT_EQ(crc32(0, zeros.data(), zeros.size()), 0x190A55ADu);
    EXPECT_EQ(crc32(crc32(0, check.data(), 4), check.data() + 4, 5), 0xCBF43926u);
}

}  // namespace
}  // namespace kwire::codec

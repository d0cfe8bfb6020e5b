// Wire primitives of the Kafka protocol, checked against literal encodings taken from the
// protocol guide (https://kafka.apache.org/protocol#protocol_types) and worked out by hand; the
// varint/zigzag tables were cross-checked with an independent script, never with kwire itself.
//
// Every decodable value is read three ways:
//   * whole: the value comes back and nothing is left over;
//   * every strict prefix (fed one byte at a time): the read fails, and never reads past the end
//     (each prefix sits in an exact-size heap buffer, so ASan catches an over-read);
//   * with garbage appended: the read succeeds and leaves exactly the garbage unread.
//
// A note on prefixes: the reader works on complete frames, so a cut that falls inside a fixed
// field or a varint is `truncated`, while a cut inside the payload of a length-prefixed value
// (string, bytes, array) leaves a declared length larger than what remains, which the reader
// reports as `length_too_large` before anything is allocated. The tables below say exactly which
// of the two each cut must produce.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/protocol/error.hpp"
#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages/api_versions.hpp"
#include "kwire/protocol/messages/describe_groups.hpp"
#include "kwire/protocol/messages/metadata.hpp"
#include "kwire/protocol/tagged.hpp"
#include "kwire/protocol/types.hpp"
#include "kwire/protocol/wire.hpp"

namespace {

namespace kp = kwire::protocol;
using kwire::errc;
using byte_vec = std::vector<std::uint8_t>;

std::error_code E(errc e) { return kwire::make_error_code(e); }

/// An exact-size heap copy of (a prefix of) some bytes: reading one byte past its end is a heap
/// overflow that ASan reports.
class exact_buffer {
public:
    // Not inlined: GCC 12 otherwise "proves" impossible sizes for the copy (-Wstringop-overflow).
    [[gnu::noinline]] exact_buffer(const std::uint8_t* p, std::size_t n) : size_(n) {
        if (n) {
            data_ = std::make_unique<std::uint8_t[]>(n);
            std::copy_n(p, n, data_.get());
        }
    }
    explicit exact_buffer(const byte_vec& v) : exact_buffer(v.data(), v.size()) {}
    const std::uint8_t* data() const noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }
    kp::reader reader() const noexcept { return kp::reader(data(), size()); }

private:
    std::unique_ptr<std::uint8_t[]> data_;
    std::size_t size_;
};

template <class Encode> byte_vec encode_with(Encode&& encode) {
    byte_vec out;
    kp::writer w(out);
    encode(w);
    return out;
}

using prefix_error = std::function<errc(std::size_t prefix_len)>;

prefix_error always(errc e) {
    return [e](std::size_t) { return e; };
}
/// Length-prefixed values: a cut inside the length is `truncated`, a cut inside the payload
/// leaves a length larger than what remains.
prefix_error length_prefixed(std::size_t length_bytes) {
    return [length_bytes](std::size_t n) {
        return n < length_bytes ? errc::truncated : errc::length_too_large;
    };
}

const byte_vec garbage = {0xde, 0xad, 0xbe, 0xef, 0x00};

/// Decodes `wire` whole, as every strict prefix, and with garbage appended.
template <class T, class Decode>
void check_decode(const byte_vec& wire, const T& expected, Decode&& decode, const prefix_error& prefix_err) {
    {
        SCOPED_TRACE("whole input");
        exact_buffer buf(wire);
        auto r = buf.reader();
        const T got = decode(r);
        ASSERT_TRUE(r.ok()) << r.error().message();
        EXPECT_EQ(got, expected);
        EXPECT_EQ(r.remaining(), 0u);
    }
    for (std::size_t n = 0; n < wire.size(); ++n) {
        SCOPED_TRACE("prefix of " + std::to_string(n) + " of " + std::to_string(wire.size()) + " bytes");
        exact_buffer buf(wire.data(), n);
        auto r = buf.reader();
        (void)decode(r);
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.error(), E(prefix_err(n)));
        EXPECT_EQ(r.remaining(), 0u);
    }
    {
        SCOPED_TRACE("garbage appended");
        byte_vec longer = wire;
        longer.insert(longer.end(), garbage.begin(), garbage.end());
        exact_buffer buf(longer);
        auto r = buf.reader();
        const T got = decode(r);
        ASSERT_TRUE(r.ok()) << r.error().message();
        EXPECT_EQ(got, expected);
        EXPECT_EQ(r.remaining(), garbage.size());
        EXPECT_EQ(r.position(), buf.data() + wire.size());
    }
}

template <class T> struct wire_case {
    T value;
    byte_vec wire;
};

// ---------------------------------------------------------------------------------------------
// Fixed-width integers, big-endian.

TEST(Primitives, Int8) {
    const std::vector<wire_case<std::int8_t>> cases = {
        {0, {0x00}}, {1, {0x01}}, {-1, {0xff}}, {63, {0x3f}}, {-64, {0xc0}},
        {std::numeric_limits<std::int8_t>::max(), {0x7f}},
        {std::numeric_limits<std::int8_t>::min(), {0x80}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(static_cast<int>(c.value));
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.i8(c.value); }), c.wire);
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.i8(); }, always(errc::truncated));
    }
}

TEST(Primitives, Int16) {
    const std::vector<wire_case<std::int16_t>> cases = {
        {0, {0x00, 0x00}}, {1, {0x00, 0x01}}, {-1, {0xff, 0xff}}, {0x0102, {0x01, 0x02}},
        {-2, {0xff, 0xfe}}, {256, {0x01, 0x00}},
        {std::numeric_limits<std::int16_t>::max(), {0x7f, 0xff}},
        {std::numeric_limits<std::int16_t>::min(), {0x80, 0x00}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.i16(c.value); }), c.wire);
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.i16(); }, always(errc::truncated));
    }
}

TEST(Primitives, Int32) {
    const std::vector<wire_case<std::int32_t>> cases = {
        {0, {0x00, 0x00, 0x00, 0x00}},
        {1, {0x00, 0x00, 0x00, 0x01}},
        {-1, {0xff, 0xff, 0xff, 0xff}},
        {0x01020304, {0x01, 0x02, 0x03, 0x04}},
        {9092, {0x00, 0x00, 0x23, 0x84}},
        {std::numeric_limits<std::int32_t>::max(), {0x7f, 0xff, 0xff, 0xff}},
        {std::numeric_limits<std::int32_t>::min(), {0x80, 0x00, 0x00, 0x00}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.i32(c.value); }), c.wire);
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.i32(); }, always(errc::truncated));
    }
}

TEST(Primitives, Int64) {
    const std::vector<wire_case<std::int64_t>> cases = {
        {0, {0, 0, 0, 0, 0, 0, 0, 0}},
        {1, {0, 0, 0, 0, 0, 0, 0, 1}},
        {-1, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {0x0102030405060708, {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}},
        {std::int64_t{1} << 35, {0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00}},
        {std::numeric_limits<std::int64_t>::max(), {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
        {std::numeric_limits<std::int64_t>::min(), {0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.i64(c.value); }), c.wire);
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.i64(); }, always(errc::truncated));
    }
}

TEST(Primitives, Uint16) {
    const std::vector<wire_case<std::uint16_t>> cases = {
        {0, {0x00, 0x00}}, {1, {0x00, 0x01}}, {0x1234, {0x12, 0x34}}, {0x8000, {0x80, 0x00}},
        {0xffff, {0xff, 0xff}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.u16(c.value); }), c.wire);
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.u16(); }, always(errc::truncated));
    }
}

TEST(Primitives, Uint32) {
    const std::vector<wire_case<std::uint32_t>> cases = {
        {0, {0x00, 0x00, 0x00, 0x00}},
        {1, {0x00, 0x00, 0x00, 0x01}},
        {0x12345678, {0x12, 0x34, 0x56, 0x78}},
        {0x80000000u, {0x80, 0x00, 0x00, 0x00}},
        {0xffffffffu, {0xff, 0xff, 0xff, 0xff}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.u32(c.value); }), c.wire);
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.u32(); }, always(errc::truncated));
    }
}

TEST(Primitives, Float64) {
    // Compared as bit patterns, so -0.0 and NaN are checked exactly too.
    const std::vector<wire_case<double>> cases = {
        {0.0, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {-0.0, {0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {1.0, {0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {-2.5, {0xc0, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {std::numeric_limits<double>::infinity(), {0x7f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
        {std::bit_cast<double>(std::uint64_t{0x7ff8000000000000}), {0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.f64(c.value); }), c.wire);
        check_decode(c.wire, std::bit_cast<std::uint64_t>(c.value),
                     [](kp::reader& r) { return std::bit_cast<std::uint64_t>(r.f64()); },
                     always(errc::truncated));
    }
}

TEST(Primitives, Boolean) {
    EXPECT_EQ(encode_with([](kp::writer& w) { w.boolean(true); }), (byte_vec{0x01}));
    EXPECT_EQ(encode_with([](kp::writer& w) { w.boolean(false); }), (byte_vec{0x00}));
    const auto read = [](kp::reader& r) { return r.boolean(); };
    check_decode(byte_vec{0x01}, true, read, always(errc::truncated));
    check_decode(byte_vec{0x00}, false, read, always(errc::truncated));
    // "When reading a boolean value, any non-zero value is considered true."
    check_decode(byte_vec{0x02}, true, read, always(errc::truncated));
    check_decode(byte_vec{0xff}, true, read, always(errc::truncated));
}

TEST(Primitives, Uuid) {
    kp::uuid u;
    for (std::uint8_t i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>(0xa0 + i);
    const byte_vec wire = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                           0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
    EXPECT_EQ(encode_with([&](kp::writer& w) { w.id(u); }), wire);
    check_decode(wire, u, [](kp::reader& r) { return r.id(); }, always(errc::truncated));

    const kp::uuid zero;
    EXPECT_TRUE(zero.is_zero());
    EXPECT_FALSE(u.is_zero());
    EXPECT_EQ(encode_with([&](kp::writer& w) { w.id(zero); }), byte_vec(16, 0x00));
}

// ---------------------------------------------------------------------------------------------
// Varints: unsigned LEB128, and zigzag for the signed forms.

TEST(Primitives, UnsignedVarint) {
    const std::vector<wire_case<std::uint32_t>> cases = {
        {0, {0x00}},
        {1, {0x01}},
        {63, {0x3f}},
        {64, {0x40}},
        {127, {0x7f}},
        {128, {0x80, 0x01}},
        {300, {0xac, 0x02}},
        {16383, {0xff, 0x7f}},
        {16384, {0x80, 0x80, 0x01}},
        {(1u << 28) - 1, {0xff, 0xff, 0xff, 0x7f}},
        {1u << 28, {0x80, 0x80, 0x80, 0x80, 0x01}},
        {0x7fffffffu, {0xff, 0xff, 0xff, 0xff, 0x07}},
        {0xffffffffu, {0xff, 0xff, 0xff, 0xff, 0x0f}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.uvarint(c.value); }), c.wire);
        EXPECT_EQ(kp::uvarint_size(c.value), c.wire.size());
        check_decode(c.wire, static_cast<std::uint64_t>(c.value), [](kp::reader& r) { return r.uvarint(); },
                     always(errc::truncated));
    }
}

TEST(Primitives, UnsignedVarint64) {
    // 64-bit unsigned varints (read with a 10-byte limit) as used by varlong.
    const std::vector<wire_case<std::uint64_t>> cases = {
        {0, {0x00}},
        {std::uint64_t{1} << 35, {0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
        {std::numeric_limits<std::uint64_t>::max(),
         {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.uvarint(c.value); }), c.wire);
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.uvarint(10); }, always(errc::truncated));
    }
}

TEST(Primitives, Varint) {
    const std::vector<wire_case<std::int32_t>> cases = {
        {0, {0x00}},
        {-1, {0x01}},
        {1, {0x02}},
        {-2, {0x03}},
        {63, {0x7e}},
        {-64, {0x7f}},
        {64, {0x80, 0x01}},
        {-65, {0x81, 0x01}},
        {150, {0xac, 0x02}},
        {(1 << 28) - 1, {0xfe, 0xff, 0xff, 0xff, 0x01}},
        {1 << 28, {0x80, 0x80, 0x80, 0x80, 0x02}},
        {std::numeric_limits<std::int32_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0x0f}},
        {std::numeric_limits<std::int32_t>::min(), {0xff, 0xff, 0xff, 0xff, 0x0f}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.varint(c.value); }), c.wire);
        EXPECT_EQ(kp::varint_size(c.value), c.wire.size());
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.varint(); }, always(errc::truncated));
    }
}

TEST(Primitives, Varlong) {
    const std::vector<wire_case<std::int64_t>> cases = {
        {0, {0x00}},
        {-1, {0x01}},
        {1, {0x02}},
        {63, {0x7e}},
        {-64, {0x7f}},
        {64, {0x80, 0x01}},
        {-65, {0x81, 0x01}},
        {(1 << 28) - 1, {0xfe, 0xff, 0xff, 0xff, 0x01}},
        {1 << 28, {0x80, 0x80, 0x80, 0x80, 0x02}},
        {std::int64_t{1} << 35, {0x80, 0x80, 0x80, 0x80, 0x80, 0x02}},
        {-(std::int64_t{1} << 35), {0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
        {std::numeric_limits<std::int32_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0x0f}},
        {std::numeric_limits<std::int32_t>::min(), {0xff, 0xff, 0xff, 0xff, 0x0f}},
        {std::numeric_limits<std::int64_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
        {std::numeric_limits<std::int64_t>::min(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.value);
        EXPECT_EQ(encode_with([&](kp::writer& w) { w.varlong(c.value); }), c.wire);
        EXPECT_EQ(kp::varlong_size(c.value), c.wire.size());
        check_decode(c.wire, c.value, [](kp::reader& r) { return r.varlong(); }, always(errc::truncated));
    }
}

TEST(Primitives, ZigzagHelpers) {
    EXPECT_EQ(kp::zigzag32(0), 0u);
    EXPECT_EQ(kp::zigzag32(-1), 1u);
    EXPECT_EQ(kp::zigzag32(1), 2u);
    EXPECT_EQ(kp::zigzag32(std::numeric_limits<std::int32_t>::min()), 0xffffffffu);
    EXPECT_EQ(kp::zigzag64(std::numeric_limits<std::int64_t>::min()), 0xffffffffffffffffu);
    EXPECT_EQ(kp::unzigzag32(0xfffffffeu), std::numeric_limits<std::int32_t>::max());
    EXPECT_EQ(kp::unzigzag64(3), -2);
}

TEST(PrimitivesBadInput, VarintTooLong) {
    struct bad {
        const char* what;
        byte_vec wire;
        std::function<void(kp::reader&)> read;
    };
    const auto uv32 = [](kp::reader& r) { (void)r.uvarint(); };
    const auto v32 = [](kp::reader& r) { (void)r.varint(); };
    const auto v64 = [](kp::reader& r) { (void)r.varlong(); };
    const std::vector<bad> cases = {
        {"6-byte unsigned varint", {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, uv32},
        {"6-byte varint", {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, v32},
        {"5th byte has the continuation bit", {0xff, 0xff, 0xff, 0xff, 0x80, 0x01}, uv32},
        {"5th byte carries more than 4 bits (0x10)", {0xff, 0xff, 0xff, 0xff, 0x10}, uv32},
        {"5th byte carries more than 4 bits (0x7f)", {0x80, 0x80, 0x80, 0x80, 0x7f}, uv32},
        {"varint 5th byte carries more than 4 bits", {0xfe, 0xff, 0xff, 0xff, 0x1f}, v32},
        {"11-byte varlong", {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, v64},
        {"11-byte varlong of 0xff", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, v64},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        exact_buffer buf(c.wire);
        auto r = buf.reader();
        c.read(r);
        EXPECT_EQ(r.error(), E(errc::varint_too_long));
    }
    // The largest legal values right next to them decode fine.
    {
        exact_buffer buf(byte_vec{0xff, 0xff, 0xff, 0xff, 0x0f});
        auto r = buf.reader();
        EXPECT_EQ(r.uvarint(), 0xffffffffu);
        EXPECT_TRUE(r.ok());
    }
    {
        exact_buffer buf(byte_vec{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
        auto r = buf.reader();
        // 10 bytes: unsigned 2^63, zigzag-decoded to 2^62.
        EXPECT_EQ(r.varlong(), std::int64_t{1} << 62);
        EXPECT_TRUE(r.ok());
    }
}

// ---------------------------------------------------------------------------------------------
// Strings: STRING / NULLABLE_STRING (INT16 length, -1 = null) and COMPACT_STRING /
// COMPACT_NULLABLE_STRING (UNSIGNED_VARINT length+1, 0 = null).

TEST(Primitives, String) {
    const auto read = [](kp::reader& r) { return r.string(false); };
    const byte_vec ab = {0x00, 0x02, 'a', 'b'};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.string("ab", false); }), ab);
    check_decode(ab, std::string("ab"), read, length_prefixed(2));

    const byte_vec empty = {0x00, 0x00};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.string("", false); }), empty);
    check_decode(empty, std::string(), read, always(errc::truncated));

    const std::string big(300, 'x');
    byte_vec big_wire = {0x01, 0x2c};  // 300
    big_wire.insert(big_wire.end(), big.begin(), big.end());
    EXPECT_EQ(encode_with([&](kp::writer& w) { w.string(big, false); }), big_wire);
    check_decode(big_wire, big, read, length_prefixed(2));
}

TEST(Primitives, NullableString) {
    const auto read = [](kp::reader& r) { return r.nullable_string(false); };
    const byte_vec null_wire = {0xff, 0xff};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.nullable_string(std::nullopt, false); }), null_wire);
    check_decode(null_wire, std::optional<std::string>(), read, always(errc::truncated));

    const byte_vec ab = {0x00, 0x02, 'a', 'b'};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.nullable_string(std::string("ab"), false); }), ab);
    check_decode(ab, std::optional<std::string>("ab"), read, length_prefixed(2));

    const byte_vec empty = {0x00, 0x00};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.nullable_string(std::string(), false); }), empty);
    check_decode(empty, std::optional<std::string>(""), read, always(errc::truncated));
}

TEST(Primitives, CompactString) {
    const auto read = [](kp::reader& r) { return r.string(true); };
    const byte_vec ab = {0x03, 'a', 'b'};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.string("ab", true); }), ab);
    check_decode(ab, std::string("ab"), read, length_prefixed(1));

    const byte_vec empty = {0x01};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.string("", true); }), empty);
    check_decode(empty, std::string(), read, always(errc::truncated));

    // 200 bytes: length+1 = 201 = 0xc9 0x01 as an unsigned varint.
    const std::string big(200, 'y');
    byte_vec big_wire = {0xc9, 0x01};
    big_wire.insert(big_wire.end(), big.begin(), big.end());
    EXPECT_EQ(encode_with([&](kp::writer& w) { w.string(big, true); }), big_wire);
    check_decode(big_wire, big, read, length_prefixed(2));
}

TEST(Primitives, CompactNullableString) {
    const auto read = [](kp::reader& r) { return r.nullable_string(true); };
    const byte_vec null_wire = {0x00};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.nullable_string(std::nullopt, true); }), null_wire);
    check_decode(null_wire, std::optional<std::string>(), read, always(errc::truncated));

    const byte_vec ab = {0x03, 'a', 'b'};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.nullable_string(std::string("ab"), true); }), ab);
    check_decode(ab, std::optional<std::string>("ab"), read, length_prefixed(1));

    const byte_vec empty = {0x01};
    check_decode(empty, std::optional<std::string>(""), read, always(errc::truncated));
}

TEST(Primitives, StringViewPointsIntoInput) {
    exact_buffer buf(byte_vec{0x03, 'h', 'i'});
    auto r = buf.reader();
    const auto sv = r.string_view(true);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(sv, "hi");
    EXPECT_EQ(reinterpret_cast<const std::uint8_t*>(sv.data()), buf.data() + 1);
}

// ---------------------------------------------------------------------------------------------
// Bytes: BYTES / NULLABLE_BYTES (INT32 length, -1 = null) and COMPACT_BYTES /
// COMPACT_NULLABLE_BYTES (UNSIGNED_VARINT length+1, 0 = null).

byte_vec to_vec(kp::bytes_view b) { return byte_vec(b.begin(), b.end()); }
std::optional<byte_vec> to_vec(const std::optional<kp::bytes_view>& b) {
    if (!b) return std::nullopt;
    return to_vec(*b);
}

TEST(Primitives, Bytes) {
    const auto read = [](kp::reader& r) { return to_vec(r.blob(false)); };
    const byte_vec payload = {0x01, 0x02, 0x03};
    const byte_vec wire = {0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03};
    EXPECT_EQ(encode_with([&](kp::writer& w) { w.bytes(kp::bytes_view(payload), false); }), wire);
    check_decode(wire, payload, read, length_prefixed(4));

    const byte_vec empty = {0x00, 0x00, 0x00, 0x00};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.bytes(kp::bytes_view(), false); }), empty);
    check_decode(empty, byte_vec(), read, always(errc::truncated));
}

TEST(Primitives, NullableBytes) {
    const auto read = [](kp::reader& r) { return to_vec(r.nullable_blob(false)); };
    const byte_vec null_wire = {0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.nullable_bytes(std::nullopt, false); }), null_wire);
    check_decode(null_wire, std::optional<byte_vec>(), read, always(errc::truncated));

    const byte_vec payload = {0xca, 0xfe};
    const byte_vec wire = {0x00, 0x00, 0x00, 0x02, 0xca, 0xfe};
    EXPECT_EQ(encode_with([&](kp::writer& w) { w.nullable_bytes(kp::bytes_view(payload), false); }), wire);
    check_decode(wire, std::optional<byte_vec>(payload), read, length_prefixed(4));
}

TEST(Primitives, CompactBytes) {
    const auto read = [](kp::reader& r) { return to_vec(r.blob(true)); };
    const byte_vec payload = {0x01, 0x02};
    const byte_vec wire = {0x03, 0x01, 0x02};
    EXPECT_EQ(encode_with([&](kp::writer& w) { w.bytes(kp::bytes_view(payload), true); }), wire);
    check_decode(wire, payload, read, length_prefixed(1));

    const byte_vec empty = {0x01};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.bytes(kp::bytes_view(), true); }), empty);
    check_decode(empty, byte_vec(), read, always(errc::truncated));
}

TEST(Primitives, CompactNullableBytes) {
    const auto read = [](kp::reader& r) { return to_vec(r.nullable_blob(true)); };
    const byte_vec null_wire = {0x00};
    EXPECT_EQ(encode_with([](kp::writer& w) { w.nullable_bytes(std::nullopt, true); }), null_wire);
    check_decode(null_wire, std::optional<byte_vec>(), read, always(errc::truncated));

    const byte_vec payload(130, 0x5a);  // 131 = 0x83 0x01
    byte_vec wire = {0x83, 0x01};
    wire.insert(wire.end(), payload.begin(), payload.end());
    EXPECT_EQ(encode_with([&](kp::writer& w) { w.nullable_bytes(kp::bytes_view(payload), true); }), wire);
    check_decode(wire, std::optional<byte_vec>(payload), read, length_prefixed(2));
}

// ---------------------------------------------------------------------------------------------
// Arrays: ARRAY (INT32 count, -1 = null) and COMPACT_ARRAY (UNSIGNED_VARINT count+1, 0 = null),
// checked through generated messages, since the element loop lives in the generated code.

/// Decodes a message body three ways; strict prefixes must fail with truncated or
/// length_too_large (which one depends on where the cut falls).
template <class M> void check_message_decode(const byte_vec& wire, const M& expected, std::int16_t version) {
    const auto decode = [version](kp::reader& r) {
        M m;
        m.decode(r, version);
        return m;
    };
    {
        exact_buffer buf(wire);
        auto r = buf.reader();
        const M got = decode(r);
        ASSERT_TRUE(r.ok()) << r.error().message();
        EXPECT_TRUE(got == expected);
        EXPECT_EQ(r.remaining(), 0u);
    }
    for (std::size_t n = 0; n < wire.size(); ++n) {
        SCOPED_TRACE("prefix of " + std::to_string(n) + " bytes");
        exact_buffer buf(wire.data(), n);
        auto r = buf.reader();
        (void)decode(r);
        EXPECT_TRUE(r.error() == E(errc::truncated) || r.error() == E(errc::length_too_large))
            << r.error().message();
    }
    {
        byte_vec longer = wire;
        longer.insert(longer.end(), garbage.begin(), garbage.end());
        exact_buffer buf(longer);
        auto r = buf.reader();
        const M got = decode(r);
        ASSERT_TRUE(r.ok()) << r.error().message();
        EXPECT_TRUE(got == expected);
        EXPECT_EQ(r.remaining(), garbage.size());
    }
}

template <class M> byte_vec encode_body(const M& m, std::int16_t version) {
    return encode_with([&](kp::writer& w) { m.encode(w, version); });
}

TEST(Primitives, ArrayOfStrings) {
    kp::DescribeGroupsRequest req;
    req.groups = {"ab", "c"};
    const byte_vec v0 = {
        0x00, 0x00, 0x00, 0x02,  // ARRAY count = 2
        0x00, 0x02, 'a', 'b',    // STRING "ab"
        0x00, 0x01, 'c',         // STRING "c"
    };
    EXPECT_EQ(encode_body(req, 0), v0);
    check_message_decode(v0, req, 0);

    const byte_vec v5 = {
        0x03,             // COMPACT_ARRAY count+1 = 3
        0x03, 'a', 'b',   // COMPACT_STRING "ab"
        0x02, 'c',        // COMPACT_STRING "c"
        0x00,             // IncludeAuthorizedOperations BOOLEAN = false
        0x00,             // tagged fields: none
    };
    EXPECT_EQ(encode_body(req, 5), v5);
    check_message_decode(v5, req, 5);

    kp::DescribeGroupsRequest empty;
    EXPECT_EQ(encode_body(empty, 0), (byte_vec{0x00, 0x00, 0x00, 0x00}));
    EXPECT_EQ(encode_body(empty, 5), (byte_vec{0x01, 0x00, 0x00}));
    check_message_decode(byte_vec{0x00, 0x00, 0x00, 0x00}, empty, 0);
    check_message_decode(byte_vec{0x01, 0x00, 0x00}, empty, 5);
}

TEST(Primitives, NullableArray) {
    kp::MetadataRequest all;  // Topics null = all topics (v1+)
    all.topics.reset();
    const byte_vec v1 = {0xff, 0xff, 0xff, 0xff};  // ARRAY null
    EXPECT_EQ(encode_body(all, 1), v1);
    check_message_decode(v1, all, 1);

    const byte_vec v9 = {
        0x00,  // COMPACT_ARRAY null
        0x01,  // AllowAutoTopicCreation = true
        0x00,  // IncludeClusterAuthorizedOperations = false
        0x00,  // IncludeTopicAuthorizedOperations = false
        0x00,  // tagged fields
    };
    EXPECT_EQ(encode_body(all, 9), v9);
    check_message_decode(v9, all, 9);

    // Empty (not null) arrays are distinct from null.
    kp::MetadataRequest none;
    none.topics.emplace();
    EXPECT_EQ(encode_body(none, 1), (byte_vec{0x00, 0x00, 0x00, 0x00}));
    EXPECT_EQ(encode_body(none, 9), (byte_vec{0x01, 0x01, 0x00, 0x00, 0x00}));
    {
        exact_buffer buf(byte_vec{0x01, 0x01, 0x00, 0x00, 0x00});
        auto r = buf.reader();
        kp::MetadataRequest got;
        got.decode(r, 9);
        ASSERT_TRUE(r.ok());
        ASSERT_TRUE(got.topics.has_value());
        EXPECT_TRUE(got.topics->empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Bad lengths.

TEST(PrimitivesBadInput, NegativeLengths) {
    struct bad {
        const char* what;
        byte_vec wire;
        std::function<void(kp::reader&)> read;
    };
    const std::vector<bad> cases = {
        {"STRING length -2", {0xff, 0xfe, 'a', 'b'}, [](kp::reader& r) { (void)r.string(false); }},
        {"NULLABLE_STRING length -2", {0xff, 0xfe, 'a', 'b'}, [](kp::reader& r) { (void)r.nullable_string(false); }},
        {"STRING length INT16_MIN", {0x80, 0x00}, [](kp::reader& r) { (void)r.string(false); }},
        {"BYTES length -2", {0xff, 0xff, 0xff, 0xfe, 0x00}, [](kp::reader& r) { (void)r.blob(false); }},
        {"NULLABLE_BYTES length -2", {0xff, 0xff, 0xff, 0xfe}, [](kp::reader& r) { (void)r.nullable_blob(false); }},
        {"ARRAY count -2", {0xff, 0xff, 0xff, 0xfe}, [](kp::reader& r) { (void)r.array_length(false, 1); }},
        {"ARRAY count INT32_MIN", {0x80, 0x00, 0x00, 0x00}, [](kp::reader& r) { (void)r.array_length(false, 4); }},
        // Null where the type is not nullable.
        {"null STRING", {0xff, 0xff}, [](kp::reader& r) { (void)r.string(false); }},
        {"null STRING (view)", {0xff, 0xff}, [](kp::reader& r) { (void)r.string_view(false); }},
        {"null COMPACT_STRING", {0x00}, [](kp::reader& r) { (void)r.string(true); }},
        {"null BYTES", {0xff, 0xff, 0xff, 0xff}, [](kp::reader& r) { (void)r.blob(false); }},
        {"null COMPACT_BYTES", {0x00}, [](kp::reader& r) { (void)r.blob(true); }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        exact_buffer buf(c.wire);
        auto r = buf.reader();
        c.read(r);
        EXPECT_EQ(r.error(), E(errc::negative_length));
    }
}

TEST(PrimitivesBadInput, NullWhereNotNullableInMessage) {
    // Metadata v0: Topics is not nullable (null only means "all topics" from v1 on).
    {
        exact_buffer buf(byte_vec{0xff, 0xff, 0xff, 0xff});
        auto r = buf.reader();
        kp::MetadataRequest m;
        m.decode(r, 0);
        EXPECT_EQ(r.error(), E(errc::negative_length));
    }
    // DescribeGroups v5: a null COMPACT_ARRAY of groups.
    {
        exact_buffer buf(byte_vec{0x00, 0x00, 0x00});
        auto r = buf.reader();
        kp::DescribeGroupsRequest m;
        m.decode(r, 5);
        EXPECT_EQ(r.error(), E(errc::negative_length));
    }
    // A null group id inside the array.
    {
        exact_buffer buf(byte_vec{0x00, 0x00, 0x00, 0x01, 0xff, 0xff});
        auto r = buf.reader();
        kp::DescribeGroupsRequest m;
        m.decode(r, 0);
        EXPECT_EQ(r.error(), E(errc::negative_length));
    }
}

TEST(PrimitivesBadInput, LengthLargerThanRemaining) {
    struct bad {
        const char* what;
        byte_vec wire;
        std::function<void(kp::reader&)> read;
    };
    auto with_tail = [](byte_vec head, std::size_t tail) {
        head.insert(head.end(), tail, 0x00);
        return head;
    };
    const std::vector<bad> cases = {
        {"ARRAY count 0x7fffffff, 10 bytes left", with_tail({0x7f, 0xff, 0xff, 0xff}, 10),
         [](kp::reader& r) { (void)r.array_length(false, 1); }},
        {"COMPACT_ARRAY count 0xfffffffe, 10 bytes left", with_tail({0xff, 0xff, 0xff, 0xff, 0x0f}, 10),
         [](kp::reader& r) { (void)r.array_length(true, 1); }},
        {"ARRAY of INT32 count 3, 10 bytes left", with_tail({0x00, 0x00, 0x00, 0x03}, 10),
         [](kp::reader& r) { (void)r.array_length(false, 4); }},
        {"STRING length 0x7fff, 10 bytes left", with_tail({0x7f, 0xff}, 10),
         [](kp::reader& r) { (void)r.string(false); }},
        {"NULLABLE_STRING length 11, 10 bytes left", with_tail({0x00, 0x0b}, 10),
         [](kp::reader& r) { (void)r.nullable_string(false); }},
        {"COMPACT_STRING length 11, 10 bytes left", with_tail({0x0c}, 10),
         [](kp::reader& r) { (void)r.string(true); }},
        {"BYTES length 0x7fffffff, 10 bytes left", with_tail({0x7f, 0xff, 0xff, 0xff}, 10),
         [](kp::reader& r) { (void)r.blob(false); }},
        {"COMPACT_NULLABLE_BYTES length 0xfffffffe", with_tail({0xff, 0xff, 0xff, 0xff, 0x0f}, 10),
         [](kp::reader& r) { (void)r.nullable_blob(true); }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        exact_buffer buf(c.wire);
        auto r = buf.reader();
        c.read(r);
        EXPECT_EQ(r.error(), E(errc::length_too_large));
    }

    // The bound is inclusive: exactly enough bytes is fine.
    {
        exact_buffer buf(with_tail({0x00, 0x00, 0x00, 0x02}, 8));
        auto r = buf.reader();
        EXPECT_EQ(r.array_length(false, 4), 2);
        EXPECT_TRUE(r.ok());
    }
    {
        exact_buffer buf(with_tail({0x00, 0x0a}, 10));
        auto r = buf.reader();
        EXPECT_EQ(r.string(false).size(), 10u);
        EXPECT_TRUE(r.ok());
    }
}

TEST(PrimitivesBadInput, HugeCountFailsBeforeAllocating) {
    // ApiVersions v0 response body: ErrorCode, then ApiKeys with a count of 0x7fffffff and only
    // 10 bytes after it. The decoder must refuse before reserving 2^31 elements.
    byte_vec body = {0x00, 0x00, 0x7f, 0xff, 0xff, 0xff};
    body.insert(body.end(), 10, 0x00);
    exact_buffer buf(body);
    auto r = buf.reader();
    kp::ApiVersionsResponse resp;
    resp.decode(r, 0);
    EXPECT_EQ(r.error(), E(errc::length_too_large));
    EXPECT_EQ(resp.api_keys.capacity(), 0u);

    // Same through the framed API and a compact count (flexible v3).
    byte_vec frame = {0x00, 0x00, 0x00, 0x01,         // correlation_id (response header v0)
                      0x00, 0x00,                     // ErrorCode
                      0xff, 0xff, 0xff, 0xff, 0x07};  // COMPACT_ARRAY count+1 = 0x7fffffff
    frame.insert(frame.end(), 10, 0x00);
    kp::ApiVersionsResponse resp3;
    EXPECT_EQ(kp::decode_response(kp::bytes_view(frame), 3, resp3), E(errc::length_too_large));
    EXPECT_EQ(resp3.api_keys.capacity(), 0u);

    // A string array: DescribeGroups v0 with 0x7fffffff group ids.
    byte_vec groups = {0x7f, 0xff, 0xff, 0xff};
    groups.insert(groups.end(), 10, 0x00);
    exact_buffer gbuf(groups);
    auto gr = gbuf.reader();
    kp::DescribeGroupsRequest dg;
    dg.decode(gr, 0);
    EXPECT_EQ(gr.error(), E(errc::length_too_large));
    EXPECT_EQ(dg.groups.capacity(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Tagged-field sections.

TEST(TaggedFields, EncodesEmptyAndUnknownTags) {
    kp::tagged_fields none;
    EXPECT_EQ(encode_with([&](kp::writer& w) { kp::tagged_writer(w, none).finish(); }), (byte_vec{0x00}));

    kp::tagged_fields some;
    some.unknown = {{1, {0xaa}}, {200, {'x', 'y', 'z'}}};
    const byte_vec wire = {
        0x02,              // count
        0x01, 0x01, 0xaa,  // tag 1, size 1
        0xc8, 0x01,        // tag 200 (unsigned varint)
        0x03, 'x', 'y', 'z',
    };
    EXPECT_EQ(encode_with([&](kp::writer& w) { kp::tagged_writer(w, some).finish(); }), wire);

    const auto read = [](kp::reader& r) {
        kp::tagged_fields t;
        t.decode(r);
        return t;
    };
    check_decode(wire, some, read, [](std::size_t n) {
        // Cuts inside a tag's payload leave a size larger than what remains.
        return (n == 3 || n == 7 || n == 8 || n == 9) ? errc::length_too_large : errc::truncated;
    });
}

TEST(TaggedFields, KnownAndUnknownTagsMergeInOrder) {
    kp::tagged_fields unknown;
    unknown.unknown = {{0, {0x10}}, {3, {0x30}}};
    const auto out = encode_with([&](kp::writer& w) {
        kp::tagged_writer tw(w, unknown);
        tw.add(1, [](kp::writer& s) { s.i8(0x11); });
        tw.add(2, [](kp::writer& s) { s.i16(0x2222); });
        tw.finish();
    });
    const byte_vec wire = {
        0x04,                    // count
        0x00, 0x01, 0x10,        // tag 0 (unknown)
        0x01, 0x01, 0x11,        // tag 1 (known)
        0x02, 0x02, 0x22, 0x22,  // tag 2 (known)
        0x03, 0x01, 0x30,        // tag 3 (unknown)
    };
    EXPECT_EQ(out, wire);
}

TEST(TaggedFields, OutOfOrder) {
    for (const byte_vec& wire : {byte_vec{0x02, 0x01, 0x00, 0x00, 0x00},   // tag 1 then tag 0
                                 byte_vec{0x02, 0x05, 0x00, 0x05, 0x00}}) {  // tag 5 twice
        exact_buffer buf(wire);
        auto r = buf.reader();
        kp::tagged_fields t;
        t.decode(r);
        EXPECT_EQ(r.error(), E(errc::tagged_field_order));
    }
}

TEST(TaggedFields, TooMany) {
    // One above the cap fails straight away, before looking at any tag.
    {
        byte_vec wire;
        kp::writer w(wire);
        w.uvarint(kp::max_tagged_fields + 1);
        wire.insert(wire.end(), 64, 0x00);
        exact_buffer buf(wire);
        auto r = buf.reader();
        kp::tagged_fields t;
        t.decode(r);
        EXPECT_EQ(r.error(), E(errc::too_many_tagged_fields));
        EXPECT_TRUE(t.unknown.empty());
    }
    // A huge count too (count = 2^32 - 1).
    {
        exact_buffer buf(byte_vec{0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00});
        auto r = buf.reader();
        kp::tagged_fields t;
        t.decode(r);
        EXPECT_EQ(r.error(), E(errc::too_many_tagged_fields));
    }
    // Exactly the cap is accepted.
    {
        byte_vec wire;
        kp::writer w(wire);
        w.uvarint(kp::max_tagged_fields);
        for (std::uint64_t tag = 0; tag < kp::max_tagged_fields; ++tag) {
            w.uvarint(tag);
            w.uvarint(0);
        }
        exact_buffer buf(wire);
        auto r = buf.reader();
        kp::tagged_fields t;
        t.decode(r);
        EXPECT_TRUE(r.ok()) << r.error().message();
        EXPECT_EQ(t.unknown.size(), kp::max_tagged_fields);
        EXPECT_EQ(r.remaining(), 0u);
    }
}

TEST(TaggedFields, SizeLargerThanRemaining) {
    exact_buffer buf(byte_vec{0x01, 0x00, 0x05, 0x01, 0x02});
    auto r = buf.reader();
    kp::tagged_fields t;
    t.decode(r);
    EXPECT_EQ(r.error(), E(errc::length_too_large));
}

TEST(TaggedFields, ErrorsSurfaceThroughMessages) {
    // ApiVersions v3 response whose tags come as 1 then 0.
    const byte_vec frame = {
        0x00, 0x00, 0x00, 0x01,  // correlation_id
        0x00, 0x00,              // ErrorCode
        0x01,                    // ApiKeys: empty COMPACT_ARRAY
        0x00, 0x00, 0x00, 0x00,  // ThrottleTimeMs
        0x02,                    // tagged fields: 2
        0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x01,  // tag 1 FinalizedFeaturesEpoch = 1
        0x00, 0x01, 0x01,                       // tag 0 SupportedFeatures: empty
    };
    kp::ApiVersionsResponse resp;
    EXPECT_EQ(kp::decode_response(kp::bytes_view(frame), 3, resp), E(errc::tagged_field_order));
}

// ---------------------------------------------------------------------------------------------
// Frames.

TEST(Frames, TrailingBytesAfterResponse) {
    const byte_vec frame = {
        0x00, 0x00, 0x00, 0x07,  // correlation_id
        0x00, 0x00,              // ErrorCode
        0x00, 0x00, 0x00, 0x00,  // ApiKeys: empty ARRAY
    };
    kp::ApiVersionsResponse resp;
    EXPECT_EQ(kp::decode_response(kp::bytes_view(frame), 0, resp), std::error_code());

    byte_vec longer = frame;
    longer.push_back(0x00);
    EXPECT_EQ(kp::decode_response(kp::bytes_view(longer), 0, resp), E(errc::trailing_bytes));

    // v1 has ThrottleTimeMs: the same 10 bytes are now one field short.
    EXPECT_EQ(kp::decode_response(kp::bytes_view(frame), 1, resp), E(errc::truncated));
}

TEST(Frames, TrailingBytesAfterRequest) {
    const byte_vec frame = {
        0x00, 0x12,              // api_key 18
        0x00, 0x00,              // api_version 0
        0x00, 0x00, 0x00, 0x01,  // correlation_id
        0xff, 0xff,              // client_id null
    };
    kp::ApiVersionsRequest req;
    kp::request_header h;
    EXPECT_EQ(kp::decode_request(kp::bytes_view(frame), req, &h), std::error_code());
    EXPECT_EQ(h.correlation_id, 1);
    EXPECT_FALSE(h.client_id.has_value());

    byte_vec longer = frame;
    longer.push_back(0x2a);
    EXPECT_EQ(kp::decode_request(kp::bytes_view(longer), req), E(errc::trailing_bytes));
}

TEST(Frames, WrongApiAndVersion) {
    const byte_vec metadata_header = {0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
    kp::ApiVersionsRequest req;
    EXPECT_EQ(kp::decode_request(kp::bytes_view(metadata_header), req), E(errc::unknown_api));

    // v99 is past ApiVersions' first flexible version, so a (newer) client sends header v2.
    const byte_vec v99 = {0x00, 0x12, 0x00, 0x63, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00};
    EXPECT_EQ(kp::decode_request(kp::bytes_view(v99), req), E(errc::unsupported_version));

    byte_vec out;
    EXPECT_EQ(kp::encode_request(out, req, 99, 1, std::nullopt), E(errc::unsupported_version));
    EXPECT_TRUE(out.empty());
}

// ---------------------------------------------------------------------------------------------
// Reader behaviour after an error.

TEST(Reader, FirstErrorSticks) {
    exact_buffer buf(byte_vec{0x00, 0x01, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x05});
    auto r = buf.reader();
    EXPECT_EQ(r.i16(), 1);
    (void)r.string(false);  // length -2
    EXPECT_EQ(r.error(), E(errc::negative_length));
    EXPECT_EQ(r.i32(), 0);  // later reads return zero values ...
    EXPECT_EQ(r.error(), E(errc::negative_length));  // ... and keep the first error
    EXPECT_EQ(r.remaining(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Error codes and categories.

TEST(Errors, KafkaNamesAndRetriable) {
    EXPECT_EQ(kwire::kafka_error_name(6), "NOT_LEADER_OR_FOLLOWER");
    EXPECT_EQ(kwire::kafka_error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
    EXPECT_EQ(kwire::kafka_error_name(0), "NONE");
    EXPECT_EQ(kwire::kafka_error_name(-1), "UNKNOWN_SERVER_ERROR");
    EXPECT_EQ(kwire::kafka_error_name(10), "MESSAGE_TOO_LARGE");
    EXPECT_EQ(kwire::kafka_error_name(45), "OUT_OF_ORDER_SEQUENCE_NUMBER");
    EXPECT_EQ(kwire::kafka_error_name(32000), "UNKNOWN_ERROR_CODE");

    EXPECT_TRUE(kwire::is_retriable(std::int16_t{6}));
    EXPECT_TRUE(kwire::is_retriable(std::int16_t{3}));
    EXPECT_TRUE(kwire::is_retriable(std::int16_t{7}));   // REQUEST_TIMED_OUT
    EXPECT_FALSE(kwire::is_retriable(std::int16_t{10}));
    EXPECT_FALSE(kwire::is_retriable(std::int16_t{45}));
    EXPECT_FALSE(kwire::is_retriable(std::int16_t{0}));
    EXPECT_FALSE(kwire::is_retriable(std::int16_t{32000}));
    EXPECT_TRUE(kwire::is_retriable(kwire::kafka_errc::not_leader_or_follower));
    EXPECT_FALSE(kwire::is_retriable(kwire::kafka_errc::message_too_large));
}

TEST(Errors, KafkaErrorCodes) {
    EXPECT_FALSE(kwire::kafka_error(0));
    EXPECT_EQ(kwire::kafka_error(0), std::error_code());

    const auto ec = kwire::kafka_error(6);
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec.value(), 6);
    EXPECT_EQ(&ec.category(), &kwire::kafka_category());
    EXPECT_STREQ(ec.category().name(), "kafka");
    EXPECT_EQ(ec.message(), "NOT_LEADER_OR_FOLLOWER");
    EXPECT_EQ(ec, kwire::kafka_errc::not_leader_or_follower);
    EXPECT_NE(ec, kwire::kafka_errc::unknown_topic_or_partition);
    EXPECT_EQ(static_cast<int>(kwire::kafka_errc::out_of_order_sequence_number), 45);
}

TEST(Errors, KwireCategory) {
    EXPECT_STREQ(kwire::kwire_category().name(), "kwire");
    EXPECT_NE(&kwire::kwire_category(), &kwire::kafka_category());
    const std::error_code ec = errc::truncated;  // is_error_code_enum
    EXPECT_EQ(&ec.category(), &kwire::kwire_category());
    EXPECT_NE(ec, kwire::kafka_error(1));  // same value, other category

    const errc all[] = {
        errc::truncated, errc::negative_length, errc::length_too_large, errc::varint_too_long,
        errc::too_many_tagged_fields, errc::tagged_field_order, errc::trailing_bytes,
        errc::unsupported_version, errc::unknown_api, errc::correlation_mismatch, errc::crc_mismatch,
        errc::unsupported_magic, errc::unsupported_compression, errc::decompression_failed,
        errc::decompressed_too_large, errc::invalid_record, errc::frame_too_large, errc::invalid_argument,
    };
    std::vector<std::string> seen;
    for (const auto e : all) {
        const auto code = kwire::make_error_code(e);
        SCOPED_TRACE(static_cast<int>(e));
        EXPECT_TRUE(code);
        EXPECT_FALSE(code.message().empty());
        EXPECT_NE(code.message(), "unknown kwire error");
        for (const auto& s : seen) EXPECT_NE(s, code.message());
        seen.push_back(code.message());
    }
}

}  // namespace

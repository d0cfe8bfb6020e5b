// fuzz-decompress_<codec>: any bytes through decompress() under a small cap, then the same bytes
// as plain data through compress() and back. Built once per codec (KWIRE_FUZZ_CODEC).
//
// Checks: no crash or sanitizer report; only the documented errors; a failed call leaves the
// output untouched; success never exceeds the cap; every round trip is exact, including under a
// cap equal to the input size.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kwire/codec/compression.hpp"

namespace {

constexpr auto codec = kwire::codec::compression::KWIRE_FUZZ_CODEC;
constexpr std::size_t cap = 1 << 20;

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using kwire::errc;
    const kwire::protocol::bytes_view input{data, size};
    static std::vector<std::uint8_t> out, packed, back;

    out.assign(3, 0xAB);  // a prefix that must survive
    const std::error_code ec = kwire::codec::decompress(codec, input, out, cap);
    if (ec) {
        check(ec == errc::decompression_failed || ec == errc::decompressed_too_large);
        check(out.size() == 3);
    } else {
        check(out.size() - 3 <= cap);
    }
    check(out[0] == 0xAB && out[1] == 0xAB && out[2] == 0xAB);

    packed.clear();
    check(!kwire::codec::compress(codec, input, packed));
    back.clear();
    check(!kwire::codec::decompress(codec, packed, back, size));
    check(back.size() == size && (size == 0 || std::equal(back.begin(), back.end(), data)));
    if (size > 0) {
        back.clear();
        check(kwire::codec::decompress(codec, packed, back, size - 1) == errc::decompressed_too_large);
    }
    return 0;
}

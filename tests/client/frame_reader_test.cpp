#include "net/frame_reader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kwire/client/error.hpp"
#include "kwire/protocol/error.hpp"

using kwire::client::detail::frame_reader;

namespace {

std::vector<std::uint8_t> frame(const std::string& body) {
    std::vector<std::uint8_t> f(4 + body.size());
    const auto n = static_cast<std::uint32_t>(body.size());
    f[0] = static_cast<std::uint8_t>(n >> 24);
    f[1] = static_cast<std::uint8_t>(n >> 16);
    f[2] = static_cast<std::uint8_t>(n >> 8);
    f[3] = static_cast<std::uint8_t>(n);
    std::memcpy(f.data() + 4, body.data(), body.size());
    return f;
}

void feed(frame_reader& r, const std::vector<std::uint8_t>& bytes, std::size_t from, std::size_t n) {
    auto span = r.prepare(n);
    std::memcpy(span.data(), bytes.data() + from, n);
    r.commit(n);
}

}  // namespace

TEST(FrameReader, SplitsFramesFedOneByteAtATime) {
    auto bytes = frame("hello");
    const auto second = frame("");
    const auto third = frame(std::string(100000, 'x'));
    bytes.insert(bytes.end(), second.begin(), second.end());
    bytes.insert(bytes.end(), third.begin(), third.end());

    frame_reader r;
    std::vector<std::string> got;
    std::error_code ec;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        feed(r, bytes, i, 1);
        while (auto f = r.next(ec)) got.emplace_back(f->as_string());
        ASSERT_FALSE(ec);
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], "hello");
    EXPECT_EQ(got[1], "");
    EXPECT_EQ(got[2], std::string(100000, 'x'));
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, SeveralFramesInOneRead) {
    auto bytes = frame("a");
    for (const char* s : {"bb", "ccc"}) {
        const auto f = frame(s);
        bytes.insert(bytes.end(), f.begin(), f.end());
    }
    bytes.push_back(0);  // the first byte of a fourth frame's size
    frame_reader r;
    feed(r, bytes, 0, bytes.size());
    std::error_code ec;
    EXPECT_EQ(r.next(ec)->as_string(), "a");
    EXPECT_EQ(r.next(ec)->as_string(), "bb");
    EXPECT_EQ(r.next(ec)->as_string(), "ccc");
    EXPECT_FALSE(r.next(ec));
    EXPECT_FALSE(ec);
    EXPECT_EQ(r.buffered(), 1u);
}

TEST(FrameReader, RejectsOversizedAndNegativeSizesBeforeBuffering) {
    frame_reader r(1024);
    const std::vector<std::uint8_t> big = {0x00, 0x00, 0x04, 0x01};  // 1025
    feed(r, big, 0, big.size());
    std::error_code ec;
    EXPECT_FALSE(r.next(ec));
    EXPECT_EQ(ec, kwire::errc::frame_too_large);

    frame_reader r2;
    const std::vector<std::uint8_t> negative = {0xff, 0xff, 0xff, 0xfe};
    feed(r2, negative, 0, negative.size());
    EXPECT_FALSE(r2.next(ec));
    EXPECT_EQ(ec, kwire::errc::frame_too_large);
}

TEST(FrameReader, NamesATlsAlertInsteadOfReadingItAsAHugeLength) {
    // A TLS alert record: content type 21, version 3.3, length 2, fatal, handshake_failure.
    // Read as a Kafka size it would be 0x15030300 = 352,518,912 bytes (KAFKA-4090).
    const std::vector<std::uint8_t> alert = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    frame_reader r;
    feed(r, alert, 0, alert.size());
    std::error_code ec;
    EXPECT_FALSE(r.next(ec));
    EXPECT_EQ(ec, kwire::client::client_errc::tls_on_plaintext);
    EXPECT_NE(ec.message().find("TLS"), std::string::npos);
}

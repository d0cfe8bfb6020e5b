// Helpers shared by the codec tests: byte builders, legacy message construction, and a reader
// that copies every decoded record out so tests can compare values.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/crc.hpp"
#include "kwire/codec/records_reader.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::codec::test {

using bytes = std::vector<std::uint8_t>;

inline bytes_view bv(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline bytes to_bytes(std::string_view s) { return bytes(s.begin(), s.end()); }
inline std::string to_string(bytes_view b) { return std::string(b.as_string()); }

inline bytes random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

/// Compressible, record-like text (JSON-ish lines with varying numbers).
inline bytes text_like(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s;
    while (s.size() < n)
        s += R"({"user":")" + std::to_string(rng() % 1000) + R"(","event":"click","ts":)" +
             std::to_string(1700000000000ULL + rng() % 100000) + "}\n";
    s.resize(n);
    return to_bytes(s);
}

/// A record as plain values, for comparisons.
struct owned_record {
    std::int64_t offset = 0;
    std::int64_t timestamp = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    friend bool operator==(const owned_record&, const owned_record&) = default;
};

inline std::optional<std::string> own(const std::optional<bytes_view>& v) {
    if (!v) return std::nullopt;
    return to_string(*v);
}

struct read_result {
    std::vector<batch_header> batches;
    std::vector<owned_record> records;
    std::error_code error;
    bool incomplete = false;
    std::size_t consumed = 0;
};

inline read_result read_all(bytes_view blob, const decode_options& options = {}) {
    read_result out;
    std::vector<std::uint8_t> buffer;
    records_reader r(blob, buffer, options);
    record_view rec;
    while (r.next_batch()) {
        out.batches.push_back(r.batch());
        while (r.next_record(rec)) {
            owned_record o{rec.offset, rec.timestamp, own(rec.key), own(rec.value), {}};
            for (const auto& h : rec.headers) o.headers.emplace_back(std::string(h.key), own(h.value));
            out.records.push_back(std::move(o));
        }
    }
    out.error = r.error();
    out.incomplete = r.incomplete();
    out.consumed = r.bytes_consumed();
    return out;
}

/// Recomputes the CRC32C of the v2 batch starting at `at` (after a test tampered with it).
inline void fix_crc(bytes& blob, std::size_t at = 0) {
    const auto length = protocol::load_be<std::int32_t>(blob.data() + at + batch_v2::length_at);
    const std::size_t end = at + batch_v2::log_overhead + static_cast<std::size_t>(length);
    protocol::store_be(blob.data() + at + batch_v2::crc_at,
                       crc32c(0, blob.data() + at + batch_v2::attributes_at, end - at - batch_v2::attributes_at));
}

/// One legacy MessageSet entry (offset, size, message) with a correct CRC32.
inline bytes legacy_entry(std::int64_t offset, std::uint8_t magic, std::uint8_t attributes, std::int64_t timestamp,
                          std::optional<bytes_view> key, std::optional<bytes_view> value) {
    bytes msg;
    protocol::writer w(msg);
    w.u32(0);  // crc, patched below
    w.i8(static_cast<std::int8_t>(magic));
    w.i8(static_cast<std::int8_t>(attributes));
    if (magic == 1) w.i64(timestamp);
    w.nullable_bytes(key, false);
    w.nullable_bytes(value, false);
    protocol::store_be(msg.data(), crc32(0, msg.data() + 4, msg.size() - 4));
    bytes entry;
    protocol::writer e(entry);
    e.i64(offset);
    e.i32(static_cast<std::int32_t>(msg.size()));
    e.raw(msg.data(), msg.size());
    return entry;
}

/// Names parameterized tests after the codec ("gzip", ...).
inline std::string codec_param_name(const testing::TestParamInfo<compression>& info) {
    return std::string(compression_name(info.param));
}

inline void append(bytes& to, const bytes& from) { to.insert(to.end(), from.begin(), from.end()); }

}  // namespace kwire::codec::test

// fuzz-record_batch: any bytes as a RECORDS blob (v2 batches and legacy message sets), every
// record and header visited, with a small decompression cap; then, for every v2 batch that
// decoded cleanly, its records re-encoded and decoded again.
//
// Checks: no crash or sanitizer report (every view is read byte by byte, so a view reaching
// outside its buffer trips ASan); the reader's state is consistent; re-encoding reproduces
// keys, values, headers, offsets and timestamps.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/records_reader.hpp"

namespace {

using namespace kwire::codec;

constexpr std::size_t cap = 1 << 20;

void check(bool ok) {
    if (!ok) std::abort();
}

std::uint32_t touch(kwire::protocol::bytes_view v) {
    std::uint32_t sum = 0;
    for (std::uint8_t b : v) sum += b;
    return sum;
}

struct copied_record {
    std::int64_t offset_delta;
    std::int64_t timestamp;
    std::optional<std::string> key, value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    bool operator==(const copied_record&) const = default;
};

std::optional<std::string> copy(const std::optional<bytes_view>& v) {
    if (!v) return std::nullopt;
    return std::string(v->as_string());
}

std::optional<bytes_view> view(const std::optional<std::string>& s) {
    if (!s) return std::nullopt;
    return bytes_view{reinterpret_cast<const std::uint8_t*>(s->data()), s->size()};
}

/// Encodes `recs` as a fresh uncompressed batch and checks it decodes to the same records.
void check_reencoding(const std::vector<copied_record>& recs) {
    // The builder assigns offset deltas 0..n-1, so only batches numbered that way can match.
    for (std::size_t i = 0; i < recs.size(); ++i)
        if (recs[i].offset_delta != static_cast<std::int64_t>(i)) return;
    std::vector<std::uint8_t> out;
    batch_builder b;
    b.begin(out);
    std::vector<header_view> headers;
    for (const auto& r : recs) {
        headers.clear();
        for (const auto& [k, v] : r.headers) headers.push_back({k, view(v)});
        check(!b.append(r.timestamp, view(r.key), view(r.value), headers));
    }
    check(!b.finish());

    records_reader again(out);
    check(again.next_batch());
    record_view rec;
    std::size_t i = 0;
    while (again.next_record(rec)) {
        copied_record c{rec.offset, rec.timestamp, copy(rec.key), copy(rec.value), {}};
        for (const auto& h : rec.headers) c.headers.emplace_back(std::string(h.key), copy(h.value));
        check(i < recs.size() && c == recs[i]);
        ++i;
    }
    check(!again.error() && i == recs.size());
}

void decode(const std::uint8_t* data, std::size_t size, bool verify_crc, std::vector<std::uint8_t>& buffer) {
    records_reader r({data, size}, buffer, {.verify_crc = verify_crc, .max_decompressed_bytes = cap});
    record_view rec;
    std::uint32_t sink = 0;
    std::vector<copied_record> copies;
    std::size_t batches = 0;
    while (r.next_batch()) {
        ++batches;
        const batch_header& h = r.batch();
        check(h.size_bytes() <= size);
        check(buffer.size() <= cap);
        const bool v2_create_time = h.magic == 2 && h.ts_type() == timestamp_type::create_time;
        copies.clear();
        std::int32_t n = 0;
        while (r.next_record(rec)) {
            ++n;
            if (rec.key) sink += touch(*rec.key);
            if (rec.value) sink += touch(*rec.value);
            std::size_t headers = 0;
            for (const auto& hv : rec.headers) {
                sink += touch({reinterpret_cast<const std::uint8_t*>(hv.key.data()), hv.key.size()});
                if (hv.value) sink += touch(*hv.value);
                ++headers;
            }
            check(headers == rec.headers.size());
            if (v2_create_time) {
                copied_record c{static_cast<std::int64_t>(static_cast<std::uint64_t>(rec.offset) -
                                                          static_cast<std::uint64_t>(h.base_offset)),
                                rec.timestamp, copy(rec.key), copy(rec.value), {}};
                for (const auto& hv : rec.headers) c.headers.emplace_back(std::string(hv.key), copy(hv.value));
                copies.push_back(std::move(c));
            }
        }
        if (r.error()) break;
        if (h.magic == 2) check(n == h.record_count);
        if (v2_create_time && !copies.empty()) check_reencoding(copies);
    }
    check(!(r.error() && r.incomplete()));
    check(r.bytes_consumed() <= size);
    check(!r.next_batch());  // stays finished
    if (sink == 0xFFFFFFFFu) std::abort();  // keeps the reads alive
    (void)batches;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static std::vector<std::uint8_t> buffer;
    // Without CRC checks the fuzzer reaches the record parsers; with them, the CRC path.
    decode(data, size, false, buffer);
    decode(data, size, true, buffer);
    return 0;
}

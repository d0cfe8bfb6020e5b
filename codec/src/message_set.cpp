// Legacy MessageSet decoding (magic 0 and 1), for brokers and log segments older than 0.11.
//
// Entry: offset int64 | messageSize int32 | message, where message is
//   crc uint32 (CRC32 IEEE of magic .. end) | magic int8 | attributes int8
//   | timestamp int64 (v1 only) | key (int32 length, -1 null) | value (int32 length, -1 null)
// Attributes bits 0-2 are the codec; v1 bit 3 is the timestamp type. A compressed "wrapper"
// message holds a whole message set, compressed, as its value. Inner offsets are absolute in v0;
// in v1 they are relative (0, 1, ...) and the wrapper carries the absolute offset of the last
// inner message, so absolute = wrapper offset - last inner offset + inner offset.
#include <limits>

#include "codecs.hpp"
#include "kwire/codec/crc.hpp"
#include "kwire/codec/records_reader.hpp"
#include "varint.hpp"

namespace kwire::codec {
namespace {

using protocol::load_be;

constexpr std::size_t entry_header = batch_v2::log_overhead;  // offset + messageSize
constexpr std::size_t min_message_v0 = 14;                   // crc, magic, attributes, 2 lengths
constexpr std::size_t min_message_v1 = min_message_v0 + 8;    // + timestamp
constexpr std::uint8_t magic_v1 = 1;

struct legacy_message {
    std::uint32_t crc = 0;
    std::uint8_t magic = 0;
    std::uint8_t attributes = 0;
    std::int64_t timestamp = -1;
    std::optional<bytes_view> key;
    std::optional<bytes_view> value;
};

/// A nullable int32-length-prefixed field within [p, end).
errc read_bytes(const std::uint8_t*& p, const std::uint8_t* end, std::optional<bytes_view>& out) noexcept {
    if (end - p < 4) return errc::invalid_record;
    const auto n = load_be<std::int32_t>(p);
    p += 4;
    return detail::take_nullable(n, p, end, out);
}

/// Parses (and checks the CRC of) the message of `size` bytes at m.
errc parse_message(const std::uint8_t* m, std::size_t size, bool verify_crc, legacy_message& out) noexcept {
    if (size < min_message_v0) return errc::invalid_record;
    out.crc = load_be<std::uint32_t>(m);
    out.magic = m[4];
    out.attributes = m[5];
    if (out.magic > magic_v1) return errc::unsupported_magic;
    if (out.magic == magic_v1 && size < min_message_v1) return errc::invalid_record;
    if (verify_crc && crc32(0, m + 4, size - 4) != out.crc) return errc::crc_mismatch;
    const std::uint8_t* p = m + 6;
    const std::uint8_t* const end = m + size;
    out.timestamp = -1;
    if (out.magic == magic_v1) {
        out.timestamp = load_be<std::int64_t>(p);
        p += 8;
    }
    if (const errc e = read_bytes(p, end, out.key); e != errc::ok) return e;
    if (const errc e = read_bytes(p, end, out.value); e != errc::ok) return e;
    return p == end ? errc::ok : errc::invalid_record;
}

inline std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
inline std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

}  // namespace

bool records_reader::start_legacy(const std::uint8_t* e, std::size_t size) {
    const auto offset = load_be<std::int64_t>(e);
    legacy_message m;
    if (const errc err = parse_message(e + entry_header, size - entry_header, options_.verify_crc, m);
        err != errc::ok)
        return fail(err);

    header_ = batch_header{};
    header_.base_offset = offset;
    header_.batch_length = load_be<std::int32_t>(e + batch_v2::length_at);
    header_.magic = static_cast<std::int8_t>(m.magic);
    header_.crc = m.crc;
    header_.attributes = static_cast<std::int16_t>(m.attributes);
    header_.base_timestamp = header_.max_timestamp = m.timestamp;

    const auto codec_id = static_cast<unsigned>(m.attributes & batch_attributes::compression_mask);
    if (codec_id == 0) {
        legacy_single_.offset = offset;
        legacy_single_.timestamp = m.timestamp;
        legacy_single_.key = m.key;
        legacy_single_.value = m.value;
        legacy_single_.headers = {};
        legacy_single_.attributes = static_cast<std::int8_t>(m.attributes);
        header_.record_count = 1;
        records_left_ = 1;
        mode_ = mode::legacy_single;
        return true;
    }
    // zstd arrived with magic 2; Kafka never accepted it in a message set.
    const auto codec = static_cast<compression>(codec_id);
    if (!is_known_compression(codec_id) || codec == compression::zstd) return fail(errc::unsupported_compression);
    if (!m.value) return fail(errc::invalid_record);

    buffer_->clear();
    const std::error_code ec =
        codec == compression::lz4
            ? detail::lz4_decompress(*m.value, *buffer_, options_.max_decompressed_bytes, m.magic == 0)
            : decompress(codec, *m.value, *buffer_, options_.max_decompressed_bytes);
    if (ec) return fail(ec);

    // Walk the inner set's entry headers once: to validate its framing up front (a decompressed
    // set has no excuse for a partial tail), count it, and find the last inner offset that v1's
    // relative offsets are anchored to.
    const std::uint8_t* p = buffer_->data();
    const std::uint8_t* const end = p + buffer_->size();
    std::int64_t first_inner = 0, last_inner = 0;
    std::size_t count = 0;
    while (p != end) {
        if (static_cast<std::size_t>(end - p) < entry_header) return fail(errc::truncated);
        const auto inner_size = load_be<std::int32_t>(p + batch_v2::length_at);
        if (inner_size < 0) return fail(errc::negative_length);
        if (static_cast<std::size_t>(inner_size) < min_message_v0) return fail(errc::invalid_record);
        if (static_cast<std::size_t>(inner_size) > static_cast<std::size_t>(end - p) - entry_header)
            return fail(errc::truncated);
        // Inner messages must use the wrapper's format, as Kafka requires.
        if (p[batch_v2::magic_at] != m.magic) return fail(errc::invalid_record);
        last_inner = load_be<std::int64_t>(p);
        if (count == 0) first_inner = last_inner;
        ++count;
        p += entry_header + static_cast<std::size_t>(inner_size);
    }
    if (count == 0) return fail(errc::invalid_record);

    legacy_offset_adjust_ = m.magic == magic_v1 ? wrapping_sub(offset, last_inner) : 0;
    legacy_wrapper_time_ = m.magic == magic_v1 && (m.attributes & batch_attributes::log_append_time);
    legacy_wrapper_timestamp_ = m.timestamp;
    header_.base_offset = wrapping_add(first_inner, legacy_offset_adjust_);
    header_.last_offset_delta =
        static_cast<std::int32_t>(wrapping_sub(wrapping_add(last_inner, legacy_offset_adjust_), header_.base_offset));
    if (count > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        return fail(errc::invalid_record);
    header_.record_count = static_cast<std::int32_t>(count);
    rec_ = buffer_->data();
    rec_end_ = end;
    records_left_ = header_.record_count;
    mode_ = mode::legacy_inner;
    return true;
}

bool records_reader::next_legacy_record(record_view& out) {
    if (records_left_ == 0) {
        mode_ = mode::none;
        return false;
    }
    if (mode_ == mode::legacy_single) {
        out = legacy_single_;
        records_left_ = 0;
        return true;
    }
    // start_legacy validated the framing of every inner entry.
    const auto inner_offset = load_be<std::int64_t>(rec_);
    const auto size = static_cast<std::size_t>(load_be<std::int32_t>(rec_ + batch_v2::length_at));
    legacy_message m;
    if (const errc err = parse_message(rec_ + entry_header, size, options_.verify_crc, m); err != errc::ok)
        return fail(err);
    if ((m.attributes & batch_attributes::compression_mask) != 0) return fail(errc::invalid_record);  // no nesting
    out.offset = wrapping_add(inner_offset, legacy_offset_adjust_);
    out.timestamp = legacy_wrapper_time_ ? legacy_wrapper_timestamp_ : m.timestamp;
    out.key = m.key;
    out.value = m.value;
    out.headers = {};
    out.attributes = static_cast<std::int8_t>(m.attributes);
    rec_ += entry_header + size;
    --records_left_;
    return true;
}

}  // namespace kwire::codec

// records_reader: walking a RECORDS blob, and RecordBatch v2 decoding (see record.hpp for the
// layout). Legacy MessageSet entries are handled in message_set.cpp.
//
// Error mapping inside a batch, whose length the CRC vouches for:
//  - a record running out of bytes before its fields end, bytes left over after its fields,
//    or fewer/more records than recordCount: invalid_record;
//  - a key/value/header length beyond the end of the record: length_too_large;
//  - a length below -1, a null header key, a negative header count: negative_length;
//  - an over-long varint: varint_too_long.
#include "kwire/codec/compression.hpp"
#include "kwire/codec/crc.hpp"
#include "kwire/codec/records_reader.hpp"
#include "varint.hpp"

namespace kwire::codec {
namespace {

using detail::varint_status;
using protocol::load_be;

// The smallest entry of any magic: a v0 message with null key and value
// (crc 4, magic 1, attributes 1, key length 4, value length 4).
constexpr std::size_t min_entry_length = 14;
constexpr std::size_t min_v2_length = batch_v2::header_size - batch_v2::log_overhead;

inline errc varint_error(varint_status s) noexcept {
    return s == varint_status::too_long ? errc::varint_too_long : errc::invalid_record;
}

/// A nullable key/value: varint length (-1 = null) and bytes, within [p, end).
inline errc read_nullable(const std::uint8_t*& p, const std::uint8_t* end,
                          std::optional<bytes_view>& out) noexcept {
    std::int32_t n;
    if (const auto s = detail::read_varint(p, end, n); s != varint_status::ok) return varint_error(s);
    return detail::take_nullable(n, p, end, out);
}

}  // namespace

records_reader::records_reader(bytes_view records, std::vector<std::uint8_t>& decompress_buffer,
                               const decode_options& options) noexcept
    : begin_(records.data()), next_(records.data()), end_(records.data() + records.size()),
      buffer_(&decompress_buffer), options_(options) {}

records_reader::records_reader(bytes_view records, const decode_options& options) noexcept
    : begin_(records.data()), next_(records.data()), end_(records.data() + records.size()),
      buffer_(&own_buffer_), options_(options) {}

bool records_reader::fail(std::error_code ec) noexcept {
    if (!error_) error_ = ec;
    mode_ = mode::none;
    records_left_ = 0;
    return false;
}
bool records_reader::fail(errc e) noexcept { return fail(make_error_code(e)); }

bool records_reader::next_batch() {
    mode_ = mode::none;  // records of the previous batch left unread are simply skipped
    if (error_ || incomplete_ || next_ == end_) return false;
    const auto left = static_cast<std::size_t>(end_ - next_);
    // A Fetch response ends wherever the size limit fell, so a short tail is expected, not an
    // error. But a length that no entry can have is corruption even in a partial tail.
    if (left < batch_v2::log_overhead) {
        incomplete_ = true;
        return false;
    }
    const auto length = load_be<std::int32_t>(next_ + batch_v2::length_at);
    if (length < 0) return fail(errc::negative_length);
    if (static_cast<std::size_t>(length) < min_entry_length) return fail(errc::invalid_record);
    const std::size_t size = batch_v2::log_overhead + static_cast<std::size_t>(length);
    if (size > left) {
        incomplete_ = true;
        return false;
    }
    const std::uint8_t* entry = next_;
    switch (entry[batch_v2::magic_at]) {
        case 2:
            if (!start_v2(entry, size)) return false;
            break;
        case 0:
        case 1:
            if (!start_legacy(entry, size)) return false;
            break;
        default: return fail(errc::unsupported_magic);
    }
    next_ = entry + size;
    return true;
}

bool records_reader::start_v2(const std::uint8_t* e, std::size_t size) {
    if (size - batch_v2::log_overhead < min_v2_length) return fail(errc::invalid_record);
    header_.base_offset = load_be<std::int64_t>(e + batch_v2::base_offset_at);
    header_.batch_length = load_be<std::int32_t>(e + batch_v2::length_at);
    header_.partition_leader_epoch = load_be<std::int32_t>(e + batch_v2::partition_leader_epoch_at);
    header_.magic = 2;
    header_.crc = load_be<std::uint32_t>(e + batch_v2::crc_at);
    header_.attributes = load_be<std::int16_t>(e + batch_v2::attributes_at);
    header_.last_offset_delta = load_be<std::int32_t>(e + batch_v2::last_offset_delta_at);
    header_.base_timestamp = load_be<std::int64_t>(e + batch_v2::base_timestamp_at);
    header_.max_timestamp = load_be<std::int64_t>(e + batch_v2::max_timestamp_at);
    header_.producer_id = load_be<std::int64_t>(e + batch_v2::producer_id_at);
    header_.producer_epoch = load_be<std::int16_t>(e + batch_v2::producer_epoch_at);
    header_.base_sequence = load_be<std::int32_t>(e + batch_v2::base_sequence_at);
    header_.record_count = load_be<std::int32_t>(e + batch_v2::record_count_at);

    if (options_.verify_crc &&
        crc32c(0, e + batch_v2::attributes_at, size - batch_v2::attributes_at) != header_.crc)
        return fail(errc::crc_mismatch);
    const auto codec_id = static_cast<unsigned>(header_.attributes & batch_attributes::compression_mask);
    if (!is_known_compression(codec_id)) return fail(errc::unsupported_compression);
    if (header_.record_count < 0) return fail(errc::invalid_record);

    rec_ = e + batch_v2::header_size;
    rec_end_ = e + size;
    // An empty batch (what compaction leaves of a producer's batch) may carry a codec but has
    // no payload to decompress.
    if (header_.codec() != compression::none && !(header_.record_count == 0 && rec_ == rec_end_)) {
        buffer_->clear();
        if (auto ec = decompress(header_.codec(), bytes_view{rec_, static_cast<std::size_t>(rec_end_ - rec_)},
                                 *buffer_, options_.max_decompressed_bytes))
            return fail(ec);
        rec_ = buffer_->data();
        rec_end_ = rec_ + buffer_->size();
    }
    records_left_ = header_.record_count;
    mode_ = mode::v2;
    return true;
}

bool records_reader::next_record(record_view& out) {
    switch (mode_) {
        case mode::v2: return next_v2_record(out);
        case mode::legacy_single:
        case mode::legacy_inner: return next_legacy_record(out);
        case mode::none: break;
    }
    return false;
}

bool records_reader::next_v2_record(record_view& out) {
    const std::uint8_t* p = rec_;
    if (records_left_ == 0) {
        mode_ = mode::none;
        return p == rec_end_ ? false : fail(errc::invalid_record);  // more records than counted
    }
    if (p == rec_end_) return fail(errc::invalid_record);  // fewer records than counted

    std::int32_t length;
    if (const auto s = detail::read_varint(p, rec_end_, length); s != varint_status::ok)
        return fail(varint_error(s));
    if (length < 0) return fail(errc::negative_length);
    if (static_cast<std::size_t>(length) > static_cast<std::size_t>(rec_end_ - p))
        return fail(errc::length_too_large);
    const std::uint8_t* const end = p + length;  // every field below must fit in the record

    if (p == end) return fail(errc::invalid_record);
    out.attributes = static_cast<std::int8_t>(*p++);
    std::int64_t timestamp_delta;
    std::int32_t offset_delta;
    if (const auto s = detail::read_varlong(p, end, timestamp_delta); s != varint_status::ok)
        return fail(varint_error(s));
    if (const auto s = detail::read_varint(p, end, offset_delta); s != varint_status::ok)
        return fail(varint_error(s));
    if (const errc e = read_nullable(p, end, out.key); e != errc::ok) return fail(e);
    if (const errc e = read_nullable(p, end, out.value); e != errc::ok) return fail(e);

    std::int32_t header_count;
    if (const auto s = detail::read_varint(p, end, header_count); s != varint_status::ok)
        return fail(varint_error(s));
    if (header_count < 0) return fail(errc::negative_length);
    // Each header takes at least two bytes (two one-byte lengths).
    if (static_cast<std::size_t>(header_count) > static_cast<std::size_t>(end - p) / 2)
        return fail(errc::length_too_large);
    const std::uint8_t* const headers_start = p;
    for (std::int32_t i = 0; i < header_count; ++i) {
        std::int32_t key_length;
        if (const auto s = detail::read_varint(p, end, key_length); s != varint_status::ok)
            return fail(varint_error(s));
        if (key_length < 0) return fail(errc::negative_length);  // header keys are never null
        if (static_cast<std::size_t>(key_length) > static_cast<std::size_t>(end - p))
            return fail(errc::length_too_large);
        p += key_length;
        std::optional<bytes_view> value;
        if (const errc e = read_nullable(p, end, value); e != errc::ok) return fail(e);
    }
    if (p != end) return fail(errc::invalid_record);  // length says more than the fields hold

    // Wrapping arithmetic: hostile bases and deltas must not overflow (UB) on the way.
    out.offset = static_cast<std::int64_t>(static_cast<std::uint64_t>(header_.base_offset) +
                                           static_cast<std::uint64_t>(static_cast<std::int64_t>(offset_delta)));
    out.timestamp = header_.ts_type() == timestamp_type::log_append_time
                        ? header_.max_timestamp
                        : static_cast<std::int64_t>(static_cast<std::uint64_t>(header_.base_timestamp) +
                                                    static_cast<std::uint64_t>(timestamp_delta));
    out.headers = headers_view{headers_start, static_cast<std::size_t>(header_count)};
    rec_ = end;
    --records_left_;
    return true;
}

}  // namespace kwire::codec

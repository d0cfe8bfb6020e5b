// batch_builder: RecordBatch v2 encoding (see record.hpp for the layout).
#include <cstring>
#include <limits>

#include "codecs.hpp"
#include "kwire/codec/batch_builder.hpp"
#include "kwire/codec/crc.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::codec {
namespace {

using protocol::put_uvarint;
using protocol::store_be;
using protocol::varint_size;
using protocol::varlong_size;
using protocol::zigzag32;
using protocol::zigzag64;

constexpr std::size_t int32_max = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
constexpr std::int8_t magic_v2 = 2;

/// Bytes of a nullable length-prefixed field: varint length (-1 for null) and the bytes.
inline std::size_t field_size(const std::optional<bytes_view>& f) noexcept {
    return f ? varint_size(static_cast<std::int32_t>(f->size())) + f->size() : 1;
}

inline std::uint8_t* put_field(std::uint8_t* p, const std::optional<bytes_view>& f) noexcept {
    if (!f) return put_uvarint(p, zigzag32(-1));
    p = put_uvarint(p, zigzag32(static_cast<std::int32_t>(f->size())));
    if (!f->empty()) std::memcpy(p, f->data(), f->size());
    return p + f->size();
}

inline bool fits_int32(const std::optional<bytes_view>& f) noexcept { return !f || f->size() <= int32_max; }

}  // namespace

void batch_builder::begin(std::vector<std::uint8_t>& out, const batch_options& options) {
    if (active()) abort();
    out_ = &out;
    options_ = options;
    count_ = 0;
    base_timestamp_ = max_timestamp_ = 0;
    last_at_ = static_cast<std::size_t>(-1);
    batch_start_ = out.size();
    out.resize(batch_start_ + batch_v2::header_size);
    // Fields known now; the rest are patched by finish(). The header is zero-filled by resize.
    std::uint8_t* h = out.data() + batch_start_;
    store_be<std::int64_t>(h + batch_v2::base_offset_at, 0);  // producers always send 0
    store_be<std::int32_t>(h + batch_v2::partition_leader_epoch_at, -1);
    h[batch_v2::magic_at] = static_cast<std::uint8_t>(magic_v2);
    flushed_ = 0;
    failed_ = {};
    const bool inline_codec = options.codec != compression::none && !options.defer_compression;
    lz4_blocks_ = inline_codec && options.codec == compression::lz4 && options.compression_level.value_or(0) < 3;
    if (!inline_codec) {
        records_ = out_;
    } else {
        scratch_.clear();
        records_ = &scratch_;
        if (lz4_blocks_) detail::lz4_frame_header(out);
    }
    records_start_ = records_->size();
}

std::error_code batch_builder::flush_lz4_blocks() {
    std::size_t at = records_start_;
    const std::size_t end = scratch_.size();
    while (end - at >= detail::lz4_block_size) {
        if (auto ec = detail::lz4_frame_block(bytes_view{scratch_.data() + at, detail::lz4_block_size}, *out_,
                                              options_.compression_level.value_or(0)))
            return ec;
        at += detail::lz4_block_size;
    }
    flushed_ += at - records_start_;
    // What is left is less than a block: move it to the front (a memmove of under 64 KiB, in
    // cache; shrinking never reallocates).
    std::memmove(scratch_.data() + records_start_, scratch_.data() + at, end - at);
    scratch_.resize(records_start_ + (end - at));
    return {};
}

std::size_t batch_builder::max_record_size(const std::optional<bytes_view>& key, const std::optional<bytes_view>& value,
                                           std::span<const header_view> headers) noexcept {
    std::size_t body = 1 + 10 + 5 + field_size(key) + field_size(value) +
                       varint_size(static_cast<std::int32_t>(headers.size()));
    for (const auto& h : headers)
        body += varint_size(static_cast<std::int32_t>(h.key.size())) + h.key.size() + field_size(h.value);
    return 5 + body;
}

std::error_code batch_builder::append(std::int64_t timestamp, const std::optional<bytes_view>& key,
                                      const std::optional<bytes_view>& value, std::span<const header_view> headers) {
    if (!active() || count_ == std::numeric_limits<std::int32_t>::max())
        return make_error_code(errc::invalid_argument);
    if (!fits_int32(key) || !fits_int32(value) || headers.size() > int32_max)
        return make_error_code(errc::invalid_argument);

    // Deltas against the first record. Wrapping arithmetic: the decoder adds them back the same
    // way, so even absurd timestamps round-trip instead of overflowing.
    const std::int64_t base = count_ == 0 ? timestamp : base_timestamp_;
    const auto timestamp_delta =
        static_cast<std::int64_t>(static_cast<std::uint64_t>(timestamp) - static_cast<std::uint64_t>(base));
    const std::int32_t offset_delta = count_;

    // Size the record first, so its length prefix can be written before the fields and the
    // whole record filled in place with one resize.
    std::size_t body = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta) + field_size(key) +
                       field_size(value) + varint_size(static_cast<std::int32_t>(headers.size()));
    for (const auto& h : headers) {
        if (h.key.size() > int32_max || !fits_int32(h.value)) return make_error_code(errc::invalid_argument);
        body += varint_size(static_cast<std::int32_t>(h.key.size())) + h.key.size() + field_size(h.value);
    }
    const std::size_t total = varint_size(static_cast<std::int32_t>(body > int32_max ? 0 : body)) + body;
    if (body > int32_max || size_bytes() + total - batch_v2::log_overhead > int32_max)
        return make_error_code(errc::invalid_argument);

    auto& buf = *records_;
    const std::size_t at = buf.size();
    buf.resize(at + total);
    std::uint8_t* p = buf.data() + at;
    p = put_uvarint(p, zigzag32(static_cast<std::int32_t>(body)));
    *p++ = 0;  // record attributes: unused
    p = put_uvarint(p, zigzag64(timestamp_delta));
    p = put_uvarint(p, zigzag32(offset_delta));
    p = put_field(p, key);
    p = put_field(p, value);
    p = put_uvarint(p, zigzag32(static_cast<std::int32_t>(headers.size())));
    for (const auto& h : headers) {
        p = put_uvarint(p, zigzag32(static_cast<std::int32_t>(h.key.size())));
        if (!h.key.empty()) std::memcpy(p, h.key.data(), h.key.size());
        p += h.key.size();
        p = put_field(p, h.value);
    }

    last_at_ = at;
    max_timestamp_before_last_ = max_timestamp_;
    if (count_ == 0) base_timestamp_ = max_timestamp_ = timestamp;
    else if (timestamp > max_timestamp_) max_timestamp_ = timestamp;
    ++count_;
    if (lz4_blocks_ && !failed_ && buf.size() - records_start_ >= detail::lz4_block_size) {
        failed_ = flush_lz4_blocks();
        last_at_ = static_cast<std::size_t>(-1);  // part of it may be compressed already
    }
    return {};
}

bool batch_builder::drop_last() noexcept {
    if (!active() || count_ == 0 || last_at_ == static_cast<std::size_t>(-1)) return false;
    records_->resize(last_at_);  // shrinking never allocates
    --count_;
    max_timestamp_ = max_timestamp_before_last_;
    last_at_ = static_cast<std::size_t>(-1);
    return true;
}

void batch_builder::set_producer_state(std::int64_t producer_id, std::int16_t producer_epoch,
                                       std::int32_t base_sequence, bool transactional) noexcept {
    options_.producer_id = producer_id;
    options_.producer_epoch = producer_epoch;
    options_.base_sequence = base_sequence;
    options_.transactional = transactional;
}

std::size_t batch_builder::size_bytes() const noexcept {
    if (!active()) return 0;
    return batch_v2::header_size + flushed_ + (records_->size() - records_start_);
}

void batch_builder::abort() noexcept {
    if (!active()) return;
    out_->resize(batch_start_);  // shrinking never allocates
    out_ = records_ = nullptr;
    count_ = 0;
}

std::error_code batch_builder::finish() {
    if (!active() || count_ == 0) {
        abort();
        return make_error_code(errc::invalid_argument);
    }
    auto& out = *out_;
    if (lz4_blocks_) {
        std::error_code ec = failed_;
        if (!ec) ec = flush_lz4_blocks();
        if (!ec && scratch_.size() > records_start_)
            ec = detail::lz4_frame_block(bytes_view{scratch_.data() + records_start_, scratch_.size() - records_start_},
                                         out, options_.compression_level.value_or(0));
        if (ec) {
            abort();
            return ec;
        }
        detail::lz4_frame_end(out);
    } else if (options_.codec != compression::none && !options_.defer_compression) {
        if (auto ec = compress(options_.codec, bytes_view{scratch_.data() + records_start_, scratch_.size() - records_start_},
                               out, options_.compression_level)) {
            abort();
            return ec;
        }
    }
    const std::size_t length = out.size() - batch_start_ - batch_v2::log_overhead;
    if (length > int32_max) {
        abort();
        return make_error_code(errc::invalid_argument);
    }

    auto attributes = static_cast<std::int16_t>(options_.codec);
    if (options_.transactional) attributes = static_cast<std::int16_t>(attributes | batch_attributes::transactional);

    std::uint8_t* h = out.data() + batch_start_;
    store_be(h + batch_v2::length_at, static_cast<std::int32_t>(length));
    store_be(h + batch_v2::attributes_at, attributes);
    store_be(h + batch_v2::last_offset_delta_at, count_ - 1);
    store_be(h + batch_v2::base_timestamp_at, base_timestamp_);
    store_be(h + batch_v2::max_timestamp_at, max_timestamp_);
    store_be(h + batch_v2::producer_id_at, options_.producer_id);
    store_be(h + batch_v2::producer_epoch_at, options_.producer_epoch);
    store_be(h + batch_v2::base_sequence_at, options_.base_sequence);
    store_be(h + batch_v2::record_count_at, count_);
    // A deferred batch gets its CRC once its records are compressed (set_batch_producer_state).
    const std::uint32_t crc = options_.defer_compression && options_.codec != compression::none
                                  ? 0
                                  : crc32c(0, h + batch_v2::attributes_at,
                                           batch_v2::log_overhead + length - batch_v2::attributes_at);
    store_be(h + batch_v2::crc_at, crc);

    out_ = records_ = nullptr;
    count_ = 0;
    return {};
}

std::error_code compress_deferred_batch(bytes_view batch, std::optional<int> level, std::vector<std::uint8_t>& out) {
    if (batch.size() < batch_v2::header_size) return make_error_code(errc::invalid_argument);
    const std::uint8_t* h = batch.data();
    const auto attributes = static_cast<std::uint16_t>((h[batch_v2::attributes_at] << 8) | h[batch_v2::attributes_at + 1]);
    const auto codec = static_cast<compression>(attributes & batch_attributes::compression_mask);
    const std::size_t start = out.size();
    out.insert(out.end(), h, h + batch_v2::header_size);
    if (auto ec = compress(codec, bytes_view{h + batch_v2::header_size, batch.size() - batch_v2::header_size}, out, level)) {
        out.resize(start);
        return ec;
    }
    const std::size_t length = out.size() - start - batch_v2::log_overhead;
    if (length > int32_max) {
        out.resize(start);
        return make_error_code(errc::invalid_argument);
    }
    store_be(out.data() + start + batch_v2::length_at, static_cast<std::int32_t>(length));
    return {};
}

void set_batch_producer_state(std::span<std::uint8_t> batch, std::int64_t producer_id, std::int16_t producer_epoch,
                              std::int32_t base_sequence) noexcept {
    if (batch.size() < batch_v2::header_size) return;
    std::uint8_t* h = batch.data();
    store_be(h + batch_v2::producer_id_at, producer_id);
    store_be(h + batch_v2::producer_epoch_at, producer_epoch);
    store_be(h + batch_v2::base_sequence_at, base_sequence);
    store_be(h + batch_v2::crc_at, crc32c(0, h + batch_v2::attributes_at, batch.size() - batch_v2::attributes_at));
}

}  // namespace kwire::codec

// Records as the codec hands them out and takes them in: views into a buffer, never copies.
//
// RecordBatch v2 (magic 2) layout, all integers big-endian:
//   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32
//   | attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64
//   | producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records
// batchLength counts from partitionLeaderEpoch to the end; the CRC32C covers attributes .. end.
// Each record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
//   | keyLength varint (-1 null) | key | valueLength varint (-1 null) | value
//   | headerCount varint | headers: keyLength varint | key | valueLength varint (-1 null) | value
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

#include "kwire/codec/compression.hpp"
#include "kwire/protocol/types.hpp"
#include "kwire/protocol/wire.hpp"

namespace kwire::codec {

using protocol::bytes_view;

/// Byte offsets and sizes of the RecordBatch v2 header.
namespace batch_v2 {
inline constexpr std::size_t base_offset_at = 0;
inline constexpr std::size_t length_at = 8;
inline constexpr std::size_t partition_leader_epoch_at = 12;
inline constexpr std::size_t magic_at = 16;
inline constexpr std::size_t crc_at = 17;
inline constexpr std::size_t attributes_at = 21;  // the CRC covers from here to the end
inline constexpr std::size_t last_offset_delta_at = 23;
inline constexpr std::size_t base_timestamp_at = 27;
inline constexpr std::size_t max_timestamp_at = 35;
inline constexpr std::size_t producer_id_at = 43;
inline constexpr std::size_t producer_epoch_at = 51;
inline constexpr std::size_t base_sequence_at = 53;
inline constexpr std::size_t record_count_at = 57;
inline constexpr std::size_t header_size = 61;
/// Bytes before batchLength starts counting (baseOffset + batchLength).
inline constexpr std::size_t log_overhead = 12;
}  // namespace batch_v2

/// Bits of the batch attributes (legacy messages use the same low bits in an int8).
namespace batch_attributes {
inline constexpr std::int16_t compression_mask = 0x07;
inline constexpr std::int16_t log_append_time = 0x08;
inline constexpr std::int16_t transactional = 0x10;
inline constexpr std::int16_t control = 0x20;
inline constexpr std::int16_t delete_horizon = 0x40;
}  // namespace batch_attributes

enum class timestamp_type : std::uint8_t { create_time = 0, log_append_time = 1 };

/// A record header. The key is a string that is never null; the value may be null.
struct header_view {
    std::string_view key;
    std::optional<bytes_view> value;
    friend bool operator==(const header_view&, const header_view&) = default;
};

/// The headers of a decoded record, parsed lazily on iteration. The decoder has already
/// validated every length, so iteration cannot fail.
class headers_view {
public:
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = header_view;
        using difference_type = std::ptrdiff_t;
        using pointer = const header_view*;
        using reference = const header_view&;

        iterator() noexcept = default;
        reference operator*() const noexcept { return current_; }
        pointer operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept {
            if (--left_ != 0) load();
            return *this;
        }
        iterator operator++(int) noexcept {
            auto copy = *this;
            ++*this;
            return copy;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.left_ == b.left_; }

    private:
        friend class headers_view;
        iterator(const std::uint8_t* p, std::size_t count) noexcept : p_(p), left_(count) {
            if (left_ != 0) load();
        }
        static std::int32_t varint(const std::uint8_t*& p) noexcept {
            std::uint32_t v = 0;
            for (unsigned shift = 0;; shift += 7) {
                const std::uint8_t b = *p++;
                v |= static_cast<std::uint32_t>(b & 0x7f) << shift;
                if (!(b & 0x80)) return protocol::unzigzag32(v);
            }
        }
        void load() noexcept {
            const auto key_len = static_cast<std::size_t>(varint(p_));
            current_.key = {reinterpret_cast<const char*>(p_), key_len};
            p_ += key_len;
            const std::int32_t value_len = varint(p_);
            if (value_len < 0) {
                current_.value.reset();
            } else {
                current_.value = bytes_view{p_, static_cast<std::size_t>(value_len)};
                p_ += value_len;
            }
        }
        const std::uint8_t* p_ = nullptr;
        std::size_t left_ = 0;
        header_view current_;
    };

    headers_view() noexcept = default;
    /// `data` must hold `count` headers that a decoder has validated.
    headers_view(const std::uint8_t* data, std::size_t count) noexcept : data_(data), count_(count) {}

    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    iterator begin() const noexcept { return {data_, count_}; }
    iterator end() const noexcept { return {}; }

private:
    const std::uint8_t* data_ = nullptr;
    std::size_t count_ = 0;
};

/// One decoded record, whatever the format it came from. Views point into the RECORDS blob or,
/// for compressed batches, into the reader's decompression buffer.
struct record_view {
    std::int64_t offset = 0;     ///< absolute offset
    std::int64_t timestamp = -1; ///< absolute; maxTimestamp of the batch under LogAppendTime; -1 for v0
    std::optional<bytes_view> key;
    std::optional<bytes_view> value;
    headers_view headers;        ///< always empty for magic 0 and 1
    std::int8_t attributes = 0;  ///< record attributes (v2: unused), or the legacy message's
};

/// The header of a batch as decoded. For magic 0/1 entries the reader fills in the equivalent
/// values: base_offset/last_offset_delta span the inner messages, producer fields are -1.
struct batch_header {
    std::int64_t base_offset = 0;
    std::int32_t batch_length = 0;  ///< v2 batchLength, or the legacy message size
    std::int32_t partition_leader_epoch = -1;
    std::int8_t magic = 2;
    std::uint32_t crc = 0;
    std::int16_t attributes = 0;
    std::int32_t last_offset_delta = 0;
    std::int64_t base_timestamp = -1;
    std::int64_t max_timestamp = -1;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    std::int32_t record_count = 0;

    compression codec() const noexcept {
        return static_cast<compression>(attributes & batch_attributes::compression_mask);
    }
    timestamp_type ts_type() const noexcept {
        return (attributes & batch_attributes::log_append_time) ? timestamp_type::log_append_time
                                                                : timestamp_type::create_time;
    }
    bool is_transactional() const noexcept { return attributes & batch_attributes::transactional; }
    bool is_control() const noexcept { return attributes & batch_attributes::control; }
    bool has_delete_horizon() const noexcept { return attributes & batch_attributes::delete_horizon; }
    std::int64_t last_offset() const noexcept {  // wrapping: the fields may be hostile
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(base_offset) +
                                         static_cast<std::uint64_t>(std::int64_t{last_offset_delta}));
    }
    /// Bytes the whole entry takes in the RECORDS blob.
    std::size_t size_bytes() const noexcept {
        return batch_v2::log_overhead + static_cast<std::size_t>(batch_length);
    }
};

}  // namespace kwire::codec

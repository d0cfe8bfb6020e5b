// Decoder of a RECORDS blob (a Fetch response partition's records, a log segment slice): any
// sequence of RecordBatch v2 batches and legacy MessageSet v0/v1 entries, told apart by the
// magic byte at offset 16 of each entry.
//
//   std::vector<std::uint8_t> buffer;                      // reused across calls
//   kwire::codec::records_reader r(records, buffer);
//   while (r.next_batch()) {
//       if (r.batch().is_control()) continue;              // unread records are skipped
//       kwire::codec::record_view rec;
//       while (r.next_record(rec)) use(rec.offset, rec.key, rec.value, rec.headers);
//   }
//   if (r.error()) ...;                                     // corrupt data
//   else if (r.incomplete()) ...;                           // partial trailing batch (normal)
//
// next_batch() validates the batch as a whole (length, CRC, codec) and decompresses it; records
// are parsed one by one in next_record(), so a batch whose records contradict its header (count,
// lengths) is only reported when iteration reaches the fault - the CRC, verified first, already
// rules out corruption in transit. Nothing is allocated per record; views stay valid while the
// blob lives and, for compressed batches, until the next next_batch() call.
//
// A legacy uncompressed message is presented as a batch of one record; a compressed wrapper
// message as a batch of its inner messages (with v1 relative offsets made absolute).
#pragma once

#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>

#include "kwire/codec/record.hpp"

namespace kwire::codec {

struct decode_options {
    /// Check each batch's CRC32C (v2) or each message's CRC32 (v0/v1).
    bool verify_crc = true;
    /// Largest decompressed size of one compressed batch / wrapper message.
    std::size_t max_decompressed_bytes = 64 * 1024 * 1024;
};

class records_reader {
public:
    /// Decompressed records go to `decompress_buffer`, which the caller can reuse across readers
    /// so its capacity is paid for once.
    records_reader(bytes_view records, std::vector<std::uint8_t>& decompress_buffer,
                   const decode_options& options = {}) noexcept;
    /// Uses a buffer of its own for compressed batches.
    explicit records_reader(bytes_view records, const decode_options& options = {}) noexcept;

    records_reader(const records_reader&) = delete;
    records_reader& operator=(const records_reader&) = delete;

    /// Moves to the next batch. False at the end of the blob, at a truncated trailing batch
    /// (incomplete()), or on an error (error()).
    bool next_batch();
    /// The current batch's header (valid after next_batch() returned true).
    const batch_header& batch() const noexcept { return header_; }

    /// Decodes the current batch's next record into `out`. False when the batch has no more
    /// records, or on an error (error()), which also ends next_batch().
    bool next_record(record_view& out);

    std::error_code error() const noexcept { return error_; }
    /// Whether reading stopped at a trailing batch cut short (the fetch size limit cuts the last
    /// batch of a Fetch response). If no batch came before it, the fetch size is too small.
    bool incomplete() const noexcept { return incomplete_; }
    /// Bytes of the blob taken by the complete batches returned so far.
    std::size_t bytes_consumed() const noexcept { return static_cast<std::size_t>(next_ - begin_); }

private:
    enum class mode : std::uint8_t { none, v2, legacy_single, legacy_inner };

    bool fail(errc e) noexcept;
    bool fail(std::error_code ec) noexcept;
    bool start_v2(const std::uint8_t* entry, std::size_t size);
    bool start_legacy(const std::uint8_t* entry, std::size_t size);
    bool next_v2_record(record_view& out);
    bool next_legacy_record(record_view& out);

    const std::uint8_t* begin_;
    const std::uint8_t* next_;  // start of the next entry
    const std::uint8_t* end_;
    std::vector<std::uint8_t>* buffer_;
    std::vector<std::uint8_t> own_buffer_;
    decode_options options_;
    std::error_code error_;
    bool incomplete_ = false;

    // The current batch.
    batch_header header_;
    mode mode_ = mode::none;
    const std::uint8_t* rec_ = nullptr;      // next record / inner message
    const std::uint8_t* rec_end_ = nullptr;  // end of the records (or inner message set)
    std::int32_t records_left_ = 0;
    // Legacy wrappers: inner offset -> absolute offset, and the wrapper's timestamp for
    // LogAppendTime.
    std::int64_t legacy_offset_adjust_ = 0;
    std::int64_t legacy_wrapper_timestamp_ = -1;
    bool legacy_wrapper_time_ = false;
    record_view legacy_single_;
};

/// Calls fn(const batch_header&, const record_view&) for every record of every complete batch.
/// Returns the first error; a truncated trailing batch is not an error (see incomplete()).
template <class Fn>
std::error_code for_each_record(bytes_view records, std::vector<std::uint8_t>& buffer, Fn&& fn,
                                const decode_options& options = {}) {
    records_reader r(records, buffer, options);
    record_view rec;
    while (r.next_batch())
        while (r.next_record(rec)) fn(r.batch(), rec);
    return r.error();
}

}  // namespace kwire::codec

// Encoder of RecordBatch v2: appends one batch straight into the caller's (request) buffer.
//
//   std::vector<std::uint8_t> request = ...;        // e.g. a Produce request being built
//   kwire::codec::batch_builder b;
//   b.begin(request, {.codec = compression::lz4});
//   b.append(now_ms, key, value, headers);           // as many times as batch.size allows
//   if (auto ec = b.finish()) ...;                   // patches the header, compresses, CRCs
//
// Appending a record allocates nothing besides the buffer's own amortized growth: its size is
// computed first, then its fields are written in place. With compression, records go to a
// scratch buffer the builder owns and reuses across batches, and finish() compresses that into
// the output. lz4 at its fast levels is the exception: its frame is made of independent 64 KiB
// blocks, so each block is compressed into the output as soon as its records are in the scratch
// buffer (while they are still in cache), the scratch buffer never holds more than one block
// plus a record, and finish() only compresses the last partial block.
// One builder builds one batch at a time and can be reused for the next.
//
// Compressing elsewhere (batch_options::defer_compression): the records are written uncompressed
// straight into the output, finish() completes the header without a CRC, and
// compress_deferred_batch() -- callable on any thread, on a copy the caller owns -- produces the
// batch with its records compressed; set_batch_producer_state() then stores the producer state
// and the CRC. The result is byte for byte what the builder writes inline with the same codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "kwire/codec/compression.hpp"
#include "kwire/codec/record.hpp"

namespace kwire::codec {

struct batch_options {
    compression codec = compression::none;
    std::optional<int> compression_level{};  ///< codec default when empty
    /// Idempotent / transactional producer state; -1 = none. Can also be set (or changed, e.g.
    /// when sequence numbers are assigned at drain time) with set_producer_state().
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = -1;
    std::int32_t base_sequence = -1;
    bool transactional = false;
    /// With a codec: the records are written uncompressed into `out`, for
    /// compress_deferred_batch() to compress later (the attributes already name the codec);
    /// finish() completes the header for the uncompressed records and leaves the CRC at 0.
    bool defer_compression = false;
};

class batch_builder {
public:
    batch_builder() = default;

    /// Starts a batch at the end of `out` (writing its 61-byte header). `out` must stay alive
    /// and must not be modified by anyone else until finish() or abort(). A batch still open
    /// is aborted first.
    void begin(std::vector<std::uint8_t>& out, const batch_options& options = {});

    /// Adds a record with the given CreateTime timestamp (ms). (Key and value are taken by
    /// reference: a 24-byte optional passed by value is copied through the stack with 16-byte
    /// moves that stall on store forwarding, which cost a third of the encoding time.) Offsets are assigned in order
    /// (offset delta = index). Returns invalid_argument, without adding anything, when no batch
    /// is open or the record cannot be represented (a field above 2 GiB, a batch above 2 GiB).
    std::error_code append(std::int64_t timestamp, const std::optional<bytes_view>& key,
                           const std::optional<bytes_view>& value, std::span<const header_view> headers = {});

    void set_producer_state(std::int64_t producer_id, std::int16_t producer_epoch,
                            std::int32_t base_sequence, bool transactional) noexcept;

    /// Completes the batch: compresses the records if a codec was chosen, then patches
    /// batchLength, lastOffsetDelta, the timestamps, recordCount and the CRC. A batch with no
    /// record is removed again and reported as invalid_argument (brokers reject empty batches);
    /// so is a compression failure. Either way the builder is then free for begin().
    std::error_code finish();

    /// Drops the open batch, restoring `out` to its size before begin().
    void abort() noexcept;

    /// Takes back the record appended last, as if it had never been appended, while that is
    /// still possible: nothing was appended after it and none of its bytes were compressed yet
    /// (lz4 compresses whole 64 KiB blocks while records arrive). Returns whether it did.
    bool drop_last() noexcept;

    bool active() const noexcept { return out_ != nullptr; }
    std::int32_t record_count() const noexcept { return count_; }
    /// Bytes of the batch so far: header plus records before compression (for batch.size
    /// decisions; a compressed batch ends up smaller).
    std::size_t size_bytes() const noexcept;

    /// An upper bound of the bytes append() would add for this record, whatever its timestamp
    /// and position in the batch.
    static std::size_t max_record_size(const std::optional<bytes_view>& key, const std::optional<bytes_view>& value,
                                       std::span<const header_view> headers = {}) noexcept;

private:
    std::vector<std::uint8_t>* out_ = nullptr;
    std::vector<std::uint8_t>* records_ = nullptr;  // out_, or &scratch_ when compressing
    /// lz4 (fast levels): compresses every complete 64 KiB block of the scratch buffer into the
    /// output and keeps the rest at its front.
    std::error_code flush_lz4_blocks();

    std::vector<std::uint8_t> scratch_;
    std::size_t batch_start_ = 0;    // where the batch header starts in *out_
    std::size_t records_start_ = 0;  // where the records start in *records_
    std::size_t flushed_ = 0;        // record bytes already compressed out of the scratch buffer
    bool lz4_blocks_ = false;        // lz4 written block by block (see the top of this file)
    std::error_code failed_;         // a block that could not be compressed: finish() reports it
    batch_options options_;
    std::int32_t count_ = 0;
    std::int64_t base_timestamp_ = 0;
    std::int64_t max_timestamp_ = 0;
    // For drop_last(): where the last record starts in *records_ (npos: it cannot be taken
    // back), and the batch's max timestamp before it.
    std::size_t last_at_ = static_cast<std::size_t>(-1);
    std::int64_t max_timestamp_before_last_ = 0;
};

/// The second half of a batch finished with batch_options::defer_compression: appends to `out`
/// the batch's header followed by its records compressed with the codec its attributes name, and
/// sets batchLength. The CRC is not computed (see set_batch_producer_state). Safe to call on any
/// thread (compression contexts are per thread). On error `out` is left as it was:
/// invalid_argument for a malformed input or a result above 2 GiB, or the codec's error.
std::error_code compress_deferred_batch(bytes_view batch, std::optional<int> level, std::vector<std::uint8_t>& out);

/// Stores producer id, epoch and base sequence in a finished batch and recomputes its CRC.
void set_batch_producer_state(std::span<std::uint8_t> batch, std::int64_t producer_id, std::int16_t producer_epoch,
                              std::int32_t base_sequence) noexcept;

}  // namespace kwire::codec

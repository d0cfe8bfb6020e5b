// instant_log: the one partition's log of instant_broker when it also serves consumers (the
// e2e-instant scenario): RecordBatches appended as Produce requests bring them (their base
// offset rewritten, which the CRC does not cover), and read from an offset by Fetch requests,
// which wait -- up to the request's max wait -- until a record at or past that offset exists.
// A Produce wakes a waiting Fetch at once, as a real broker's purgatory does (and librdkafka's
// mock does not).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace kwire::bench {

class instant_log {
public:
    /// Appends a RecordBatch (v2) and returns its base offset; -1 if it is not one.
    std::int64_t append(const std::uint8_t* bytes, std::size_t size) {
        if (size < 61) return -1;  // a RecordBatch header is 61 bytes
        const auto last_delta = static_cast<std::int64_t>((std::uint32_t{bytes[23]} << 24) |
                                                          (std::uint32_t{bytes[24]} << 16) |
                                                          (std::uint32_t{bytes[25]} << 8) | bytes[26]);
        std::lock_guard lock(mu_);
        const auto base = end_;
        auto& b = batches_.emplace_back();
        b.base = base;
        b.bytes.assign(bytes, bytes + size);
        for (int i = 0; i < 8; ++i) b.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(base >> (56 - 8 * i));
        end_ = base + last_delta + 1;
        grown_.notify_all();
        return base;
    }

    /// The batches from the one holding `offset` on (at most `max_bytes`, but at least one),
    /// waiting up to `max_wait` for one; and the log end.
    std::vector<std::uint8_t> read(std::int64_t offset, std::size_t max_bytes, std::chrono::milliseconds max_wait,
                                   std::int64_t& end) {
        std::unique_lock lock(mu_);
        grown_.wait_for(lock, max_wait, [&] { return end_ > offset; });
        end = end_;
        std::vector<std::uint8_t> out;
        // The batch holding `offset`: the last one whose base is not past it.
        auto it = std::upper_bound(batches_.begin(), batches_.end(), offset,
                                   [](std::int64_t o, const stored_batch& b) { return o < b.base; });
        if (it != batches_.begin()) --it;
        for (; it != batches_.end(); ++it) {
            if (!out.empty() && out.size() + it->bytes.size() > max_bytes) break;
            if (it + 1 == batches_.end() && end_ <= offset) break;  // nothing at or past offset
            out.insert(out.end(), it->bytes.begin(), it->bytes.end());
        }
        return out;
    }

    std::int64_t end() {
        std::lock_guard lock(mu_);
        return end_;
    }

private:
    struct stored_batch {
        std::int64_t base = 0;
        std::vector<std::uint8_t> bytes;
    };
    std::mutex mu_;
    std::condition_variable grown_;
    std::vector<stored_batch> batches_;
    std::int64_t end_ = 0;
};

}  // namespace kwire::bench

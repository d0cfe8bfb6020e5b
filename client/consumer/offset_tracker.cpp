// offset_tracker (see offset_tracker.hpp): learning fetched offsets and acknowledgements, and
// advancing the committable offset past every finished record.
#include "consumer/offset_tracker.hpp"

namespace kwire::client::detail {

namespace {
constexpr std::int64_t word_bits = 64;
}

void offset_tracker::reset(std::int64_t position) noexcept {
    base_ = end_ = position;
    pending_ = 0;
    words_.clear();
    base_aligned_ = position - (position % word_bits + word_bits) % word_bits;
}

bool offset_tracker::is_pending(std::int64_t offset) const noexcept {
    if (offset < base_ || offset >= end_ || words_.empty()) return false;
    const auto bit = offset - base_aligned_;
    const auto word = static_cast<std::size_t>(bit / word_bits);
    return word < words_.size() && (words_[word] >> (bit % word_bits) & 1u);
}

void offset_tracker::fetched(std::int64_t offset) {
    if (offset < end_) return;  // already seen: offsets only move forward
    if (words_.empty()) base_aligned_ = base_ - (base_ % word_bits + word_bits) % word_bits;
    if (pending_ == 0 && offset > base_) {
        // Nothing outstanding: the skipped offsets hold no record, so the commit may move up to
        // this record right away (and the bitmap need not cover the gap).
        base_ = offset;
        words_.clear();
        base_aligned_ = base_ - (base_ % word_bits + word_bits) % word_bits;
    }
    const auto bit = offset - base_aligned_;
    const auto word = static_cast<std::size_t>(bit / word_bits);
    if (words_.size() <= word) words_.resize(word + 1, 0);
    words_[word] |= std::uint64_t{1} << (bit % word_bits);
    end_ = offset + 1;
    ++pending_;
}

void offset_tracker::fetched_up_to(std::int64_t next) {
    if (next <= end_) return;
    end_ = next;
    advance();
}

void offset_tracker::ack(std::int64_t offset) noexcept {
    if (!is_pending(offset)) return;
    const auto bit = offset - base_aligned_;
    words_[static_cast<std::size_t>(bit / word_bits)] &= ~(std::uint64_t{1} << (bit % word_bits));
    --pending_;
    advance();
}

void offset_tracker::advance() noexcept {
    if (pending_ == 0) {
        // Everything fetched is done: the commit may name the next offset to fetch.
        base_ = end_;
        words_.clear();
        base_aligned_ = base_ - (base_ % word_bits + word_bits) % word_bits;
        return;
    }
    // Move base to the first offset still pending, dropping whole words that are done.
    while (!words_.empty() && words_.front() == 0) {
        words_.pop_front();
        base_aligned_ += word_bits;
    }
    const auto first = words_.front();
    base_ = base_aligned_ + __builtin_ctzll(first);
}

}  // namespace kwire::client::detail

// Partitioners: which partition a record goes to.
//
// - keyed records: Java-compatible murmur2 (the same key lands on the same partition as with the
//   Java client and the C client's murmur2_random), so mixed-language producers agree;
// - null keys: uniform sticky (KIP-794): stay on one partition until a batch is sent there, then
//   move, which fills batches instead of spraying single records;
// - an explicit partition always wins; a user partitioner replaces the default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

namespace kwire::client {

/// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), seed 0x9747b28c.
std::int32_t murmur2(std::span<const std::uint8_t> key) noexcept;
inline std::int32_t murmur2(std::string_view key) noexcept {
    return murmur2({reinterpret_cast<const std::uint8_t*>(key.data()), key.size()});
}

/// Java's partition for a key: toPositive(murmur2(key)) % partitions.
inline std::int32_t murmur2_partition(std::span<const std::uint8_t> key, std::int32_t partitions) noexcept {
    return static_cast<std::int32_t>((static_cast<std::uint32_t>(murmur2(key)) & 0x7fffffffu) %
                                     static_cast<std::uint32_t>(partitions));
}

/// A user partitioner: (topic, key or nullopt for a null key, partition count) -> partition.
using partitioner_fn =
    std::function<std::int32_t(std::string_view topic, std::optional<std::span<const std::uint8_t>> key,
                               std::int32_t partitions)>;

/// Uniform sticky choice for null keys (KIP-794): one partition per topic until told that a batch
/// went out, then a new one at random, different from the last when there is a choice.
class sticky_partition {
public:
    explicit sticky_partition(std::uint64_t seed = 0x2545f4914f6cdd1dULL) noexcept : state_(seed | 1) {}

    std::int32_t current(std::int32_t partitions) noexcept {
        if (current_ < 0 || current_ >= partitions) current_ = pick(partitions, -1);
        return current_;
    }
    /// A batch was completed on the current partition: move on.
    void batch_completed(std::int32_t partitions) noexcept { current_ = pick(partitions, current_); }

private:
    std::int32_t pick(std::int32_t partitions, std::int32_t avoid) noexcept {
        if (partitions <= 1) return 0;
        for (;;) {
            // xorshift64*: cheap, good enough to spread load, no global state.
            state_ ^= state_ >> 12;
            state_ ^= state_ << 25;
            state_ ^= state_ >> 27;
            const auto p = static_cast<std::int32_t>((state_ * 0x2545f4914f6cdd1dULL >> 33) %
                                                     static_cast<std::uint64_t>(partitions));
            if (p != avoid) return p;
        }
    }

    std::uint64_t state_;
    std::int32_t current_ = -1;
};

}  // namespace kwire::client

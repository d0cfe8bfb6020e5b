// The partitioners' shared hash: Kafka's murmur2 (see kwire/client/partitioner.hpp).
#include "kwire/client/partitioner.hpp"

#include <cstring>

namespace kwire::client {

std::int32_t murmur2(std::span<const std::uint8_t> key) noexcept {
    // Java computes in 32-bit signed ints with wrapping; unsigned arithmetic gives the same bits.
    constexpr std::uint32_t seed = 0x9747b28cu;
    constexpr std::uint32_t m = 0x5bd1e995u;
    constexpr int r = 24;
    const auto length = static_cast<std::uint32_t>(key.size());
    std::uint32_t h = seed ^ length;
    const std::uint8_t* data = key.data();
    const std::size_t blocks = key.size() / 4;
    for (std::size_t i = 0; i < blocks; ++i) {
        const std::uint8_t* p = data + i * 4;
        // Little-endian 4-byte blocks, as Java assembles them.
        std::uint32_t k = static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
                          static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    const std::uint8_t* tail = data + blocks * 4;
    switch (key.size() % 4) {
        case 3: h ^= static_cast<std::uint32_t>(tail[2]) << 16; [[fallthrough]];
        case 2: h ^= static_cast<std::uint32_t>(tail[1]) << 8; [[fallthrough]];
        case 1:
            h ^= tail[0];
            h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return static_cast<std::int32_t>(h);
}

}  // namespace kwire::client

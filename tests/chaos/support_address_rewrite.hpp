// What a proxy in front of Kafka brokers must change in the answers it passes on: the broker
// addresses they advertise. A client connects to whatever Metadata (its broker list) and
// FindCoordinator (the coordinator's host and port) name, so a proxy that passed them through
// untouched would be bypassed after bootstrap. Shared by the integration tests' kafka_proxy and
// the chaos suite's chaos_proxy (compiled into both test binaries: kwire-integration-tests does
// not link kwire_chaos_support, whose other pieces it does not need).
//
// Frames here are whole Kafka frames: the 4-byte big-endian size, then the body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kwire::test {

inline constexpr std::int16_t metadata_api_key = 3;
inline constexpr std::int16_t find_coordinator_api_key = 10;
inline constexpr std::int16_t api_versions_api_key = 18;

inline std::uint32_t load_u32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}
inline std::int16_t load_i16(const std::uint8_t* p) {
    return static_cast<std::int16_t>((std::uint16_t{p[0]} << 8) | std::uint16_t{p[1]});
}

/// Which upstream port each proxy port stands for. Upstreams are told apart by port alone: every
/// peer the tests proxy (the mock cluster, the scripted cluster) listens on 127.0.0.1.
struct address_map {
    std::string proxy_host = "127.0.0.1";
    std::vector<std::pair<std::uint16_t, std::uint16_t>> ports;  // upstream port, proxy port
    /// Prints each Metadata answer's partition leaders on stderr (KWIRE_PROXY_TRACE).
    bool trace = false;
};

enum class rewrite_outcome { passed, rewritten, undecodable };

/// Appends the response frame `frame` (size prefix included, `size` bytes after it) to `out`:
/// Metadata and FindCoordinator answers with their brokers mapped to the proxy's ports
/// (decoded and re-encoded with kwire's codecs), anything else -- or an answer that does not
/// decode -- byte for byte.
rewrite_outcome forward_response(const std::uint8_t* frame, std::size_t size, std::int16_t api_key,
                                 std::int16_t version, const address_map& map, std::vector<std::uint8_t>& out);

}  // namespace kwire::test

// Pieces the SASL mechanisms share: wiping secrets, strict base64 (RFC 4648 §4), UTF-8 checks,
// and the SCRAM constructor the factory in sasl.cpp calls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/sasl.hpp"

namespace kwire::client::detail::sasl {

/// Overwrites the bytes (crypto::cleanse: not optimised away) and empties the container. A
/// std::string wiped this way keeps no copy in its small-string buffer either.
void wipe(std::string& s) noexcept;
void wipe(std::vector<std::uint8_t>& v) noexcept;
void wipe(std::span<std::uint8_t> b) noexcept;

/// A fixed-size buffer for keys, wiped when it goes out of scope on every path.
template <std::size_t N>
struct secret_bytes {
    std::array<std::uint8_t, N> bytes{};
    secret_bytes() = default;
    secret_bytes(const secret_bytes&) = delete;
    secret_bytes& operator=(const secret_bytes&) = delete;
    ~secret_bytes() { wipe(std::span<std::uint8_t>(bytes)); }
    std::uint8_t* data() noexcept { return bytes.data(); }
    const std::uint8_t* data() const noexcept { return bytes.data(); }
};

std::string base64_encode(std::span<const std::uint8_t> in);
/// Strict: only the RFC 4648 alphabet, length a multiple of 4, at most two '=' and only at the
/// end, and zero bits where padding cuts a group. nullopt otherwise.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view in);

/// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_utf8(std::string_view s) noexcept;
bool is_ascii(std::string_view s) noexcept;

inline std::string_view as_text(std::span<const std::uint8_t> b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}
/// The string's bytes in a vector reserved to fit, so no reallocation leaves a copy behind.
std::vector<std::uint8_t> to_bytes(std::string_view s);

/// `mechanism` is "SCRAM-SHA-1", "SCRAM-SHA-256" or "SCRAM-SHA-512" (else sasl_mechanism_unsupported);
/// an empty `fixed_nonce` means a fresh random nonce per start().
std::unique_ptr<sasl_mechanism> make_scram(std::string_view mechanism, std::string_view user,
                                           std::string_view password, std::string_view fixed_nonce,
                                           std::error_code& ec);

}  // namespace kwire::client::detail::sasl

// The few cryptographic primitives kwire needs outside TLS: SCRAM's hashes, HMAC and PBKDF2
// (RFC 5802, 7677), random bytes for its nonce, wiping secrets and comparing in constant time.
// Implemented on the crypto library of the TLS backend the build selects (KWIRE_TLS_BACKEND):
// crypto_openssl.cpp (libcrypto) or crypto_mbedtls.cpp (mbedcrypto). No header of either here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace kwire::client::detail::crypto {

enum class digest { sha1, sha256, sha512 };

/// The largest digest_size(), for fixed buffers.
inline constexpr std::size_t max_digest_size = 64;

constexpr std::size_t digest_size(digest d) noexcept {
    return d == digest::sha1 ? 20 : d == digest::sha256 ? 32 : 64;
}

/// Each writes digest_size(d) bytes to `out` and returns false only if the library fails.
bool hash(digest d, std::span<const std::uint8_t> in, std::uint8_t* out) noexcept;
bool hmac(digest d, std::span<const std::uint8_t> key, std::span<const std::uint8_t> data, std::uint8_t* out) noexcept;
/// PBKDF2 with HMAC-`d` (RFC 8018), a digest_size(d) output (SCRAM's Hi()).
bool pbkdf2_hmac(digest d, std::string_view password, std::span<const std::uint8_t> salt, std::uint32_t iterations,
                 std::uint8_t* out) noexcept;

/// Bytes from a cryptographically secure generator; false if the system's source is unusable.
bool random_bytes(std::span<std::uint8_t> out) noexcept;

/// Overwrites the bytes in a way the compiler does not optimise away.
void cleanse(void* p, std::size_t n) noexcept;

/// a == b over n bytes, in time that depends on n only.
bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept;

}  // namespace kwire::client::detail::crypto

namespace kwire::client::detail::crypto {

/// crypto_mbedtls.cpp only: the process's CTR_DRBG (seeded from the system's entropy source,
/// getrandom), as an mbedTLS RNG callback (mbedtls_ssl_conf_rng); `ctx` is unused. Thread-safe:
/// calls are serialised. Returns 0 or an mbedTLS error code.
int mbedtls_random(void* ctx, unsigned char* out, std::size_t n) noexcept;

}  // namespace kwire::client::detail::crypto

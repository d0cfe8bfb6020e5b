// crypto.hpp on OpenSSL's libcrypto (KWIRE_TLS_BACKEND=openssl).
#include "net/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>

namespace kwire::client::detail::crypto {

namespace {
const EVP_MD* md(digest d) noexcept {
    switch (d) {
        case digest::sha1: return EVP_sha1();
        case digest::sha256: return EVP_sha256();
        case digest::sha512: return EVP_sha512();
    }
    return nullptr;
}
}  // namespace

bool hash(digest d, std::span<const std::uint8_t> in, std::uint8_t* out) noexcept {
    unsigned int len = 0;
    return EVP_Digest(in.data(), in.size(), out, &len, md(d), nullptr) == 1 && len == digest_size(d);
}

bool hmac(digest d, std::span<const std::uint8_t> key, std::span<const std::uint8_t> data, std::uint8_t* out) noexcept {
    unsigned int len = 0;
    return key.size() <= INT_MAX &&
           HMAC(md(d), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out, &len) != nullptr &&
           len == digest_size(d);
}

bool pbkdf2_hmac(digest d, std::string_view password, std::span<const std::uint8_t> salt, std::uint32_t iterations,
                 std::uint8_t* out) noexcept {
    if (password.size() > INT_MAX || salt.size() > INT_MAX || iterations > INT_MAX) return false;
    return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                             static_cast<int>(salt.size()), static_cast<int>(iterations), md(d),
                             static_cast<int>(digest_size(d)), out) == 1;
}

bool random_bytes(std::span<std::uint8_t> out) noexcept {
    return out.size() <= INT_MAX && RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

void cleanse(void* p, std::size_t n) noexcept { OPENSSL_cleanse(p, n); }

bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept {
    return CRYPTO_memcmp(a, b, n) == 0;
}

}  // namespace kwire::client::detail::crypto

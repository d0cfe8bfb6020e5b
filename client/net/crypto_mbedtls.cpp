// crypto.hpp on mbedTLS's mbedcrypto (KWIRE_TLS_BACKEND=mbedtls).
#include "net/crypto.hpp"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>

#include <mutex>

namespace kwire::client::detail::crypto {

namespace {

const mbedtls_md_info_t* md(digest d) noexcept {
    switch (d) {
        case digest::sha1: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
        case digest::sha256: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
        case digest::sha512: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA512);
    }
    return nullptr;
}

/// One CTR_DRBG per process, seeded on first use, every call under the mutex (mbedTLS's own
/// locking depends on how the library was configured; this does not).
class process_drbg {
public:
    process_drbg() {
        mbedtls_entropy_init(&entropy_);
        mbedtls_ctr_drbg_init(&drbg_);
        static constexpr unsigned char personalization[] = "kwire";
        seeded_ = mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_, personalization,
                                        sizeof personalization - 1) == 0;
    }
    ~process_drbg() {
        mbedtls_ctr_drbg_free(&drbg_);
        mbedtls_entropy_free(&entropy_);
    }
    process_drbg(const process_drbg&) = delete;
    process_drbg& operator=(const process_drbg&) = delete;

    int random(unsigned char* out, std::size_t n) noexcept {
        std::lock_guard lock(mutex_);
        if (!seeded_) return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
        // mbedtls_ctr_drbg_random gives at most MBEDTLS_CTR_DRBG_MAX_REQUEST bytes per call.
        while (n > 0) {
            const std::size_t chunk = n < MBEDTLS_CTR_DRBG_MAX_REQUEST ? n : MBEDTLS_CTR_DRBG_MAX_REQUEST;
            if (const int r = mbedtls_ctr_drbg_random(&drbg_, out, chunk)) return r;
            out += chunk;
            n -= chunk;
        }
        return 0;
    }

private:
    std::mutex mutex_;
    mbedtls_entropy_context entropy_;
    mbedtls_ctr_drbg_context drbg_;
    bool seeded_ = false;
};

}  // namespace

int mbedtls_random(void*, unsigned char* out, std::size_t n) noexcept {
    // Constructed once, thread-safely, and never destroyed: threads may still connect while
    // the process exits.
    static process_drbg& drbg = *new process_drbg;
    return drbg.random(out, n);
}

bool hash(digest d, std::span<const std::uint8_t> in, std::uint8_t* out) noexcept {
    return mbedtls_md(md(d), in.data(), in.size(), out) == 0;
}

bool hmac(digest d, std::span<const std::uint8_t> key, std::span<const std::uint8_t> data, std::uint8_t* out) noexcept {
    return mbedtls_md_hmac(md(d), key.data(), key.size(), data.data(), data.size(), out) == 0;
}

bool pbkdf2_hmac(digest d, std::string_view password, std::span<const std::uint8_t> salt, std::uint32_t iterations,
                 std::uint8_t* out) noexcept {
    mbedtls_md_context_t ctx;
    mbedtls_md_init(&ctx);
    const bool ok =
        mbedtls_md_setup(&ctx, md(d), 1) == 0 &&
        mbedtls_pkcs5_pbkdf2_hmac(&ctx, reinterpret_cast<const unsigned char*>(password.data()), password.size(),
                                  salt.data(), salt.size(), iterations, static_cast<std::uint32_t>(digest_size(d)),
                                  out) == 0;
    mbedtls_md_free(&ctx);  // zeroizes the HMAC state, which holds the password's pads
    return ok;
}

bool random_bytes(std::span<std::uint8_t> out) noexcept { return mbedtls_random(nullptr, out.data(), out.size()) == 0; }

void cleanse(void* p, std::size_t n) noexcept { mbedtls_platform_zeroize(p, n); }

bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t n) noexcept {
    unsigned char diff = 0;
    // volatile: the loop runs over every byte, whatever the compiler knows about early exits.
    const volatile std::uint8_t* va = a;
    const volatile std::uint8_t* vb = b;
    for (std::size_t i = 0; i < n; ++i) diff = static_cast<unsigned char>(diff | (va[i] ^ vb[i]));
    return diff == 0;
}

}  // namespace kwire::client::detail::crypto

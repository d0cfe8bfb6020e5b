// The mbedTLS side of tls_mbedtls.hpp: the context (CAs, client certificate and key), the engine's
// steps and BIO callbacks, host-name and IP-address verification, and the error category.
#include "net/tls_mbedtls.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/cipher.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "net/crypto.hpp"
#include "kwire/client/error.hpp"

namespace kwire::client::detail::mbed {

namespace {

class tls_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "kwire.tls"; }
    std::string message(int code) const override {
        if (code > 0) return verify_message(static_cast<std::uint32_t>(code));
        switch (code) {
            case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED:
                return "certificate verify failed: no trusted CA certificate was loaded";
            case MBEDTLS_ERR_SSL_INVALID_RECORD: return "not a TLS record (is the peer speaking TLS?)";
            case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: return "the peer sent a fatal TLS alert";
            case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY: return "the peer closed the TLS session";
            case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
                return "no TLS version in common (this build speaks TLS 1.2 only)";
            case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN: return "no TLS cipher suite in common";
            case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE: return "the peer's certificate could not be parsed";
            case MBEDTLS_ERR_SSL_INVALID_MAC: return "TLS record authentication failed";
            default: break;
        }
        char text[64];
        std::snprintf(text, sizeof text, "TLS error (mbedTLS -0x%04X)", static_cast<unsigned>(-code));
        return text;
    }

private:
    static std::string verify_message(std::uint32_t flags) {
        struct reason {
            std::uint32_t flag;
            const char* text;
        };
        static constexpr reason reasons[] = {
            {MBEDTLS_X509_BADCERT_NOT_TRUSTED, "not signed by a trusted CA"},
            {MBEDTLS_X509_BADCERT_CN_MISMATCH, "the certificate does not name the host"},
            {MBEDTLS_X509_BADCERT_EXPIRED, "expired"},
            {MBEDTLS_X509_BADCERT_FUTURE, "not yet valid"},
            {MBEDTLS_X509_BADCERT_REVOKED, "revoked"},
            {MBEDTLS_X509_BADCERT_KEY_USAGE, "key usage does not allow TLS"},
            {MBEDTLS_X509_BADCERT_EXT_KEY_USAGE, "extended key usage does not allow TLS server use"},
            {MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY,
             "a hash or key type not accepted"},
        };
        std::string out = "certificate verify failed";
        const char* sep = ": ";
        for (const auto& r : reasons)
            if (flags & r.flag) {
                out.append(sep).append(r.text);
                sep = ", ";
            }
        return out;
    }
};

std::error_code tls_error(int mbedtls_code) { return {mbedtls_code, tls_category()}; }

/// True if something was parsed into `chain` (mbedTLS leaves version 0 in an empty one).
bool loaded(const mbedtls_x509_crt& chain) noexcept { return chain.version != 0; }

/// A file or a directory of PEM (or DER) certificates into `chain`. Files in a directory that are
/// not certificates are skipped, as OpenSSL's lookup skips them; a file must hold at least one.
bool load_ca_location(mbedtls_x509_crt& chain, const std::string& location) {
    std::error_code fs_ec;
    if (std::filesystem::is_directory(location, fs_ec)) return mbedtls_x509_crt_parse_path(&chain, location.c_str()) >= 0;
    return mbedtls_x509_crt_parse_file(&chain, location.c_str()) >= 0 && loaded(chain);
}

std::string read_file(const std::string& path, bool& ok) {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ok = static_cast<bool>(in) || in.eof();
    return text;
}

/// PKCS#8 EncryptedPrivateKeyInfo with PBES2 (PBKDF2 and AES-CBC), what OpenSSL 3 writes by
/// default (`openssl pkey -aes256`): mbedTLS 2.28 decrypts PBES2 with DES only. Decrypts the
/// first such PEM block of `pem` and parses the key in it.
int parse_pbes2_aes_key(mbedtls_pk_context& key, const std::string& pem, const std::string& password) {
    mbedtls_pem_context block;
    mbedtls_pem_init(&block);
    std::size_t used = 0;
    int r = mbedtls_pem_read_buffer(&block, "-----BEGIN ENCRYPTED PRIVATE KEY-----", "-----END ENCRYPTED PRIVATE KEY-----",
                                    reinterpret_cast<const unsigned char*>(pem.c_str()), nullptr, 0, &used);
    std::vector<unsigned char> plain;
    std::array<unsigned char, 32> aes_key{};
    mbedtls_cipher_context_t cipher;
    mbedtls_cipher_init(&cipher);
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    const auto fail = [](int code) { return code != 0 ? code : MBEDTLS_ERR_PK_KEY_INVALID_FORMAT; };
    [&] {
        if (r != 0) return;
        // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING }
        unsigned char* p = block.buf;
        const unsigned char* end = p + block.buflen;
        std::size_t len = 0;
        mbedtls_asn1_buf alg{}, params{}, kdf{}, kdf_params{}, enc{}, enc_params{};
        if ((r = mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) != 0) return;
        end = p + len;
        if ((r = mbedtls_asn1_get_alg(&p, end, &alg, &params)) != 0) return;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBES2, &alg) != 0 ||
            params.tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
            return void(r = MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE);
        // PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
        unsigned char* q = params.p;
        const unsigned char* q_end = q + params.len;
        if ((r = mbedtls_asn1_get_alg(&q, q_end, &kdf, &kdf_params)) != 0) return;
        if ((r = mbedtls_asn1_get_alg(&q, q_end, &enc, &enc_params)) != 0) return;
        mbedtls_cipher_type_t type = MBEDTLS_CIPHER_NONE;
        std::size_t key_len = 0;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AES "\x02", &enc) == 0) type = MBEDTLS_CIPHER_AES_128_CBC, key_len = 16;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AES "\x16", &enc) == 0) type = MBEDTLS_CIPHER_AES_192_CBC, key_len = 24;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_AES "\x2a", &enc) == 0) type = MBEDTLS_CIPHER_AES_256_CBC, key_len = 32;
        if (type == MBEDTLS_CIPHER_NONE || MBEDTLS_OID_CMP(MBEDTLS_OID_PKCS5_PBKDF2, &kdf) != 0 ||
            enc_params.tag != MBEDTLS_ASN1_OCTET_STRING || enc_params.len != 16 ||
            kdf_params.tag != (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
            return void(r = MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE);
        // PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER,
        //                              keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
        unsigned char* k = kdf_params.p;
        const unsigned char* k_end = k + kdf_params.len;
        std::size_t salt_len = 0;
        int iterations = 0;
        if ((r = mbedtls_asn1_get_tag(&k, k_end, &salt_len, MBEDTLS_ASN1_OCTET_STRING)) != 0) return;
        const unsigned char* salt = k;
        k += salt_len;
        if ((r = mbedtls_asn1_get_int(&k, k_end, &iterations)) != 0) return;
        if (k < k_end && *k == MBEDTLS_ASN1_INTEGER) {
            int declared = 0;
            if ((r = mbedtls_asn1_get_int(&k, k_end, &declared)) != 0) return;
            if (static_cast<std::size_t>(declared) != key_len) return void(r = MBEDTLS_ERR_PK_KEY_INVALID_FORMAT);
        }
        mbedtls_md_type_t prf = MBEDTLS_MD_SHA1;
        if (k < k_end) {
            mbedtls_asn1_buf prf_oid{}, prf_params{};
            if ((r = mbedtls_asn1_get_alg(&k, k_end, &prf_oid, &prf_params)) != 0) return;
            if ((r = mbedtls_oid_get_md_hmac(&prf_oid, &prf)) != 0) return;
        }
        if (iterations <= 0) return void(r = MBEDTLS_ERR_PK_KEY_INVALID_FORMAT);
        if ((r = mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING)) != 0) return;
        plain.resize(len + 16);
        std::size_t plain_len = 0;
        if ((r = mbedtls_md_setup(&md, mbedtls_md_info_from_type(prf), 1)) != 0 ||
            (r = mbedtls_pkcs5_pbkdf2_hmac(&md, reinterpret_cast<const unsigned char*>(password.data()),
                                           password.size(), salt, salt_len, static_cast<unsigned>(iterations),
                                           static_cast<std::uint32_t>(key_len), aes_key.data())) != 0 ||
            (r = mbedtls_cipher_setup(&cipher, mbedtls_cipher_info_from_type(type))) != 0 ||
            (r = mbedtls_cipher_setkey(&cipher, aes_key.data(), static_cast<int>(key_len * 8), MBEDTLS_DECRYPT)) != 0 ||
            (r = mbedtls_cipher_set_padding_mode(&cipher, MBEDTLS_PADDING_PKCS7)) != 0 ||
            (r = mbedtls_cipher_crypt(&cipher, enc_params.p, enc_params.len, p, len, plain.data(), &plain_len)) != 0)
            return;  // a wrong password mostly ends here, as bad padding
        // A wrong password that happens to leave valid padding fails to parse as a key.
        r = mbedtls_pk_parse_key(&key, plain.data(), plain_len, nullptr, 0);
    }();
    mbedtls_platform_zeroize(aes_key.data(), aes_key.size());
    if (!plain.empty()) mbedtls_platform_zeroize(plain.data(), plain.size());
    mbedtls_cipher_free(&cipher);
    mbedtls_md_free(&md);
    mbedtls_pem_free(&block);
    return r == 0 ? 0 : fail(r);
}

/// The client's private key: PEM or DER, plain or encrypted with `password`.
bool load_key(mbedtls_pk_context& key, const std::string& path, const std::string& password) {
    const int r = mbedtls_pk_parse_keyfile(&key, path.c_str(), password.empty() ? nullptr : password.c_str());
    if (r == 0) return true;
    if (password.empty() || (r != MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE && r != MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE))
        return false;
    bool ok = false;
    std::string pem = read_file(path, ok);
    mbedtls_pk_free(&key);
    mbedtls_pk_init(&key);
    const bool parsed = ok && parse_pbes2_aes_key(key, pem, password) == 0;
    crypto::cleanse(pem.data(), pem.size());
    return parsed;
}

/// Whether the certificate's subjectAltName holds `ip` as an iPAddress (RFC 5280 §4.2.1.6):
/// mbedTLS 2.28 lists only the DNS names, so the extension is read here.
bool names_ip(const mbedtls_x509_crt& crt, const unsigned char* ip, std::size_t ip_len) {
    unsigned char* p = crt.v3_ext.p;
    if (p == nullptr) return false;
    const unsigned char* end = p + crt.v3_ext.len;
    std::size_t len = 0;
    // Extensions ::= SEQUENCE OF Extension; Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) return false;
    end = p + len;
    while (p < end) {
        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) return false;
        const unsigned char* ext_end = p + len;
        mbedtls_asn1_buf oid{};
        oid.tag = MBEDTLS_ASN1_OID;
        if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID) != 0) return false;
        oid.p = p;
        p += oid.len;
        int critical = 0;
        if (p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN && mbedtls_asn1_get_bool(&p, ext_end, &critical) != 0) return false;
        if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0) return false;
        if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) == 0) {
            // GeneralNames ::= SEQUENCE OF GeneralName; iPAddress is [7] IMPLICIT OCTET STRING
            const unsigned char* names_end = p + len;
            if (mbedtls_asn1_get_tag(&p, names_end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
                return false;
            while (p < names_end) {
                const unsigned char tag = *p++;
                if (mbedtls_asn1_get_len(&p, names_end, &len) != 0) return false;
                if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == ip_len && std::memcmp(p, ip, ip_len) == 0)
                    return true;
                p += len;
            }
            return false;
        }
        p = const_cast<unsigned char*>(ext_end);
    }
    return false;
}

}  // namespace

const std::error_category& tls_category() noexcept {
    static const tls_error_category category;
    return category;
}

class tls_context {
public:
    tls_context() {
        mbedtls_ssl_config_init(&config);
        mbedtls_x509_crt_init(&ca);
        mbedtls_x509_crt_init(&own_chain);
        mbedtls_pk_init(&own_key);
    }
    ~tls_context() {
        mbedtls_ssl_config_free(&config);
        mbedtls_x509_crt_free(&ca);
        mbedtls_x509_crt_free(&own_chain);
        mbedtls_pk_free(&own_key);
    }
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    mbedtls_ssl_config config;
    mbedtls_x509_crt ca;
    mbedtls_x509_crt own_chain;
    mbedtls_pk_context own_key;
};

std::shared_ptr<tls_context> make_tls_context(const tls_config& t, std::error_code& ec) {
    auto ctx = std::make_shared<tls_context>();
    bool ok = mbedtls_ssl_config_defaults(&ctx->config, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT) == 0;
    // TLS 1.2, the only version both mbedTLS 2.28 and kwire's minimum allow.
    mbedtls_ssl_conf_min_version(&ctx->config, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&ctx->config, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_authmode(&ctx->config, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_rng(&ctx->config, crypto::mbedtls_random, nullptr);

    // CAs: PEM text and a location both count; neither: the system store (Debian's bundle, or
    // its hashed directory).
    if (ok && !t.ca_pem.empty())
        ok = mbedtls_x509_crt_parse(&ctx->ca, reinterpret_cast<const unsigned char*>(t.ca_pem.c_str()),
                                    t.ca_pem.size() + 1) >= 0 &&
             loaded(ctx->ca);
    if (ok && !t.ca_location.empty()) ok = load_ca_location(ctx->ca, t.ca_location);
    if (ok && t.ca_pem.empty() && t.ca_location.empty() &&
        !load_ca_location(ctx->ca, "/etc/ssl/certs/ca-certificates.crt"))
        (void)load_ca_location(ctx->ca, "/etc/ssl/certs");
    // No CA at all: the handshake fails with "certificate verify failed: no trusted CA ...".
    if (loaded(ctx->ca)) mbedtls_ssl_conf_ca_chain(&ctx->config, &ctx->ca, nullptr);

    // Mutual TLS: both the certificate (chain) and its key, and they must match.
    if (ok && (!t.certificate_location.empty() || !t.key_location.empty())) {
        ok = !t.certificate_location.empty() && !t.key_location.empty() &&
             mbedtls_x509_crt_parse_file(&ctx->own_chain, t.certificate_location.c_str()) == 0 &&
             load_key(ctx->own_key, t.key_location, t.key_password) &&
             mbedtls_pk_check_pair(&ctx->own_chain.pk, &ctx->own_key) == 0 &&
             mbedtls_ssl_conf_own_cert(&ctx->config, &ctx->own_chain, &ctx->own_key) == 0;
    }
    if (!ok) {
        ec = make_error_code(client_errc::tls_setup_failed);
        return nullptr;
    }
    return ctx;
}

std::error_code classify_handshake_error(const std::error_code& ec) {
    // A plaintext listener closes on the ClientHello (a Kafka broker reads its first bytes as a
    // ~350 MB length) or answers with bytes that are no TLS record.
    if (ec == std::error_code(boost::system::error_code(net::error::eof)) ||
        ec == std::error_code(boost::system::error_code(net::error::connection_reset)) ||
        ec == tls_error(MBEDTLS_ERR_SSL_INVALID_RECORD) || ec == tls_error(MBEDTLS_ERR_SSL_CONN_EOF))
        return make_error_code(client_errc::plaintext_on_tls);
    return ec;
}

// --- the engine ------------------------------------------------------------------------------

struct tls_engine::session {
    mbedtls_ssl_context ssl;
    bool verify_hostname = true;
    std::array<unsigned char, 16> ip{};  // the host when it is an address (4 or 16 bytes), else empty
    std::size_t ip_len = 0;
    int setup_error = 0;

    session() { mbedtls_ssl_init(&ssl); }
    ~session() { mbedtls_ssl_free(&ssl); }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    /// Called for each certificate of the verified chain; adjusts the leaf's name check.
    static int verify(void* self, mbedtls_x509_crt* crt, int depth, std::uint32_t* flags) {
        const auto& s = *static_cast<const session*>(self);
        if (depth != 0) return 0;
        if (!s.verify_hostname) *flags &= ~static_cast<std::uint32_t>(MBEDTLS_X509_BADCERT_CN_MISMATCH);
        else if (s.ip_len > 0 && !names_ip(*crt, s.ip.data(), s.ip_len)) *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
        return 0;
    }
};

namespace {
// The socket's bytes wait here for mbedTLS; the records it writes wait here for the socket. The
// output holds a whole record (16 KB and its overhead) with room left for the few bytes a read
// may queue (an alert) while a write's record is being sent.
constexpr std::size_t input_capacity = 16 * 1024;
constexpr std::size_t output_capacity = 24 * 1024;
}  // namespace

tls_engine::tls_engine(std::shared_ptr<tls_context> ctx, const std::string& host, bool verify_hostname)
    : ctx_(std::move(ctx)), session_(std::make_unique<session>()), in_(input_capacity), out_(output_capacity) {
    session& s = *session_;
    s.verify_hostname = verify_hostname;
    boost::system::error_code parse_error;
    const auto address = net::ip::make_address(host, parse_error);
    if (!parse_error && address.is_v4()) {
        const auto b = address.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), s.ip.begin());
        s.ip_len = b.size();
    } else if (!parse_error) {
        const auto b = address.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), s.ip.begin());
        s.ip_len = b.size();
    }
    s.setup_error = mbedtls_ssl_setup(&s.ssl, &ctx_->config);
    // A host name is sent as SNI and, unless the check is off, must be named by the certificate
    // (mbedTLS: a DNS subjectAltName, or the CN without any; wildcards only as a whole first
    // label). An address is not sent (RFC 6066) and is checked in session::verify.
    if (s.setup_error == 0 && s.ip_len == 0) s.setup_error = mbedtls_ssl_set_hostname(&s.ssl, host.c_str());
    mbedtls_ssl_set_verify(&s.ssl, &session::verify, &s);
    mbedtls_ssl_set_bio(&s.ssl, this, &tls_engine::on_send, &tls_engine::on_recv, nullptr);
}

tls_engine::~tls_engine() = default;

int tls_engine::on_send(void* self, const unsigned char* data, std::size_t n) {
    auto& e = *static_cast<tls_engine*>(self);
    const std::size_t room = e.out_.size() - e.out_size_;
    if (room == 0) return MBEDTLS_ERR_SSL_WANT_WRITE;
    const std::size_t take = std::min(n, room);
    std::memcpy(e.out_.data() + e.out_size_, data, take);
    e.out_size_ += take;
    return static_cast<int>(take);
}

int tls_engine::on_recv(void* self, unsigned char* data, std::size_t n) {
    auto& e = *static_cast<tls_engine*>(self);
    const std::size_t have = e.in_end_ - e.in_pos_;
    if (have == 0) return MBEDTLS_ERR_SSL_WANT_READ;
    const std::size_t take = std::min(n, have);
    std::memcpy(data, e.in_.data() + e.in_pos_, take);
    e.in_pos_ += take;
    return static_cast<int>(take);
}

net::mutable_buffer tls_engine::input_space() noexcept {
    // mbedTLS asks for more only once it has taken everything here, so this is normally empty;
    // if not, what is left moves to the front rather than the space running out.
    if (in_pos_ > 0) {
        std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
        in_end_ -= in_pos_;
        in_pos_ = 0;
    }
    return {in_.data() + in_end_, in_.size() - in_end_};
}

void tls_engine::input_received(std::size_t n) noexcept { in_end_ += n; }

void tls_engine::output_sent(std::size_t n) noexcept {
    // Whatever a read queued while these bytes were on their way moves to the front.
    std::memmove(out_.data(), out_.data() + n, out_size_ - n);
    out_size_ -= n;
}

tls_engine::step tls_engine::finish(int r, bool handshaking) {
    if (r == MBEDTLS_ERR_SSL_WANT_READ) return {want::input, 0, {}};
    if (r == MBEDTLS_ERR_SSL_WANT_WRITE) return {want::output, 0, {}};
    if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && handshaking) {
        const std::uint32_t flags = mbedtls_ssl_get_verify_result(&session_->ssl);
        if (flags != 0 && flags <= static_cast<std::uint32_t>(INT32_MAX))
            return {want::nothing, 0, std::error_code(static_cast<int>(flags), tls_category())};
    }
    return {want::nothing, 0, tls_error(r)};
}

tls_engine::step tls_engine::handshake() {
    if (session_->setup_error != 0) return {want::nothing, 0, tls_error(session_->setup_error)};
    const int r = mbedtls_ssl_handshake(&session_->ssl);
    if (r == 0) return {};
    return finish(r, true);
}

tls_engine::step tls_engine::read(net::mutable_buffer b) {
    const int r = mbedtls_ssl_read(&session_->ssl, static_cast<unsigned char*>(b.data()), b.size());
    if (r > 0) return {want::nothing, static_cast<std::size_t>(r), {}};
    // The peer's close_notify, or the socket closed under it: either way the stream ended.
    if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF)
        return {want::nothing, 0, boost::system::error_code(net::error::eof)};
    return finish(r, false);
}

tls_engine::step tls_engine::write(net::const_buffer b) {
    const int r = mbedtls_ssl_write(&session_->ssl, static_cast<const unsigned char*>(b.data()),
                                    std::min(b.size(), max_record_payload));
    if (r >= 0) return {want::nothing, static_cast<std::size_t>(r), {}};
    return finish(r, false);
}

}  // namespace kwire::client::detail::mbed

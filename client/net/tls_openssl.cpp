// The OpenSSL side of tls_openssl.hpp: building the client context from tls_config, and telling
// a handshake that met a plaintext listener from other TLS failures.
#include "net/tls_openssl.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <filesystem>

#include "kwire/client/error.hpp"

namespace kwire::client::detail::ossl {

namespace net = boost::asio;

/// The TLS client context for a connection: TLS 1.2 at least, the broker's chain verified against
/// the configured CAs (or the system store), an optional client certificate (mutual TLS).
std::shared_ptr<ssl::context> make_tls_context(const tls_config& t, std::error_code& ec) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    boost::system::error_code e;
    if (!t.ca_pem.empty()) ctx->add_certificate_authority(net::buffer(t.ca_pem), e);
    if (!e && !t.ca_location.empty()) {
        std::error_code fs_ec;
        if (std::filesystem::is_directory(t.ca_location, fs_ec)) ctx->add_verify_path(t.ca_location, e);
        else ctx->load_verify_file(t.ca_location, e);
    }
    if (!e && t.ca_pem.empty() && t.ca_location.empty()) ctx->set_default_verify_paths(e);
    if (!e && !t.key_password.empty())
        ctx->set_password_callback([pw = t.key_password](std::size_t, ssl::context::password_purpose) { return pw; },
                                   e);
    if (!e && !t.certificate_location.empty()) ctx->use_certificate_chain_file(t.certificate_location, e);
    if (!e && !t.key_location.empty()) ctx->use_private_key_file(t.key_location, ssl::context::pem, e);
    if (!e && !t.key_location.empty() && SSL_CTX_check_private_key(ctx->native_handle()) != 1)
        e = boost::system::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
    if (e) {
        ec = make_error_code(client_errc::tls_setup_failed);
        return nullptr;
    }
    ctx->set_verify_mode(ssl::verify_peer);
    return ctx;
}

/// A TLS handshake that fails because the other side does not speak TLS (a plaintext listener
/// closes on the ClientHello, whose first bytes it reads as a ~350 MB length, or answers in
/// plaintext) says so, instead of a generic SSL error.
std::error_code classify_tls_error(const boost::system::error_code& ec) {
    if (ec == net::error::eof || ec == ssl::error::stream_truncated || ec == net::error::connection_reset)
        return make_error_code(client_errc::plaintext_on_tls);
    if (ec.category() == net::error::get_ssl_category()) {
        const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
        if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
            reason == SSL_R_UNKNOWN_PROTOCOL)
            return make_error_code(client_errc::plaintext_on_tls);
    }
    return ec;
}

}  // namespace kwire::client::detail::ossl

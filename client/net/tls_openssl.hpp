// TLS on OpenSSL (KWIRE_TLS_BACKEND=openssl, the default) for broker_connection's transport: the
// client context (TLS 1.2 at least, the CAs, an optional client certificate) and what a failed
// handshake means. The stream is Asio's ssl::stream; host-name checks are set per connection in
// broker_connection.cpp. tls_mbedtls.hpp is the mbedTLS counterpart.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <system_error>

#include "kwire/client/config.hpp"

namespace kwire::client::detail::ossl {

namespace ssl = boost::asio::ssl;

/// The TLS client context for a connection; on failure null, with `ec` set to tls_setup_failed.
std::shared_ptr<ssl::context> make_tls_context(const tls_config& t, std::error_code& ec);

/// A handshake error, as plaintext_on_tls when the other side does not speak TLS.
std::error_code classify_tls_error(const boost::system::error_code& ec);

}  // namespace kwire::client::detail::ossl

// The one translation unit that compiles Boost.Asio's implementation (BOOST_ASIO_SEPARATE_COMPILATION
// is set for every user of kwire::client), so the rest of the build only sees declarations.
#include <boost/asio/impl/src.hpp>
#ifndef KWIRE_WITH_TLS
#define KWIRE_WITH_TLS 1
#endif
#ifndef KWIRE_TLS_MBEDTLS
#define KWIRE_TLS_MBEDTLS 0
#endif
#if KWIRE_WITH_TLS && !KWIRE_TLS_MBEDTLS  // Asio's ssl::stream is OpenSSL's
#include <boost/asio/ssl/impl/src.hpp>
#endif

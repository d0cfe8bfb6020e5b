// The one translation unit that compiles Boost.Asio's implementation (BOOST_ASIO_SEPARATE_COMPILATION
// is set for every user of kwire::client), so the rest of the build only sees declarations.
#include <boost/asio/impl/src.hpp>
#ifndef KWIRE_WITH_TLS
#define KWIRE_WITH_TLS 1
#endif
#if KWIRE_WITH_TLS
#include <boost/asio/ssl/impl/src.hpp>
#endif

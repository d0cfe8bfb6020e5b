# Third-party libraries, all from Debian packages (scripts/deps.sh installs them).
# A codec switched off (KWIRE_WITH_*) is not looked for, unless the tests need its library.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED)
find_package(PkgConfig REQUIRED)
if(KWIRE_WITH_ZLIB OR KWIRE_BUILD_TESTS)
  find_package(ZLIB REQUIRED)
endif()
if(KWIRE_WITH_ZSTD OR KWIRE_BUILD_TESTS)
  pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
endif()
if(KWIRE_WITH_LZ4 OR KWIRE_BUILD_TESTS)
  pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
endif()
if(KWIRE_WITH_SNAPPY OR KWIRE_BUILD_TESTS)
  pkg_check_modules(SNAPPY REQUIRED IMPORTED_TARGET snappy)
endif()
# TLS (security.protocol=ssl, sasl_ssl); SCRAM's hashes, PBKDF2 and nonces; wiping secrets:
# OpenSSL, or mbedTLS (cmake/FindMbedTLS.cmake) with KWIRE_TLS_BACKEND=mbedtls.
if(KWIRE_TLS_BACKEND STREQUAL "mbedtls")
  find_package(MbedTLS 2.28 REQUIRED)
else()
  find_package(OpenSSL REQUIRED)
endif()
# Broker names resolved without blocking and without glibc's NSS (static binaries, empty containers).
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares)
# SASLprep (RFC 4013) for SCRAM credentials that are not ASCII: libidn's stringprep profiles.
pkg_check_modules(LIBIDN REQUIRED IMPORTED_TARGET libidn)

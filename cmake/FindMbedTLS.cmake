# Finds mbedTLS 2.28 (Debian's libmbedtls-dev ships neither a CMake package nor pkg-config files)
# and defines the imported targets
#   MbedTLS::mbedcrypto   hashes, HMAC, PBKDF2, CTR_DRBG, ciphers, public keys
#   MbedTLS::mbedx509     certificates (links mbedcrypto)
#   MbedTLS::mbedtls      the TLS protocol (links mbedx509)
# Static or shared as CMAKE_FIND_LIBRARY_SUFFIXES says (kwire's static builds set it to .a).
# Installed with kwire's CMake package, for the find_package(kwire) of a libkwire.a built on it.
find_path(MbedTLS_INCLUDE_DIR mbedtls/ssl.h)
find_library(MbedTLS_CRYPTO_LIBRARY mbedcrypto)
find_library(MbedTLS_X509_LIBRARY mbedx509)
find_library(MbedTLS_TLS_LIBRARY mbedtls)
if(MbedTLS_INCLUDE_DIR AND EXISTS ${MbedTLS_INCLUDE_DIR}/mbedtls/version.h)
  file(STRINGS ${MbedTLS_INCLUDE_DIR}/mbedtls/version.h version_line
       REGEX "^#define[ \t]+MBEDTLS_VERSION_STRING[ \t]+\"[0-9.]+\"")
  if(version_line MATCHES "\"([0-9.]+)\"")
    set(MbedTLS_VERSION ${CMAKE_MATCH_1})
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(MbedTLS
  REQUIRED_VARS MbedTLS_TLS_LIBRARY MbedTLS_X509_LIBRARY MbedTLS_CRYPTO_LIBRARY MbedTLS_INCLUDE_DIR
  VERSION_VAR MbedTLS_VERSION)
mark_as_advanced(MbedTLS_INCLUDE_DIR MbedTLS_CRYPTO_LIBRARY MbedTLS_X509_LIBRARY MbedTLS_TLS_LIBRARY)

if(MbedTLS_FOUND AND NOT TARGET MbedTLS::mbedcrypto)
  add_library(MbedTLS::mbedcrypto UNKNOWN IMPORTED)
  set_target_properties(MbedTLS::mbedcrypto PROPERTIES IMPORTED_LOCATION ${MbedTLS_CRYPTO_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${MbedTLS_INCLUDE_DIR})
  add_library(MbedTLS::mbedx509 UNKNOWN IMPORTED)
  set_target_properties(MbedTLS::mbedx509 PROPERTIES IMPORTED_LOCATION ${MbedTLS_X509_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${MbedTLS_INCLUDE_DIR}
                        INTERFACE_LINK_LIBRARIES MbedTLS::mbedcrypto)
  add_library(MbedTLS::mbedtls UNKNOWN IMPORTED)
  set_target_properties(MbedTLS::mbedtls PROPERTIES IMPORTED_LOCATION ${MbedTLS_TLS_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${MbedTLS_INCLUDE_DIR}
                        INTERFACE_LINK_LIBRARIES MbedTLS::mbedx509)
endif()

# What `cmake --install` puts under the prefix:
#   include/kwire/...                    the public headers of every room (and the generated ones)
#   lib/libkwire.a                       every room in one archive
#   lib/libkwire.so*                     the same as a shared library (KWIRE_BUILD_SHARED)
#   lib/cmake/kwire/                     find_package(kwire CONFIG): kwire::kwire, and
#                                        kwire::kwire_static / kwire::kwire_shared explicitly
#   lib/pkgconfig/kwire.pc               pkg-config: Cflags, Libs, and for --static the rest
#   bin/kwire                            the command line (KWIRE_BUILD_TOOLS)
#
# The rooms stay separate static libraries inside the build (the tests link the room they test);
# libkwire.a and libkwire.so are made from the rooms' object files, so nothing compiles twice.
#
# The third-party libraries a room links are found here from the rooms' own link lists: a new
# dependency of a room shows up by itself, and needs only its row in kwire_dependency_rows below
# (its pkg-config module and how the installed package finds it).
set(KWIRE_ROOMS kwire_protocol kwire_codec kwire_client kwire_admin)
foreach(room ${KWIRE_ROOMS})
  target_compile_features(${room} PUBLIC cxx_std_20)
endforeach()

if(NOT KWIRE_INSTALL)
  return()
endif()

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# target | pkg-config module (Requires.private), or -l flags (Libs.private) | how the installed
# config finds it: "package ARGS" (find_package) or "pkg PREFIX MODULE" (pkg_check_modules, for
# targets named PkgConfig::PREFIX).
set(kwire_dependency_rows
  "Boost::headers||package Boost 1.81"
  "Boost::boost||package Boost 1.81"
  "Threads::Threads|-pthread|package Threads"
  "ZLIB::ZLIB|zlib|package ZLIB"
  "PkgConfig::ZSTD|libzstd|pkg ZSTD libzstd"
  "PkgConfig::LZ4|liblz4|pkg LZ4 liblz4"
  "PkgConfig::SNAPPY|snappy|pkg SNAPPY snappy"
  "OpenSSL::SSL|libssl|package OpenSSL"
  "OpenSSL::Crypto|libcrypto|package OpenSSL"
  "MbedTLS::mbedtls|-lmbedtls|package MbedTLS 2.28"
  "MbedTLS::mbedx509|-lmbedx509|package MbedTLS 2.28"
  "MbedTLS::mbedcrypto|-lmbedcrypto|package MbedTLS 2.28"
  "PkgConfig::CARES|libcares|pkg CARES libcares"
  "PkgConfig::LIBCARES|libcares|pkg LIBCARES libcares"
  "PkgConfig::C_ARES|libcares|pkg C_ARES libcares"
  "PkgConfig::LIBIDN|libidn|pkg LIBIDN libidn"
  "c-ares::cares|libcares|package c-ares"
  "c-ares::cares_static|libcares|package c-ares"
  "c-ares::cares_shared|libcares|package c-ares")

# The rooms' link lists, split into what consumers of the headers need (PUBLIC) and what only
# the static archive needs at link time (PRIVATE, which CMake records as $<LINK_ONLY:...>).
# kwire's own targets (the rooms, kwire::options) are left out: they are all inside libkwire.
set(kwire_public_deps)
set(kwire_private_deps)
set(kwire_public_definitions)
foreach(room ${KWIRE_ROOMS})
  get_target_property(links ${room} INTERFACE_LINK_LIBRARIES)
  foreach(item ${links})
    set(private FALSE)
    if(item MATCHES "^\\$<LINK_ONLY:(.+)>$")
      set(item ${CMAKE_MATCH_1})
      set(private TRUE)
    endif()
    if(item MATCHES "^kwire[_:]" OR item STREQUAL "")
      continue()
    endif()
    if(private)
      list(APPEND kwire_private_deps ${item})
    else()
      list(APPEND kwire_public_deps ${item})
    endif()
  endforeach()
  get_target_property(definitions ${room} INTERFACE_COMPILE_DEFINITIONS)
  if(definitions)
    list(APPEND kwire_public_definitions ${definitions})
  endif()
endforeach()
list(REMOVE_DUPLICATES kwire_public_deps)
list(REMOVE_DUPLICATES kwire_private_deps)
list(REMOVE_ITEM kwire_private_deps ${kwire_public_deps})
list(REMOVE_DUPLICATES kwire_public_definitions)

# For each dependency: its pkg-config entry and the installed config's find call.
set(kwire_pc_requires_private)
set(kwire_pc_libs_private)
set(kwire_config_find_public)
set(kwire_config_find_private)
foreach(dep ${kwire_public_deps} ${kwire_private_deps})
  set(found FALSE)
  foreach(row ${kwire_dependency_rows})
    string(REPLACE "|" ";" fields "${row}")
    list(GET fields 0 target)
    if(NOT target STREQUAL dep)
      continue()
    endif()
    list(GET fields 1 pc)
    list(GET fields 2 how)
    string(REPLACE " " ";" how "${how}")
    list(POP_FRONT how kind)
    list(JOIN how " " args)
    set(found TRUE)
    if(pc MATCHES "^-")
      list(APPEND kwire_pc_libs_private ${pc})
    elseif(pc)
      list(APPEND kwire_pc_requires_private ${pc})
    endif()
    # Public: the headers need it, so finding the package fails without it. Private: only
    # libkwire.a needs it, which the config checks once it knows which library is wanted.
    if(dep IN_LIST kwire_public_deps AND kind STREQUAL "package")
      list(APPEND kwire_config_find_public "find_dependency(${args})")
    elseif(dep IN_LIST kwire_public_deps)
      list(APPEND kwire_config_find_public "kwire_find_pkg(${args})\nkwire_require_found()")
    elseif(kind STREQUAL "package")
      list(APPEND kwire_config_find_private "kwire_find_package(${args})")
    else()
      list(APPEND kwire_config_find_private "kwire_find_pkg(${args})")
    endif()
  endforeach()
  if(NOT found)
    message(FATAL_ERROR "kwire links ${dep}, which the installed package does not know how to find: "
                        "add its row to kwire_dependency_rows in cmake/KwirePackage.cmake")
  endif()
endforeach()
foreach(v kwire_pc_requires_private kwire_pc_libs_private kwire_config_find_public kwire_config_find_private)
  list(REMOVE_DUPLICATES ${v})
endforeach()
list(REMOVE_ITEM kwire_config_find_private ${kwire_config_find_public})

# libkwire.a and libkwire.so, from the rooms' objects.
set(kwire_objects)
foreach(room ${KWIRE_ROOMS})
  list(APPEND kwire_objects $<TARGET_OBJECTS:${room}>)
endforeach()

function(kwire_packaged_library target type)
  add_library(${target} ${type} ${kwire_objects})
  add_library(kwire::${target} ALIAS ${target})
  set_target_properties(${target} PROPERTIES OUTPUT_NAME kwire EXPORT_NAME ${target})
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_definitions(${target} PUBLIC ${kwire_public_definitions})
  target_include_directories(${target} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  foreach(room ${KWIRE_ROOMS})
    get_target_property(dirs ${room} INTERFACE_INCLUDE_DIRECTORIES)
    list(FILTER dirs INCLUDE REGEX "^\\$<BUILD_INTERFACE:")
    target_include_directories(${target} PUBLIC ${dirs})
  endforeach()
  target_link_libraries(${target} PUBLIC ${kwire_public_deps} PRIVATE ${kwire_private_deps})
endfunction()

kwire_packaged_library(kwire_static STATIC)
set(kwire_install_targets kwire_static)
if(KWIRE_BUILD_SHARED)
  # Position-independent objects for the shared library; the archive and the executables in the
  # tree use the same objects. No semantic interposition: calls inside the library may be inlined
  # and bound directly, as they are in the static archive.
  set_target_properties(${KWIRE_ROOMS} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  foreach(room ${KWIRE_ROOMS})
    target_compile_options(${room} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-fno-semantic-interposition>)
  endforeach()
  kwire_packaged_library(kwire_shared SHARED)
  set_target_properties(kwire_shared PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  # The sanitizers' link flags (libkwire.so built in an ASan tree needs the runtime).
  if(KWIRE_SANITIZE)
    target_link_options(kwire_shared PRIVATE -fsanitize=${KWIRE_SANITIZE})
  endif()
  list(APPEND kwire_install_targets kwire_shared)
endif()

foreach(room ${KWIRE_ROOMS})
  get_target_property(dirs ${room} INTERFACE_INCLUDE_DIRECTORIES)
  foreach(dir ${dirs})
    if(dir MATCHES "^\\$<BUILD_INTERFACE:(.+)>$")
      install(DIRECTORY ${CMAKE_MATCH_1}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
              FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h" PATTERN "*.def")
    endif()
  endforeach()
endforeach()

install(TARGETS ${kwire_install_targets} EXPORT kwireTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(EXPORT kwireTargets NAMESPACE kwire:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kwire
        COMPONENT development)

list(JOIN kwire_config_find_public "\n" KWIRE_CONFIG_FIND_PUBLIC)
list(JOIN kwire_config_find_private "\n" KWIRE_CONFIG_FIND_PRIVATE)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/kwireConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/kwireConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kwire)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/kwireConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
# FindMbedTLS.cmake: Debian's mbedTLS 2.28 has no package of its own for the config to find.
install(FILES ${PROJECT_BINARY_DIR}/package/kwireConfig.cmake ${PROJECT_BINARY_DIR}/package/kwireConfigVersion.cmake
        ${CMAKE_CURRENT_LIST_DIR}/FindMbedTLS.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/kwire COMPONENT development)

# kwire.pc. The prefix is found from where the file is (${pcfiledir}), so an installed tree can be
# moved, or installed with `cmake --install --prefix` somewhere other than CMAKE_INSTALL_PREFIX.
file(RELATIVE_PATH KWIRE_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" KWIRE_PC_TO_PREFIX "${KWIRE_PC_TO_PREFIX}")
set(KWIRE_PC_CFLAGS)
foreach(d ${kwire_public_definitions})
  string(APPEND KWIRE_PC_CFLAGS " -D${d}")
endforeach()
list(JOIN kwire_pc_requires_private " " KWIRE_PC_REQUIRES_PRIVATE)
list(JOIN kwire_pc_libs_private " " KWIRE_PC_LIBS_PRIVATE)
configure_file(${CMAKE_CURRENT_LIST_DIR}/kwire.pc.in ${PROJECT_BINARY_DIR}/package/kwire.pc.in @ONLY)
# Definitions that are generator expressions, if a room ever has one, are evaluated here.
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/package/kwire.pc INPUT ${PROJECT_BINARY_DIR}/package/kwire.pc.in)
install(FILES ${PROJECT_BINARY_DIR}/package/kwire.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT development)

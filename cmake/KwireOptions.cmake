# Warning flags, sanitizers and static linking, applied through one interface target that every
# kwire target links privately.
add_library(kwire_options INTERFACE)
add_library(kwire::options ALIAS kwire_options)

target_compile_options(kwire_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wno-sign-conversion
  $<$<BOOL:${KWIRE_WERROR}>:-Werror>
  # GCC 12 reports a false -Wrestrict inside libstdc++ for `"literal" + std::to_string(n)`
  # (GCC bugs 105329/105651); it is a compiler bug, not a finding in our code.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)

if(KWIRE_SANITIZE)
  target_compile_options(kwire_options INTERFACE -fsanitize=${KWIRE_SANITIZE} -fno-omit-frame-pointer
                         -fno-sanitize-recover=all
                         # GCC's -Wmaybe-uninitialized misfires under sanitizer instrumentation
                         # (e.g. inside Boost.Asio's use_future); the Release build keeps it.
                         $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  target_link_options(kwire_options INTERFACE -fsanitize=${KWIRE_SANITIZE})
endif()

if(KWIRE_STATIC)
  set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
  set(BUILD_SHARED_LIBS OFF)
  target_link_options(kwire_options INTERFACE -static)
  # Size: every function and variable in a section of its own, so that the linker leaves out
  # what nothing calls (bench/RESULTS.md, "Static binary size").
  target_compile_options(kwire_options INTERFACE -ffunction-sections -fdata-sections)
  target_link_options(kwire_options INTERFACE -Wl,--gc-sections)
endif()

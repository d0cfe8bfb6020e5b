#!/usr/bin/env bash
# Installs a built kwire tree into a scratch prefix and builds a program against it, both ways an
# application would: find_package(kwire CONFIG) (libkwire.so and libkwire.a), and pkg-config on a
# plain compiler command line (libkwire.so, and a fully static link with --static). Runs each.
#
#   installed_package_test.sh BUILD_DIR WORK_DIR CONSUMER_SOURCE_DIR CXX [SANITIZERS]
#
# In a sanitizer build libkwire is instrumented, so the program is built with the same
# -fsanitize flags, and the fully static link is skipped (the sanitizers' runtimes are shared).
set -euo pipefail

build=$1 work=$2 source=$3 cxx=$4 sanitize=${5:-}
prefix=$work/prefix
rm -rf "$work"
mkdir -p "$work"

step() { echo "--- $*"; }
flags=()
[ -n "$sanitize" ] && flags=(-fsanitize="$sanitize" -fno-omit-frame-pointer)
launcher=()
command -v ccache >/dev/null && launcher=(ccache)

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/kwire/client/producer.hpp include/kwire/protocol/messages.hpp lib/libkwire.a \
         lib/cmake/kwire/kwireConfig.cmake lib/pkgconfig/kwire.pc; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f was not installed"; exit 1; }
done
shared=no
[ -e "$prefix/lib/libkwire.so" ] && shared=yes
echo "installed: headers, libkwire.a, libkwire.so: $shared, CMake package, kwire.pc"

run() {  # run NAME BINARY: runs it, checks what it prints
  local out
  out=$("$2") || { echo "FAIL: $1 exited with $?: $out"; exit 1; }
  echo "$1: $(tail -1 <<<"$out")"
  grep -q "kwire package consumer: ok" <<<"$out" || { echo "FAIL: $1 printed: $out"; exit 1; }
}

step "find_package(kwire CONFIG): configure and build $source"
cmake -S "$source" -B "$work/cmake-build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER=ccache} \
  -DCMAKE_CXX_FLAGS="${flags[*]}" -DCMAKE_EXE_LINKER_FLAGS="${flags[*]}" >"$work/cmake-configure.log" ||
  { cat "$work/cmake-configure.log"; exit 1; }
cmake --build "$work/cmake-build" >"$work/cmake-build.log" || { cat "$work/cmake-build.log"; exit 1; }
if [ "$shared" = yes ]; then
  grep -q "libkwire.so" <<<"$(ldd "$work/cmake-build/app")" || { echo "FAIL: app does not use libkwire.so"; exit 1; }
fi
if grep -q "libkwire" <<<"$(ldd "$work/cmake-build/app_static")"; then
  echo "FAIL: app_static links a shared libkwire"
  exit 1
fi
run "cmake kwire::kwire" "$work/cmake-build/app"
run "cmake kwire::kwire_static" "$work/cmake-build/app_static"

step "pkg-config: compile, link against libkwire.so, and fully static"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags kwire)
grep -q -- "-DBOOST_ASIO_SEPARATE_COMPILATION" <<<"$cflags" || { echo "FAIL: Cflags lack Asio's define: $cflags"; exit 1; }
"${launcher[@]}" "$cxx" -std=c++20 -O1 "${flags[@]}" $cflags -c "$source/main.cpp" -o "$work/main.o"
if [ "$shared" = yes ]; then
  "$cxx" "${flags[@]}" "$work/main.o" -o "$work/app_pc" $(pkg-config --libs kwire) -Wl,-rpath,"$prefix/lib"
  run "pkg-config --libs" "$work/app_pc"
fi
if [ -n "$sanitize" ]; then
  echo "pkg-config --static: skipped (sanitizer build: no fully static link)"
else
  # -static makes -lkwire pick libkwire.a; --static adds Requires.private and Libs.private.
  "$cxx" -static "$work/main.o" -o "$work/app_pc_static" $(pkg-config --static --libs kwire) 2>"$work/static-link.log" ||
    { cat "$work/static-link.log"; exit 1; }
  if ldd "$work/app_pc_static" >/dev/null 2>&1; then
    echo "FAIL: app_pc_static is a dynamic executable"
    exit 1
  fi
  run "pkg-config --static --libs, -static" "$work/app_pc_static"
fi
echo "installed package: ok"

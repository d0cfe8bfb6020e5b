#!/usr/bin/env bash
# Builds kwire's executables fully static (-DKWIRE_STATIC=ON, the `static` preset) into
# build-static/bin/: the `kwire` command line, the examples, and kwire-bench-kwire (the
# kwire side of kwire-bench, without librdkafka). Every third-party library is linked in from its
# Debian static archive (libzstd.a, liblz4.a, libsnappy.a, libz.a, libcares.a, libidn.a, and for
# TLS and SCRAM mbedTLS's libmbedtls.a, libmbedx509.a, libmbedcrypto.a); `ldd` says "not a
# dynamic executable" for each, which is checked.
#
# The static preset uses the mbedTLS backend (TLS 1.2 only), which keeps `kwire` under 6 MB;
# -DKWIRE_TLS_BACKEND=openssl links OpenSSL 3 instead (TLS 1.3 too, about 3.4 MB more).
#
#   scripts/build-static.sh                        everything above
#   scripts/build-static.sh --cli                  kwire and the examples only (what CI builds)
#   scripts/build-static.sh -DKWIRE_WITH_ZSTD=OFF  extra CMake options (e.g. a smaller build)
#   BUILD_DIR=build-static-min scripts/build-static.sh ...   another build directory
#
# Prints each binary's size as built and stripped.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${BUILD_DIR:-build-static}
targets=(kwire_cli kwire-example-producer kwire-example-consumer kwire-example-sync-producer kwire-bench-kwire)
cmake_args=()
for a in "$@"; do
  case "$a" in
    --cli) targets=(kwire_cli kwire-example-producer kwire-example-consumer kwire-example-sync-producer) ;;
    -D*) cmake_args+=("$a") ;;
    *) echo "usage: scripts/build-static.sh [--cli] [-DOPTION=VALUE]..." >&2; exit 2 ;;
  esac
done

cmake --preset static -B "$dir" "${cmake_args[@]}" >/dev/null
# glibc warns, for each binary, that some of its functions (getaddrinfo in Asio's compiled
# resolver; getservbyname in c-ares; dlopen, gethostbyname in libcrypto with
# -DKWIRE_TLS_BACKEND=openssl) still need glibc's shared
# NSS modules at run time in a static binary. Each warning is shown once, not once per binary.
cmake --build "$dir" --target "${targets[@]}" -j "${JOBS:-$(nproc)}" 2>&1 |
  awk '/: in function / { held = $0; next }
       /warning: Using .* in statically linked/ {
         match($0, /Using .[a-z_]+./); what = substr($0, RSTART, RLENGTH)
         if (!(what in seen)) { seen[what] = 1; if (held != "") print held; print }
         held = ""; next }
       { if (held != "") { print held; held = "" } print }
       END { if (held != "") print held }'

declare -A names=([kwire_cli]=kwire)
status=0
printf '%-44s %10s %10s\n' binary bytes stripped
for t in "${targets[@]}"; do
  bin=$dir/bin/${names[$t]:-$t}
  if ldd "$bin" >/dev/null 2>&1; then
    echo "$bin is a dynamic executable:" >&2
    ldd "$bin" >&2
    status=1
  fi
  stripped=$(mktemp)
  strip -o "$stripped" "$bin"
  printf '%-44s %10d %10d\n' "$bin" "$(stat -c %s "$bin")" "$(stat -c %s "$stripped")"
  rm -f "$stripped"
done
exit $status
